"""Translation benchmark: what speaking another API costs, side by side in one run. On demand:

    .venv/bin/python tests/bench/translation_bench.py [--requests N] [--rounds R] [--no-litellm]

A fake Anthropic upstream on core 0; Switchboard and LiteLLM (if installed at
/tmp/sb-bench/litellm-venv, see run_bench.py) on core 1, one at a time. Non-stream requests, one
at a time (latency) and 8 at a time (CPU per request of the gateway process):

- ``direct``: the client posts Anthropic Messages straight to the fake (the floor);
- ``sb native``: Anthropic Messages through Switchboard, passed through untranslated;
- ``sb chat->anthropic``: Chat Completions through Switchboard, translated both ways;
- ``litellm chat->anthropic``: the same through LiteLLM's proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
UPSTREAM_KEY = "sk-ant-bench-upstream-000000000000000"
ACCESS_KEY = "sb-local-bench-access-key-000000000000000000"
LITELLM_KEY = "sk-litellm-bench-master-key"
LITELLM = Path("/tmp/sb-bench/litellm-venv/bin/litellm")
CLK = os.sysconf("SC_CLK_TCK")
MODEL = "claude-haiku-4-5"


def cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def start(cmd: list[str], core: int, env: dict[str, str], pattern: str | None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), *cmd],
        cwd=ROOT,
        env={**os.environ, **env},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if pattern is None:
        return proc, ""
    line = proc.stdout.readline()  # type: ignore[union-attr]
    m = re.search(pattern, line)
    if not m:
        proc.kill()
        raise RuntimeError(f"{cmd[:4]} did not start: {line!r}")
    return proc, m.group(1)


def messages_request(url: str, key: str, model: str) -> tuple[str, dict[str, str], bytes]:
    body = {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "bench the translation"}]}
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
    return f"{url}/v1/messages", headers, json.dumps(body).encode()


def chat_request(url: str, key: str, model: str) -> tuple[str, dict[str, str], bytes]:
    body = {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "bench the translation"}]}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return f"{url}/v1/chat/completions", headers, json.dumps(body).encode()


async def load(request: tuple[str, dict[str, str], bytes], concurrency: int, count: int) -> list[float]:
    url, headers, body = request
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for _ in range(count // concurrency):
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200, (resp.status, await resp.text())
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def wait_http(url: str, timeout: float = 180) -> None:
    async def probe() -> bool:
        try:
            async with aiohttp.ClientSession() as s, s.get(url) as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if asyncio.run(probe()):
            return
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1600, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-litellm", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    procs: list[subprocess.Popen[str]] = []
    try:
        fake, fake_url = start(
            [str(PY), "-m", "tests.fakes.anthropic_upstream", "--port", "0", "--api-key", UPSTREAM_KEY],
            0,
            {},
            r"listening on (\S+)",
        )
        procs.append(fake)
        home = Path(tempfile.mkdtemp(prefix="sb-translation-bench-"))
        config = {
            "providers": [
                {"id": "claude", "preset": "anthropic", "base_url": f"{fake_url}/v1", "key": {"env": "BENCH_KEY"}}
            ],
            "routes": [{"name": MODEL, "targets": [{"provider": "claude", "model": MODEL}]}],
        }
        (home / "cfg.json").write_text(json.dumps(config))
        sb, sb_url = start(
            [str(PY), "-m", "proxy", "serve", "--home", str(home), "--config", str(home / "cfg.json"), "--port", "0"],
            1,
            {"SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, "BENCH_KEY": UPSTREAM_KEY},
            r"listening on (\S+)",
        )
        procs.append(sb)
        targets: dict[str, tuple[tuple[str, dict[str, str], bytes], int | None]] = {
            "direct": (messages_request(fake_url, UPSTREAM_KEY, MODEL), None),
            "sb native": (messages_request(sb_url, ACCESS_KEY, MODEL), sb.pid),
            "sb chat->anthropic": (chat_request(sb_url, ACCESS_KEY, MODEL), sb.pid),
        }
        if not args.no_litellm and LITELLM.exists():
            port = 47000 + os.getpid() % 1000
            cfg = home / "litellm.yaml"
            cfg.write_text(
                "model_list:\n"
                f"  - model_name: {MODEL}\n"
                "    litellm_params:\n"
                f"      model: anthropic/{MODEL}\n"
                f"      api_base: {fake_url}\n"
                "      api_key: os.environ/BENCH_KEY\n"
                "litellm_settings:\n  telemetry: false\n"
                f"general_settings:\n  master_key: {LITELLM_KEY}\n"
            )
            env = {
                "BENCH_KEY": UPSTREAM_KEY,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_TELEMETRY": "False",
                "LITELLM_LOG": "ERROR",
                "LITELLM_MODE": "PRODUCTION",
                "NO_PROXY": "127.0.0.1,localhost",
            }
            ll, _ = start(
                [str(LITELLM), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
                1,
                env,
                None,
            )
            procs.append(ll)
            wait_http(f"http://127.0.0.1:{port}/health/liveliness")
            targets["litellm chat->anthropic"] = (chat_request(f"http://127.0.0.1:{port}", LITELLM_KEY, MODEL), ll.pid)
        elif not args.no_litellm:
            print(f"litellm: not installed at {LITELLM} (run tests/bench/run_bench.py once to install it)")
        for request, _ in targets.values():  # warm up
            asyncio.run(load(request, 4, 200))
        results: dict[str, dict[str, list[float]]] = {name: {"p50": [], "p99": [], "cpu": []} for name in targets}
        for _ in range(args.rounds):
            for name, (request, pid) in targets.items():
                lat = sorted(asyncio.run(load(request, 1, args.requests // 2)))
                c0 = cpu(pid) if pid else 0.0
                n = len(asyncio.run(load(request, 8, args.requests)))
                results[name]["cpu"].append((cpu(pid) - c0) / n * 1000 if pid else float("nan"))
                results[name]["p50"].append(lat[len(lat) // 2] * 1000)
                results[name]["p99"].append(lat[int(len(lat) * 0.99)] * 1000)
        direct = statistics.median(results["direct"]["p50"])
        print(
            f"{'path':26} {'p50 ms (c1)':>12} {'p99 ms (c1)':>12} {'+p50 vs direct':>15} "
            f"{'gateway cpu ms/req (c8)':>24}"
        )
        for name, values in results.items():
            med = {k: statistics.median(v) for k, v in values.items()}
            cpu_text = "-" if med["cpu"] != med["cpu"] else f"{med['cpu']:.3f}"
            print(f"{name:26} {med['p50']:12.3f} {med['p99']:12.3f} {med['p50'] - direct:+15.3f} {cpu_text:>24}")
        if "litellm chat->anthropic" in results:
            sb_cpu = statistics.median(results["sb chat->anthropic"]["cpu"])
            ll_cpu = statistics.median(results["litellm chat->anthropic"]["cpu"])
            print(f"translated chat->anthropic: LiteLLM uses {ll_cpu / sb_cpu:.1f}x Switchboard's CPU per request")
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, 15)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(home, ignore_errors=True) if "home" in locals() else None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
