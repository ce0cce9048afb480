"""Side-by-side benchmark: direct to a mock OpenAI upstream vs through a bare aiohttp relay (the
floor for a Python proxy, tests/bench/relay.py) vs through Switchboard vs through LiteLLM.

Run on demand (never part of the test suite; see tests/bench/README.md):

    .venv/bin/python tests/bench/run_bench.py              # full run (~7 min)
    .venv/bin/python tests/bench/run_bench.py --quick      # smoke run (< 3 min)
    .venv/bin/python tests/bench/run_bench.py --rounds 5 --duration 8 --no-litellm --no-relay

Layout on a 2-core machine: the fake upstream, ``wrk`` and this script (its asyncio client) share
core 0; each proxy is pinned to core 1 with ``taskset``, so "requests/s" under saturation and "CPU
per request" are one core's worth of that proxy. Targets are measured in interleaved rounds
(direct, relay, switchboard, litellm, direct, ...) so drift hits all of them alike. Workloads: plain
and short text streams, and ``coding`` streams shaped like a coding agent's turn (tests/bench/coding.py).
Everything listens on and is sent to 127.0.0.1 only; every measurement is bounded in time and count;
every process this script starts is stopped again, also on Ctrl-C, SIGTERM or an exception.

Exit status: 0 when every target is met, 1 when one is not, 2 when the run itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
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
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, only tests/bench is on sys.path; tests.bench.coding needs the root
    sys.path.insert(0, str(ROOT))

from tests.bench import coding  # noqa: E402

VENV_PY = ROOT / ".venv" / "bin" / "python"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
LITELLM_VENV = Path("/tmp/sb-bench/litellm-venv")
LITELLM_INSTALL_LOG = Path("/tmp/sb-bench/litellm-install.log")

HOST = "127.0.0.1"  # the only address this script ever talks to
UPSTREAM_KEY = "sk-bench-upstream"
SWITCHBOARD_KEY = "sb-bench-access-key-0123456789abcdef"
LITELLM_KEY = "sk-bench-master"
UPSTREAM_MODEL = "gpt-4o-mini"
ROUTE = "bench-model"
STREAM_CHUNKS = 20

LOAD_CORE = 0  # upstream, wrk, this script
PROXY_CORE = 1  # each proxy under test
CLK_TCK = os.sysconf("SC_CLK_TCK")

# (workload, concurrency) in the order they are run and printed.
WORKLOADS: list[tuple[str, int]] = [
    ("plain", 1),
    ("plain", 8),
    ("plain", 64),
    ("stream", 1),
    ("stream", 8),
    ("stream", 64),
    ("coding", 1),
    ("coding", 8),
]
# Proxies as the ratio table names them, floor first; a column "A/B" is A's figure divided by B's.
PROXY_LABELS = {"relay": "relay", "baseline": "SB before", "switchboard": "Switchboard", "litellm": "LiteLLM"}
RATIO_PAIRS = (
    ("switchboard", "relay"),
    ("switchboard", "baseline"),
    ("litellm", "relay"),
    ("litellm", "switchboard"),
)
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
CLIENT_CAP = 50_000  # requests per client measurement, whatever the duration


class BenchError(RuntimeError):
    """The run cannot go on (a process did not start, a tool is missing)."""


# ---------------------------------------------------------------------------------------------
# /proc readings
# ---------------------------------------------------------------------------------------------


def _proc_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (a proxy may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process tree, in seconds (from /proc/<pid>/stat)."""
    ticks = 0
    for p in _proc_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / CLK_TCK


def rss_mb(pid: int) -> float:
    """VmRSS of the process tree, in MB (from /proc/<pid>/status)."""
    kb = 0
    for p in _proc_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb += int(line.split()[1])
                    break
        except OSError:
            continue
    return kb / 1024


