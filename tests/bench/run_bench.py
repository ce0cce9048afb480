"""Side-by-side benchmark: direct to a mock upstream vs through Switchboard vs through LiteLLM.

Run on demand (not part of the test suite):

    .venv/bin/python tests/bench/run_bench.py            # full run (~6 min)
    .venv/bin/python tests/bench/run_bench.py --quick    # smoke run (~1.5 min)

Layout on a 2-core machine: the mock upstream and the load generators share core 0; each proxy
is pinned to core 1 (``taskset``), so "requests/s on one core" and "CPU per request" are the
proxy's own. Targets are measured in interleaved rounds (direct, switchboard, litellm, direct,
...) so drift hits all of them alike. Everything listens on 127.0.0.1 only, every loop is bounded,
and every process started is stopped (also on Ctrl-C).

What is measured (see tests/bench/README.md):
- added latency p50/p99 vs direct at concurrency 1 (own asyncio client, non-stream);
- plain throughput and latency at concurrency 8 and 64 with ``wrk`` (non-stream POSTs);
- streams of 20 chunks at concurrency 1, 8 and 64: time to first byte and total;
- proxy CPU per request and per stream (utime+stime from /proc, whole process tree);
- RSS idle and after load; requests missing from Switchboard's request log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
VENV_PY = ROOT / ".venv" / "bin" / "python"
LITELLM_VENV = Path("/tmp/sb-bench/litellm-venv")
UPSTREAM_KEY = "sk-bench-upstream-0000000000000000"
ACCESS_KEY = "sb-local-bench-access-key-000000000000000000"
LITELLM_MASTER = "sk-bench-master"
BODY = {"model": "MODEL", "messages": [{"role": "user", "content": "Say hello to the benchmark."}]}
CLK_TCK = os.sysconf("SC_CLK_TCK")
RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_pids(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in tree_pids(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree_pids(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


@dataclass
class Target:
    name: str
    url: str  # .../v1/chat/completions
    key: str
    model: str
    pid: int
    sent: int = 0
    idle_rss: float = 0.0
    results: dict[str, dict[str, float]] = field(default_factory=dict)

    def body(self, stream: bool) -> bytes:
        return json.dumps({**BODY, "model": self.model, "stream": stream}).encode()


class Procs:
    """Starts processes pinned to cores and stops all of them at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, cmd: list[str], core: int, env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            ["taskset", "-c", str(core), *cmd],
            cwd=cwd,
            env={**os.environ, **env},
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with_group = os.getpgid(proc.pid)
                os.killpg(with_group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
                proc.wait()


def wait_http(url: str, headers: dict[str, str], timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def start_upstream(procs: Procs) -> str:
    proc = procs.start(
        [str(VENV_PY), "-m", "tests.fakes.openai_upstream", "--port", "0", "--api-key", UPSTREAM_KEY, "--chunks", "20"],
        core=0,
        env={},
    )
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    m = re.search(r"listening on (http://\S+)", line)
    if not m:
        raise RuntimeError(f"fake upstream did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return m.group(1)


def start_switchboard(procs: Procs, upstream: str, home: Path) -> Target:
    config = {
        "providers": [{"id": "mock", "preset": "custom", "base_url": upstream, "key": {"env": "BENCH_UPSTREAM_KEY"}}],
        "routes": [{"name": "bench-model", "targets": [{"provider": "mock", "model": "gpt-4o-mini"}]}],
    }
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "bench-config.json"
    cfg.write_text(json.dumps(config))
    proc = procs.start(
        [str(VENV_PY), "-m", "proxy", "serve", "--home", str(home), "--config", str(cfg), "--port", "0"],
        core=1,
        env={"SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, "BENCH_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if not line.startswith("Switchboard listening on "):
        raise RuntimeError(f"switchboard did not start: {line!r}")
    base = line.removeprefix("Switchboard listening on ")
    return Target("switchboard", f"{base}/v1/chat/completions", ACCESS_KEY, "bench-model", proc.pid)


def ensure_litellm() -> str | None:
    """Install LiteLLM's proxy into its own venv (never the project's). Returns a reason if unavailable."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return None
    try:
        LITELLM_VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, timeout=120)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"install failed: {exc}"
    return None if exe.exists() else "litellm executable missing after install"


def start_litellm(procs: Procs, upstream: str, workdir: Path) -> Target:
    port = free_port()
    cfg = workdir / "litellm.yaml"
    cfg.write_text(
        "model_list:\n"
        "  - model_name: bench-model\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o-mini\n"
        f"      api_base: {upstream}\n"
        "      api_key: os.environ/BENCH_UPSTREAM_KEY\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  set_verbose: false\n"
        "  json_logs: false\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_MASTER}\n"
    )
    env = {
        "BENCH_UPSTREAM_KEY": UPSTREAM_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "DISABLE_SCHEMA_UPDATE": "True",
        "NO_PROXY": "*",
    }
    proc = procs.start(
        [
            str(LITELLM_VENV / "bin" / "litellm"),
            "--config",
            str(cfg),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        core=1,
        env=env,
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health/liveliness", {}, 180)
    except RuntimeError:
        proc.terminate()
        out = proc.stderr.read()[-2000:] if proc.stderr else ""  # type: ignore[union-attr]
        raise RuntimeError(f"litellm did not start: {out}") from None
    return Target("litellm", f"{base}/v1/chat/completions", LITELLM_MASTER, "bench-model", proc.pid)


# -- load generators ------------------------------------------------------------------------------


async def run_clients(target: Target, *, stream: bool, concurrency: int, count: int) -> dict[str, list[float]]:
    """``count`` requests at ``concurrency``; per request: time to first body byte and total."""
    headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json"}
    body = target.body(stream)
    ttfb: list[float] = []
    total: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        per_worker = count // concurrency

        async def worker() -> None:
            nonlocal errors
            for _ in range(per_worker):
                t0 = time.perf_counter()
                async with session.post(target.url, data=body, headers=headers) as resp:
                    first = await resp.content.readany()
                    t1 = time.perf_counter()
                    rest = await resp.read() if not resp.content.at_eof() else b""
                    t2 = time.perf_counter()
                    if resp.status != 200 or (stream and b"[DONE]" not in first + rest):
                        errors += 1
                ttfb.append(t1 - t0)
                total.append(t2 - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    target.sent += len(total)
    return {"ttfb": ttfb, "total": total, "errors": [float(errors)]}


def run_wrk(target: Target, concurrency: int, duration: float, workdir: Path) -> dict[str, float]:
    script = workdir / f"post-{target.name}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{target.body(False).decode()}]]\n"
        f'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {target.key}"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("JSON {\\"requests\\": %d, \\"non2xx\\": %d, \\"p50\\": %d, \\"p99\\": %d}\\n",'
        " summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99)))\n"
        "end\n"
    )
    cpu0 = cpu_seconds(target.pid)
    t0 = time.monotonic()
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "0",
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "-s",
            str(script),
            target.url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    ).stdout
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(target.pid) - cpu0
    m = re.search(r"JSON (\{.*\})", out)
    if not m:
        raise RuntimeError(f"wrk output not understood:\n{out}")
    data = json.loads(m.group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    target.sent += data["requests"]
    return {
        "requests": data["requests"],
        "errors": data["non2xx"],
        "rps": rps,
        "p50_ms": data["p50"] / 1000,
        "p99_ms": data["p99"] / 1000,
        "cpu_ms_per_req": cpu / max(1, data["requests"]) * 1000,
        "cpu_util": cpu / elapsed,
    }


async def measure_clients(target: Target, stream: bool, concurrency: int, count: int) -> dict[str, float]:
    cpu0 = cpu_seconds(target.pid)
    res = await run_clients(target, stream=stream, concurrency=concurrency, count=count)
    cpu = cpu_seconds(target.pid) - cpu0
    n = len(res["total"])
    return {
        "n": n,
        "errors": res["errors"][0],
        "ttfb_p50_ms": pct(res["ttfb"], 0.5) * 1000,
        "ttfb_p99_ms": pct(res["ttfb"], 0.99) * 1000,
        "p50_ms": pct(res["total"], 0.5) * 1000,
        "p99_ms": pct(res["total"], 0.99) * 1000,
        "cpu_ms_per_req": cpu / max(1, n) * 1000,
    }


def merge(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Median across interleaved rounds (sums for counts)."""
    out: dict[str, float] = {}
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        out[key] = sum(values) if key in ("n", "requests", "errors") else statistics.median(values)
    return out


def log_rows(home: Path) -> int:
    db = home / "data" / "requests.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM requests WHERE requested_model = 'bench-model'").fetchone()[0])
    finally:
        conn.close()


# -- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--no-litellm", action="store_true")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    duration = args.duration or (3.0 if args.quick else 8.0)
    lat_count = 300 if args.quick else 1000
    stream_count = {1: 100 if args.quick else 300, 8: 400 if args.quick else 1600, 64: 640 if args.quick else 3200}

    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        if shutil.which("wrk") is None:
            subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)

    procs = Procs()
    workdir = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    unavailable: dict[str, str] = {}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        stack.callback(procs.stop_all)
        upstream = start_upstream(procs)
        direct_pid = procs.procs[-1].pid
        direct = Target("direct", f"{upstream}/chat/completions", UPSTREAM_KEY, "gpt-4o-mini", direct_pid)
        home = workdir / "home"
        targets = [direct, start_switchboard(procs, upstream, home)]
        if args.no_litellm:
            unavailable["litellm"] = "skipped (--no-litellm)"
        else:
            reason = ensure_litellm()
            if reason is None:
                try:
                    targets.append(start_litellm(procs, upstream, workdir))
                except RuntimeError as exc:
                    reason = str(exc)
            if reason:
                unavailable["litellm"] = reason
        time.sleep(1.0)
        for t in targets:
            t.idle_rss = rss_mb(t.pid)
        # warm-up
        for t in targets:
            asyncio.run(run_clients(t, stream=False, concurrency=4, count=200))
            asyncio.run(run_clients(t, stream=True, concurrency=4, count=40))

        raw: dict[str, dict[str, list[dict[str, float]]]] = {t.name: {} for t in targets}
        for r in range(rounds):
            print(f"round {r + 1}/{rounds} ...", file=sys.stderr, flush=True)
            for t in targets:
                raw[t.name].setdefault("plain c1", []).append(
                    asyncio.run(measure_clients(t, False, 1, lat_count // rounds))
                )
            for conc in (8, 64):
                for t in targets:
                    raw[t.name].setdefault(f"plain c{conc}", []).append(
                        run_wrk(t, conc, duration / rounds * 2, workdir)
                    )
            for conc in (1, 8, 64):
                for t in targets:
                    raw[t.name].setdefault(f"stream c{conc}", []).append(
                        asyncio.run(measure_clients(t, True, conc, stream_count[conc] // rounds))
                    )
        for t in targets:
            t.results = {k: merge(v) for k, v in raw[t.name].items()}
        time.sleep(1.0)  # let the request log flush (100 ms batches)
        after_rss = {t.name: rss_mb(t.pid) for t in targets}
        sb = targets[1]
        logged = log_rows(home)
        report = build_report(targets, after_rss, unavailable, sb.sent, logged)
    print(report["table"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    return 0 if all(report["targets_met"].values()) else 1


def build_report(
    targets: list[Target], after_rss: dict[str, float], unavailable: dict[str, str], sent: int, logged: int
) -> dict[str, object]:
    direct = targets[0].results
    lines = []
    header = (
        f"{'target':12} {'workload':11} {'add p50':>8} {'add p99':>8} {'p50':>8} {'p99':>8} {'req/s':>8} "
        f"{'cpu/req':>8} {'ttfb+':>7} {'errors':>6}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for t in targets:
        for workload, r in t.results.items():
            d = direct[workload]
            add50 = r["p50_ms"] - d["p50_ms"]
            add99 = r["p99_ms"] - d["p99_ms"]
            rps = r.get("rps")
            if rps is None:
                rps = float("nan")
            ttfb_extra = (r["ttfb_p50_ms"] - d["ttfb_p50_ms"]) if "ttfb_p50_ms" in r else float("nan")
            add = "" if t.name == "direct" else f"{add50:8.3f} {add99:8.3f}"
            lines.append(
                f"{t.name:12} {workload:11} {add:>17} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {rps:8.0f} "
                f"{r['cpu_ms_per_req']:8.3f} {ttfb_extra if t.name != 'direct' else float('nan'):7.3f} "
                f"{int(r['errors']):6d}"
            )
    lines.append("")
    lines.append(f"{'target':12} {'idle RSS MB':>12} {'after-load RSS MB':>18}")
    for t in targets:
        lines.append(f"{t.name:12} {t.idle_rss:12.1f} {after_rss[t.name]:18.1f}")
    sb = targets[1].results
    met = {
        "added p50 at c1 <= 0.5 ms": sb["plain c1"]["p50_ms"] - direct["plain c1"]["p50_ms"] <= 0.5,
        "cpu per plain request <= 0.25 ms (c64, saturated)": sb["plain c64"]["cpu_ms_per_req"] <= 0.25,
        "zero requests missing from the log": logged >= sent,
    }
    lines.append("")
    lines.append(
        f"Switchboard request log: {logged} rows for {sent} requests completed; missing: {max(0, sent - logged)}"
        f" (rows beyond the count are requests wrk cut off at the end of a run, logged as client_cancelled)"
    )
    if len(targets) > 2:
        ll = targets[2].results
        lines.append("")
        lines.append("Switchboard vs LiteLLM (lower is better; ratio = LiteLLM / Switchboard):")
        for workload in sb:
            a50 = sb[workload]["p50_ms"] - direct[workload]["p50_ms"]
            b50 = ll[workload]["p50_ms"] - direct[workload]["p50_ms"]
            cpu_ratio = ll[workload]["cpu_ms_per_req"] / max(sb[workload]["cpu_ms_per_req"], 1e-9)
            lines.append(
                f"  {workload:11} added p50 {a50:7.3f} vs {b50:7.3f} ms ({b50 / max(a50, 1e-3):5.1f}x)   "
                f"cpu/req {sb[workload]['cpu_ms_per_req']:.3f} vs {ll[workload]['cpu_ms_per_req']:.3f} ms "
                f"({cpu_ratio:4.1f}x)"
                + (f"   req/s {sb[workload]['rps']:.0f} vs {ll[workload]['rps']:.0f}" if "rps" in sb[workload] else "")
            )
    for name, reason in unavailable.items():
        lines.append(f"{name}: unavailable ({reason})")
    lines.append("")
    for name, ok in met.items():
        lines.append(f"{'PASS' if ok else 'FAIL'}  {name}")
    return {
        "table": "\n".join(lines),
        "results": {t.name: t.results for t in targets},
        "rss": {t.name: {"idle": t.idle_rss, "after": after_rss[t.name]} for t in targets},
        "log": {"sent": sent, "logged": logged},
        "unavailable": unavailable,
        "targets_met": met,
    }


if __name__ == "__main__":
    sys.exit(main())