def cpus_allowed(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


class Processes:
    """Starts pinned processes (own process group, output to files) and always stops them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, cmd: list[str], core: int, env: dict[str, str], cwd: Path, unset: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        drop = {*unset, *PROXY_VARS}  # all traffic stays on 127.0.0.1, never through a proxy
        full_env = {k: v for k, v in os.environ.items() if k not in drop}
        full_env.update(env)
        out = open(self.workdir / f"{name}.stdout", "wb")  # noqa: SIM115 - closed with the process
        err = open(self.workdir / f"{name}.stderr", "wb")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                ["taskset", "-c", str(core), *cmd],
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # Ctrl-C reaches us, not them; we stop them ourselves
            )
        finally:
            out.close()
            err.close()
        self.started.append((name, proc))
        return proc

    def output(self, name: str, stream: str = "stderr", tail: int = 1500) -> str:
        try:
            return (self.workdir / f"{name}.{stream}").read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def wait_line(self, name: str, proc: subprocess.Popen[bytes], pattern: str, timeout: float) -> re.Match[str]:
        """Wait for a line matching ``pattern`` on the process's stdout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output(name, "stdout", tail=100_000))
            if m:
                return m
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with {proc.returncode}: {self.output(name).strip()}")
            time.sleep(0.05)
        raise BenchError(f"{name} printed no ready line within {timeout:.0f} s: {self.output(name).strip()}")

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> str:
        """SIGTERM the process group, SIGKILL it if the process is still there after ``timeout``."""
        if proc.poll() is not None:
            return f"had exited ({proc.returncode})"
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
            return "stopped"
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
            return f"killed (still running {timeout:.0f} s after SIGTERM)"

    def stop_all(self) -> None:
        running = [proc for _, proc in reversed(self.started) if proc.poll() is None]
        for proc in running:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the group of a process we started (its own session), only while we have not reaped it."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP proxy from the env


def http_ok(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with _DIRECT.open(req, timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@dataclass
class Target:
    name: str
    url: str  # full chat-completions URL
    key: str
    model: str
    proc: subprocess.Popen[bytes]
    auth: bool = True  # refuses a wrong key (the relay has no auth of its own)
    completed: int = 0  # responses received in full (warm-up included)
    idle_rss: float = float("nan")
    pinned: str = "?"
    coding_shape: dict[str, int] = field(default_factory=dict)  # the smoke test's coding stream, as received

    @property
    def pid(self) -> int:
        return self.proc.pid

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}

    def body(self, kind: str) -> bytes:
        """The request of a workload kind: ``plain``, ``stream`` or ``coding``."""
        if kind == "coding":
            return coding.request_body(self.model)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": "Say hello to the benchmark."}],
        }
        if kind == "stream":
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return json.dumps(body).encode()


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("installing wrk (apt-get install -y wrk) ...", file=sys.stderr, flush=True)
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    subprocess.run(install, check=False, capture_output=True, timeout=600)
    if not shutil.which("wrk"):  # stale or empty package lists
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=600)
        subprocess.run(install, check=False, capture_output=True, timeout=600)
    if not shutil.which("wrk"):
        raise BenchError("wrk is missing and `apt-get install -y wrk` did not install it")


def start_upstream(procs: Processes) -> tuple[str, subprocess.Popen[bytes]]:
    cmd = [
        str(VENV_PY),
        "-m",
        "tests.fakes.openai_upstream",
        "--port",
        "0",
        "--api-key",
        UPSTREAM_KEY,
        "--chunks",
        str(STREAM_CHUNKS),
        "--chunk-delay",
        "0",
        "--tool-chunks",  # the coding workload's tool calls: a word per delta, paced (tests/bench/coding.py)
        str(coding.UPSTREAM_TOOL_CHUNKS),
        "--tool-chunk-delay",
        str(coding.UPSTREAM_TOOL_CHUNK_DELAY),
    ]
    proc = procs.start("upstream", cmd, LOAD_CORE, {}, ROOT)
    m = procs.wait_line("upstream", proc, r"fake upstream listening on (http://127\.0\.0\.1:\d+/v1)\s*\n", 30)
    return m.group(1), proc


def launch_switchboard(
    procs: Processes, upstream: str, home: Path, name: str = "switchboard", tree: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Switchboard from this checkout, or (``--baseline``) another checkout of it, run with this
    checkout's venv and the other tree first on the import path."""
    config = {
        "providers": [{"id": "mock", "preset": "custom", "base_url": upstream, "key": {"env": "BENCH_UPSTREAM_KEY"}}],
        "routes": [{"name": ROUTE, "targets": [{"provider": "mock", "model": UPSTREAM_MODEL}]}],
    }
    home.mkdir(parents=True)
    cfg = home.parent / f"{name}-config.json"
    cfg.write_text(json.dumps(config, indent=2))
    exe = ROOT / ".venv" / "bin" / "switchboard"
    cli = [str(exe)] if exe.exists() and tree == ROOT else [str(VENV_PY), "-m", "proxy"]
    cmd = [*cli, "serve", "--home", str(home), "--config", str(cfg), "--port", "0"]
    env = {"SWITCHBOARD_ACCESS_KEY": SWITCHBOARD_KEY, "BENCH_UPSTREAM_KEY": UPSTREAM_KEY}
    if tree != ROOT:
        env["PYTHONPATH"] = str(tree)
    return procs.start(name, cmd, PROXY_CORE, env, tree)


def ready_switchboard(procs: Processes, proc: subprocess.Popen[bytes], name: str = "switchboard") -> Target:
    m = procs.wait_line(name, proc, r"Switchboard listening on (http://127\.0\.0\.1:\d+)\s*\n", 60)
    target = Target(name, f"{m.group(1)}/v1/chat/completions", SWITCHBOARD_KEY, ROUTE, proc)
    smoke_test(target)
    return target


def launch_relay(procs: Processes, upstream: str) -> subprocess.Popen[bytes]:
    cmd = [str(VENV_PY), "-m", "tests.bench.relay", "--port", "0", "--upstream", upstream]
    return procs.start("relay", cmd, PROXY_CORE, {}, ROOT)


def ready_relay(procs: Processes, proc: subprocess.Popen[bytes]) -> tuple[Target, str]:
    """The relay as a target (no routing: the upstream's model; the client's key goes through), and its loop."""
    m = procs.wait_line("relay", proc, r"relay listening on (http://127\.0\.0\.1:\d+) \((\w+)\)\s*\n", 30)
    target = Target("relay", f"{m.group(1)}/v1/chat/completions", UPSTREAM_KEY, UPSTREAM_MODEL, proc, auth=False)
    smoke_test(target)
    return target, m.group(2)


def litellm_version() -> str:
    py = LITELLM_VENV / "bin" / "python"
    try:
        out = subprocess.run(
            [str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def ensure_litellm() -> str | None:
    """Install the LiteLLM proxy into its own venv (never the project's). Returns why not, or None."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return None
    print(
        f"installing LiteLLM proxy into {LITELLM_VENV} (takes minutes; log: {LITELLM_INSTALL_LOG}) ...",
        file=sys.stderr,
        flush=True,
    )
    LITELLM_VENV.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(LITELLM_INSTALL_LOG, "wb") as log:
            if not (LITELLM_VENV / "bin" / "pip").exists():
                venv = ["python3", "-m", "venv", str(LITELLM_VENV)]
                subprocess.run(venv, check=True, stdout=log, stderr=log, timeout=300)
            subprocess.run(
                [str(LITELLM_VENV / "bin" / "pip"), "install", "litellm[proxy]"],
                check=True,
                stdout=log,
                stderr=log,
                timeout=1500,
            )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"install failed ({exc}); see {LITELLM_INSTALL_LOG}"
    return None if exe.exists() else f"no litellm executable after install; see {LITELLM_INSTALL_LOG}"


def launch_litellm(procs: Processes, upstream: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cfg = workdir / "litellm-config.yaml"
    cfg.write_text(
        "model_list:\n"
        f"  - model_name: {ROUTE}\n"
        "    litellm_params:\n"
        f"      model: openai/{UPSTREAM_MODEL}\n"
        f"      api_base: {upstream}\n"
        "      api_key: os.environ/BENCH_UPSTREAM_KEY\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  set_verbose: false\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n"
    )
    env = {
        "BENCH_UPSTREAM_KEY": UPSTREAM_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price list
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "LITELLM_MODE": "PRODUCTION",  # no .env loading
        "NO_PROXY": "127.0.0.1,localhost",
    }
    unset = ("DATABASE_URL",)  # no database: LiteLLM would try to use it
    cmd = [
        str(LITELLM_VENV / "bin" / "litellm"),
        "--config",
        str(cfg),
        "--host",
        HOST,
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    return procs.start("litellm", cmd, PROXY_CORE, env, workdir, unset=unset), port


def ready_litellm(procs: Processes, proc: subprocess.Popen[bytes], port: int) -> Target:
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise BenchError(f"litellm exited with {proc.returncode}: {procs.output('litellm').strip()}")
        try:
            if http_ok(f"{base}/health/liveliness")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"litellm did not answer /health/liveliness within 180 s: {procs.output('litellm')}")
        time.sleep(0.25)
    target = Target("litellm", f"{base}/v1/chat/completions", LITELLM_KEY, ROUTE, proc)
    smoke_test(target)
    return target


def smoke_test(target: Target) -> None:
    """One request of each kind must succeed, and a wrong key must be refused (auth is on; the relay has none)."""
    for kind in ("plain", "stream", "coding"):
        status, text = http_ok(target.url, target.headers(), target.body(kind))
        if status != 200 or not answered_in_full(kind, text.encode()):
            raise BenchError(f"{target.name}: smoke request ({kind}) answered {status}: {text[:300]}")
        if kind == "coding":
            target.coding_shape = coding.stream_shape(text.encode())
        target.completed += 1
    if not target.auth:
        return
    # LiteLLM without a database answers 400 "No connected db." to any key but the master key.
    bad = {**target.headers(), "Authorization": "Bearer sk-bench-wrong-key"}
    status, _ = http_ok(target.url, bad, target.body("plain"))
    if not 400 <= status < 500:
        raise BenchError(f"{target.name}: a wrong key got {status}, so auth is not on")


# ---------------------------------------------------------------------------------------------
# Load generators
# ---------------------------------------------------------------------------------------------


def answered_in_full(kind: str, body: bytes) -> bool:
    """A plain answer has ``choices``; a stream ends with ``[DONE]``; a coding stream also carries the tool call."""
    if kind == "plain":
        return b'"choices"' in body
    return b"data: [DONE]" in body and (kind != "coding" or b"tool_calls" in body)


@dataclass
class Sample:
    """One measurement of one target, one workload, one round."""

    requests: int  # responses received in full
    cut: int  # requests still in flight when the load generator stopped (wrk: one per connection)
    errors: int  # non-200, broken bodies, transport failures, timeouts
    wall_s: float  # load generator's running time
    rps: float
    cpu_run_s: float = 0.0  # proxy (for direct: upstream) CPU while the load ran
    cpu_s: float = 0.0  # ... plus what it spent finishing up afterwards (cut requests, log writes)
    rss_after: float = float("nan")
    p50_ms: float = float("nan")  # wrk only (client samples are pooled across rounds instead)
    p99_ms: float = float("nan")
    ttfb: list[float] = field(default_factory=list)  # seconds, own client only
    total: list[float] = field(default_factory=list)


async def client_load(
    target: Target, kind: str, concurrency: int, seconds: float, cap: int
) -> tuple[list[float], list[float], int, int, float]:
    """``concurrency`` workers send requests back to back for ``seconds`` (at most ``cap`` in all).

    Per request: time to the first body byte (TTFB) and to the end of the body. Returns
    (ttfb, total, completed, errors, wall seconds).
    """
    url, headers, body = target.url, target.headers(), target.body(kind)
    ttfb: list[float] = []
    total: list[float] = []
    completed = errors = 0
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            nonlocal completed, errors
            while time.perf_counter() < deadline and completed + errors < cap:
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as resp:
                        first = await resp.content.readany()
                        t1 = time.perf_counter()
                        rest = await resp.content.read()
                        t2 = time.perf_counter()
                        status = resp.status
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    errors += 1
                    await asyncio.sleep(0.01)  # a dead target must not turn this into a busy loop
                    continue
                completed += 1
                if status != 200 or not answered_in_full(kind, first + rest):
                    errors += 1
                    continue
                ttfb.append(t1 - t0)
                total.append(t2 - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return ttfb, total, completed, errors, wall


def run_clients(target: Target, kind: str, concurrency: int, seconds: float, cap: int = CLIENT_CAP) -> Sample:
    gc.collect()
    gc.disable()  # no collector pauses inside the timed loop (bounded run, so bounded garbage)
    try:
        ttfb, total, completed, errors, wall = asyncio.run(client_load(target, kind, concurrency, seconds, cap))
    finally:
        gc.enable()
    target.completed += completed
    # Each worker waits for its last answer, so nothing is cut off at the end.
    return Sample(completed, 0, errors, wall, completed / wall, ttfb=ttfb, total=total)


WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"non2xx\\": %d, \\"socket_errors\\": %d, "
    .. "\\"p50_us\\": %d, \\"p99_us\\": %d}}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(target: Target, concurrency: int, seconds: int, workdir: Path) -> Sample:
    script = workdir / f"wrk-{target.name}.lua"
    if not script.exists():
        script.write_text(WRK_SCRIPT.format(body=target.body("plain").decode(), key=target.key))
    cmd = [
        "taskset",
        "-c",
        str(LOAD_CORE),
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        target.url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"BENCH-JSON (\{.*\})", proc.stdout)
    if not m:
        raise BenchError(f"wrk output not understood:\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(m.group(1))
    requests = int(data["requests"])
    target.completed += requests
    duration = max(data["duration_us"] / 1e6, 1e-6)
    return Sample(
        requests=requests,
        cut=concurrency,  # wrk keeps one request in flight per connection and drops them when time is up
        errors=int(data["non2xx"]) + int(data["socket_errors"]),
        wall_s=duration,
        rps=requests / duration,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def wait_idle(pid: int, quiet: float = 0.3, limit: float = 4.0) -> float:
    """Wait until the process tree has used no CPU for ``quiet`` seconds (at most ``limit``).

    Returns the last CPU reading. A proxy goes on working after the load generator stops: on
    requests wrk cut off (LiteLLM finishes them) and on its request log; that CPU is part of the cost.
    """
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = cpu_seconds(pid)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            break
    return last


def measure(target: Target, kind: str, concurrency: int, seconds: float, workdir: Path) -> Sample:
    cpu0 = cpu_seconds(target.pid)
    if kind == "plain" and concurrency > 1:
        sample = run_wrk(target, concurrency, max(1, round(seconds)), workdir)
    else:
        sample = run_clients(target, kind, concurrency, seconds)
    sample.cpu_run_s = cpu_seconds(target.pid) - cpu0
    sample.cpu_s = wait_idle(target.pid) - cpu0
    sample.rss_after = rss_mb(target.pid)
    return sample


# ---------------------------------------------------------------------------------------------
# Aggregation and report
# ---------------------------------------------------------------------------------------------


def aggregate(samples: list[Sample]) -> dict[str, float]:
    """One row from the interleaved rounds of one (target, workload, concurrency)."""
    requests = sum(s.requests for s in samples)
    handled = requests + sum(s.cut for s in samples)
    cpu = sum(s.cpu_s for s in samples)
    cpu_run = sum(s.cpu_run_s for s in samples)
    wall = sum(s.wall_s for s in samples)
    ttfb = [x for s in samples for x in s.ttfb]
    total = [x for s in samples for x in s.total]
    row = {
        "requests": requests,
        "errors": sum(s.errors for s in samples),
        "rps": statistics.median(s.rps for s in samples),
        "cut": handled - requests,
        "core_pct": 100 * cpu_run / wall if wall else float("nan"),
        "cpu_ms_per_req": 1000 * cpu / handled if handled else float("nan"),
        "rss_after_mb": max(s.rss_after for s in samples),
    }
    if total:  # own client: percentiles over all samples of all rounds
        row["p50_ms"] = 1000 * percentile(total, 0.50)
        row["p99_ms"] = 1000 * percentile(total, 0.99)
        row["ttfb_p50_ms"] = 1000 * percentile(ttfb, 0.50)
        row["ttfb_p99_ms"] = 1000 * percentile(ttfb, 0.99)
    else:  # wrk: median over rounds of each round's percentile
        row["p50_ms"] = statistics.median(s.p50_ms for s in samples)
        row["p99_ms"] = statistics.median(s.p99_ms for s in samples)
    return row


def fmt(value: float | None, width: int, digits: int = 2) -> str:
    if value is None or value != value:  # None or NaN
        return f"{'-':>{width}}"
    return f"{value:{width}.{digits}f}"


def build_rows(results: dict[str, dict[str, dict[str, float]]]) -> None:
    """Adds the 'vs direct' columns in place."""
    direct = results.get("direct", {})
    for name, rows in results.items():
        for key, row in rows.items():
            d = direct.get(key)
            if name == "direct" or d is None:
                continue
            row["added_p50_ms"] = row["p50_ms"] - d["p50_ms"]
            row["added_p99_ms"] = row["p99_ms"] - d["p99_ms"]
            if "ttfb_p50_ms" in row and "ttfb_p50_ms" in d:
                row["ttfb_added_p50_ms"] = row["ttfb_p50_ms"] - d["ttfb_p50_ms"]
                row["ttfb_added_p99_ms"] = row["ttfb_p99_ms"] - d["ttfb_p99_ms"]


def render_table(results: dict[str, dict[str, dict[str, float]]], idle_rss: dict[str, float]) -> str:
    cols = [
        ("target", 11),
        ("workload", 10),
        ("n", 7),
        ("p50", 8),
        ("p99", 8),
        ("+p50", 8),
        ("+p99", 8),
        ("ttfb50", 7),
        ("+ttfb", 7),
        ("req/s", 7),
        ("core%", 5),
        ("cpu/req", 7),
        ("cpu/strm", 8),
        ("RSS0", 6),
        ("RSS1", 6),
        ("err", 4),
    ]
    header = " ".join(f"{name:<{w}}" if i < 2 else f"{name:>{w}}" for i, (name, w) in enumerate(cols))
    lines = [header, "-" * len(header)]
    for name, rows in results.items():
        for kind, conc in WORKLOADS:
            key = f"{kind} c{conc}"
            r = rows.get(key)
            if r is None:
                continue
            cpu = r["cpu_ms_per_req"]
            lines.append(
                " ".join(
                    [
                        f"{name:<11}",
                        f"{key:<10}",
                        f"{int(r['requests']):>7}",
                        fmt(r["p50_ms"], 8, 3),
                        fmt(r["p99_ms"], 8, 3),
                        fmt(r.get("added_p50_ms"), 8, 3),
                        fmt(r.get("added_p99_ms"), 8, 3),
                        fmt(r.get("ttfb_p50_ms"), 7, 3),
                        fmt(r.get("ttfb_added_p50_ms"), 7, 3),
                        fmt(r["rps"], 7, 0),
                        fmt(r["core_pct"], 5, 0),
                        fmt(cpu if kind == "plain" else None, 7, 3),
                        fmt(cpu if kind != "plain" else None, 8, 3),
                        fmt(idle_rss.get(name), 6, 1),
                        fmt(r["rss_after_mb"], 6, 1),
                        f"{int(r['errors']):>4}",
                    ]
                )
            )
        lines.append("")
    return "\n".join(lines).rstrip()


def quotient(a: float | None, b: float | None) -> float | None:
    """``a / b`` when both are positive figures; ``None`` otherwise (missing, NaN, or within noise of direct)."""
    if a is None or b is None or a != a or b != b or a <= 0 or b <= 0:
        return None
    return a / b


def fmt_ratio(r: float | None, width: int) -> str:
    if r is None:
        return f"{'-':>{width}}"
    return f"{r:{width - 1}.{2 if r < 10 else 1}f}x"


def comparison(
    results: dict[str, dict[str, dict[str, float]]], idle_rss: dict[str, float]
) -> tuple[list[str], list[tuple[str, str, str, dict[str, float | None], int]]]:
    """The proxies measured (floor first) and the figures to compare: (workload, label, key, by proxy, digits)."""
    present = [name for name in PROXY_LABELS if results.get(name)]
    figures: list[tuple[str, str, str, dict[str, float | None], int]] = []
    for kind, conc in WORKLOADS:
        key = f"{kind} c{conc}"
        rows = {name: results[name].get(key) for name in present}
        wanted = [
            ("+p50 ms", "added_p50_ms", 3),
            ("+p99 ms", "added_p99_ms", 3),
            ("+ttfb ms", "ttfb_added_p50_ms", 3),
            ("cpu/req ms" if kind == "plain" else "cpu/strm ms", "cpu_ms_per_req", 3),
            ("req/s", "rps", 0),
        ]
        for label, field_name, digits in wanted:
            values = {name: (row or {}).get(field_name) for name, row in rows.items()}
            if any(v is not None for v in values.values()):
                figures.append((key, label, field_name, values, digits))
    idle = {name: idle_rss.get(name) for name in present}
    after = {name: max(r["rss_after_mb"] for r in results[name].values()) for name in present}
    figures += [("all", "RSS idle MB", "rss_idle_mb", idle, 1), ("all", "RSS max MB", "rss_max_mb", after, 1)]
    return present, figures


def render_ratios(results: dict[str, dict[str, dict[str, float]]], idle_rss: dict[str, float]) -> str:
    """Every figure of each proxy next to the others', and as a ratio to the relay and Switchboard vs LiteLLM."""
    present, figures = comparison(results, idle_rss)
    pairs = [(a, b) for a, b in RATIO_PAIRS if a in present and b in present]
    if not pairs:
        return ""
    heads = [f"{PROXY_LABELS[a]}/{PROXY_LABELS[b]}" for a, b in pairs]
    widths = [max(9, len(h)) for h in heads]
    header = f"{'workload':<10} {'figure':<12}" + "".join(f" {PROXY_LABELS[n]:>11}" for n in present)
    header += "".join(f" {h:>{w}}" for h, w in zip(heads, widths, strict=True))
    lines = [
        "Proxies side by side; a column A/B is A's figure divided by B's (relay: the bare aiohttp relay, the floor):",
        header,
        "-" * len(header),
    ]
    previous = ""
    for workload, label, _, values, digits in figures:
        shown = workload if workload != previous else ""
        previous = workload
        line = f"{shown:<10} {label:<12}" + "".join(f" {fmt(values[n], 11, digits)}" for n in present)
        for (a, b), w in zip(pairs, widths, strict=True):
            line += " " + fmt_ratio(quotient(values[a], values[b]), w)
        lines.append(line)
    lines += [
        "  (+ figures: added vs direct; '-': a figure missing or <= 0, i.e. within noise of direct. req/s: below 1x",
        "  means A served fewer than B. coding +p50/+p99 are swamped by pacing and core-0 scheduling: +-tens of ms.)",
    ]
    return "\n".join(lines)


def ratios_json(results: dict[str, dict[str, dict[str, float]]], idle_rss: dict[str, float]) -> dict[str, Any]:
    """The ratio table as data: workload -> figure -> "a/b" -> ratio (or None)."""
    present, figures = comparison(results, idle_rss)
    out: dict[str, Any] = {}
    for workload, _, field_name, values, _ in figures:
        out.setdefault(workload, {})[field_name] = {
            f"{a}/{b}": quotient(values[a], values[b]) for a, b in RATIO_PAIRS if a in present and b in present
        }
    return out


def count_log(db: Path) -> dict[str, int]:
    """Rows in Switchboard's request log, by status."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {str(status): int(n) for status, n in conn.execute("SELECT status, count(*) FROM requests GROUP BY 1")}
    finally:
        conn.close()


def wait_log(db: Path, expected: int, timeout: float = 10.0) -> dict[str, int]:
    """Poll until the log has ``expected`` rows, or stops growing, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last, still = -1, 0
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            counts = count_log(db)
        except sqlite3.Error:
            counts = {}
        n = sum(counts.values())
        if n >= expected:
            break
        still = still + 1 if n == last else 0
        if still >= 4:  # 2 s without a new row
            break
        last = n
        time.sleep(0.5)
    return counts


def environment() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = "?"
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
        wrk_version = (wrk.stdout + wrk.stderr).split("[")[0].strip()
    except (OSError, subprocess.SubprocessError):
        wrk_version = "?"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "switchboard_commit": head,
        "wrk": wrk_version,
        "aiohttp": aiohttp.__version__,
    }


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Direct vs a bare relay vs Switchboard vs LiteLLM, side by side, on 127.0.0.1."
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (< 3 min once LiteLLM is installed)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; --quick 2)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per measurement: one target, one workload, one round (default 4; --quick 1.5); wrk rounds "
        "it to whole seconds",
    )
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="TREE",
        help="also run Switchboard from another checkout (e.g. a git worktree of main) as 'SB before'",
    )
    parser.add_argument("--no-relay", action="store_true", help="leave the bare aiohttp relay (the floor) out")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json", help="where the JSON goes")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.duration = args.duration or (1.5 if args.quick else 4.0)
    if not 1 <= args.rounds <= 50 or not 0.2 <= args.duration <= 120:
        parser.error("--rounds must be 1..50 and --duration 0.2..120 seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path("/usr/bin/taskset").exists() and not shutil.which("taskset"):
        print("taskset (util-linux) is needed", file=sys.stderr)
        return 2
    if len(os.sched_getaffinity(0) | {LOAD_CORE, PROXY_CORE}) < 2 or (os.cpu_count() or 1) < 2:
        print("this benchmark needs two cores (0 and 1)", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {LOAD_CORE})  # the asyncio client shares core 0 with the upstream and wrk
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: it may arrive ignored
        signal.signal(sig, _raise_interrupt)

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    procs = Processes(workdir)
    unavailable: dict[str, str] = {}
    log_info: dict[str, Any] = {}
    try:
        ensure_wrk()
        env = environment()
        upstream, upstream_proc = start_upstream(procs)
        direct = Target("direct", f"{upstream}/chat/completions", UPSTREAM_KEY, UPSTREAM_MODEL, upstream_proc)
        smoke_test(direct)

        # Start the proxies at once (LiteLLM takes seconds to import), then wait for each.
        home = workdir / "switchboard-home"
        sb_proc = launch_switchboard(procs, upstream, home)
        base_proc = None
        if args.baseline is not None:
            base_proc = launch_switchboard(procs, upstream, workdir / "baseline-home", "baseline", args.baseline)
        relay_proc = None
        if args.no_relay:
            unavailable["relay"] = "left out (--no-relay)"
        else:
            relay_proc = launch_relay(procs, upstream)
        ll_launch: tuple[subprocess.Popen[bytes], int] | None = None
        if args.no_litellm:
            unavailable["litellm"] = "left out (--no-litellm)"
        else:
            reason = ensure_litellm()
            if reason:
                unavailable["litellm"] = reason
            else:
                env["litellm"] = litellm_version()
                ll_launch = launch_litellm(procs, upstream, workdir)
        targets = [direct]
        if relay_proc is not None:
            try:
                relay, env["relay_loop"] = ready_relay(procs, relay_proc)
                targets.append(relay)
            except (BenchError, OSError) as exc:
                procs.stop(relay_proc)
                unavailable["relay"] = str(exc)
        if base_proc is not None:
            try:
                targets.append(ready_switchboard(procs, base_proc, "baseline"))
            except (BenchError, OSError) as exc:
                procs.stop(base_proc)
                unavailable["baseline"] = str(exc)
        try:
            targets.append(ready_switchboard(procs, sb_proc))
        except (BenchError, OSError) as exc:
            unavailable["switchboard"] = str(exc)
        if ll_launch is not None:
            try:
                targets.append(ready_litellm(procs, *ll_launch))
            except (BenchError, OSError) as exc:
                procs.stop(ll_launch[0])
                unavailable["litellm"] = str(exc)

        time.sleep(1.0)
        for t in targets:
            t.idle_rss = rss_mb(t.pid)
            t.pinned = cpus_allowed(t.pid)
        print(
            "targets: " + ", ".join(f"{t.name} (pid {t.pid}, cores {t.pinned})" for t in targets),
            file=sys.stderr,
            flush=True,
        )
        for t in targets:  # warm-up: connection pools, lazy imports, caches
            run_clients(t, "plain", 4, 1.0, cap=300)
            run_clients(t, "stream", 4, 1.0, cap=100)
            run_clients(t, "coding", 2, 1.0, cap=20)
            wait_idle(t.pid)

        samples: dict[str, dict[str, list[Sample]]] = {t.name: {} for t in targets}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds} ({time.monotonic() - started:.0f} s) ...", file=sys.stderr, flush=True)
            for kind, conc in WORKLOADS:
                for t in targets:
                    s = measure(t, kind, conc, args.duration, workdir)
                    samples[t.name].setdefault(f"{kind} c{conc}", []).append(s)

        results = {name: {key: aggregate(v) for key, v in rows.items()} for name, rows in samples.items()}
        build_rows(results)
        idle_rss = {t.name: t.idle_rss for t in targets}

        sb = next((t for t in targets if t.name == "switchboard"), None)
        if sb is not None:
            db = home / "data" / "requests.db"
            wait_log(db, sb.completed)
            log_info["stop"] = procs.stop(sb.proc, timeout=15)  # graceful: the log writer drains
            counts = count_log(db)
            rows = sum(counts.values())
            log_info.update(
                completed=sb.completed,
                rows=rows,
                missing=max(0, sb.completed - rows),
                by_status=counts,
            )
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 2
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    checks = evaluate(results, log_info)
    shapes = {t.name: t.coding_shape for t in targets}
    text = report_text(args, env, results, idle_rss, shapes, unavailable, log_info, checks, time.monotonic() - started)
    print(text)
    payload = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {
            "quick": args.quick,
            "rounds": args.rounds,
            "duration_s": args.duration,
            "stream_chunks": STREAM_CHUNKS,
            "coding_request_bytes": len(coding.request_body(ROUTE)),
            "coding_tool_chunk_delay_s": coding.UPSTREAM_TOOL_CHUNK_DELAY,
            "proxy_core": PROXY_CORE,
            "load_core": LOAD_CORE,
        },
        "environment": env,
        "pinned": {t.name: t.pinned for t in targets},
        "coding_stream": shapes,
        "idle_rss_mb": idle_rss,
        "results": results,
        "ratios": ratios_json(results, idle_rss),
        "request_log": log_info,
        "unavailable": unavailable,
        "checks": checks,
        "table": text,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nJSON: {args.output}")
    return 0 if checks and all(c["pass"] for c in checks.values()) else 1


TARGET_ADDED_P50_MS = 0.5
TARGET_CPU_PER_REQ_MS = 0.25


def evaluate(results: dict[str, dict[str, dict[str, float]]], log_info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    sb = results.get("switchboard")
    if not sb:
        return {
            "switchboard measured": {"pass": False, "value": None, "limit": None},
        }
    added = sb["plain c1"].get("added_p50_ms", float("nan"))
    cpu = sb["plain c64"]["cpu_ms_per_req"]
    return {
        "added p50 latency at concurrency 1 (plain) <= 0.5 ms": {
            "pass": added <= TARGET_ADDED_P50_MS,
            "value": added,
            "limit": TARGET_ADDED_P50_MS,
        },
        "proxy CPU per plain request (wrk c64, core saturated) <= 0.25 ms": {
            "pass": cpu <= TARGET_CPU_PER_REQ_MS,
            "value": cpu,
            "limit": TARGET_CPU_PER_REQ_MS,
        },
        "zero requests missing from the request log": {
            "pass": log_info.get("missing") == 0,
            "value": log_info.get("missing"),
            "limit": 0,
        },
    }


def report_text(
    args: argparse.Namespace,
    env: dict[str, str],
    results: dict[str, dict[str, dict[str, float]]],
    idle_rss: dict[str, float],
    shapes: dict[str, dict[str, int]],
    unavailable: dict[str, str],
    log_info: dict[str, Any],
    checks: dict[str, dict[str, Any]],
    elapsed: float,
) -> str:
    out = [
        f"Switchboard benchmark ({'quick, ' if args.quick else ''}{args.rounds} interleaved rounds, "
        f"{args.duration:g} s per measurement, {elapsed:.0f} s in all)",
        f"  {env.get('cpu')}, {env.get('cores')} cores, Linux {env.get('kernel')}, Python {env.get('python')}, "
        f"{env.get('wrk')}, switchboard @ {env.get('switchboard_commit')}, litellm {env.get('litellm', '-')}, "
        f"relay: aiohttp {env.get('aiohttp')} on {env.get('relay_loop', '-')}",
        f"  proxies pinned to core {PROXY_CORE}; upstream, wrk and the asyncio client on core {LOAD_CORE}",
        f"  coding = streamed tool call, {len(coding.request_body(ROUTE)) / 1024:.0f} KB request, arguments "
        f"deltas {coding.UPSTREAM_TOOL_CHUNK_DELAY * 1000:g} ms apart; as received: "
        + ", ".join(f"{name} {s['events']} events / {s['bytes'] / 1024:.0f} KB" for name, s in shapes.items() if s),
        "  times in ms; +p50/+p99/+ttfb = added vs direct; cpu/req, cpu/strm = proxy CPU ms per request/stream "
        "(direct rows: the upstream's); RSS0/RSS1 = idle / after-load MB",
        "",
        render_table(results, idle_rss),
    ]
    ratios = render_ratios(results, idle_rss)
    if ratios:
        out += ["", ratios]
    for name, reason in unavailable.items():
        out += ["", f"{name}: unavailable ({reason})"]
    if log_info:
        by_status = ", ".join(f"{k} {v}" for k, v in sorted(log_info.get("by_status", {}).items()))
        out += [
            "",
            f"Switchboard request log: {log_info['rows']} rows ({by_status}) for {log_info['completed']} requests "
            f"the load generators completed; missing: {log_info['missing']}; gateway {log_info.get('stop')}",
        ]
    out.append("")
    for name, c in checks.items():
        value = c["value"]
        shown = "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        out.append(f"{'PASS' if c['pass'] else 'FAIL'}  {name}  (measured: {shown})")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
