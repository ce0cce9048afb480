"""Routing benchmark: what a fallback and a cache hit cost, through Switchboard, side by side with
the plain path. Run on demand:

    .venv/bin/python tests/bench/routing_bench.py [--requests N]

Two fake upstreams on core 0 (one answers every request with 503), Switchboard on core 1.
Routes: ``plain`` (the good upstream), ``fallback`` (the failing upstream first, then the good
one; no retries and a breaker that never opens, so every request pays for the fallback), and
``cached`` (the good upstream behind the response cache; every measured request is a hit).
One request at a time (latency) and 8 at a time (CPU per request), interleaved rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
UPSTREAM_KEY = "sk-bench-upstream-0000000000000000"
ACCESS_KEY = "sb-local-bench-access-key-000000000000000000"
CLK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def start(cmd: list[str], core: int, env: dict[str, str], pattern: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), *cmd],
        cwd=ROOT,
        env={**os.environ, **env},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    m = re.search(pattern, line)
    if not m:
        proc.kill()
        raise RuntimeError(f"{cmd[2:4]} did not start: {line!r}")
    return proc, m.group(1)


async def load(url: str, model: str, concurrency: int, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"}
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "bench the routing"}]}).encode()
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for _ in range(count // concurrency):
                t0 = time.perf_counter()
                async with session.post(f"{url}/v1/chat/completions", data=body, headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    procs: list[subprocess.Popen[str]] = []
    try:
        good, good_url = start(
            [str(PY), "-m", "tests.fakes.openai_upstream", "--port", "0", "--api-key", UPSTREAM_KEY],
            0,
            {},
            r"listening on (\S+)",
        )
        bad, bad_url = start(
            [
                str(PY),
                "-m",
                "tests.fakes.openai_upstream",
                "--port",
                "0",
                "--api-key",
                UPSTREAM_KEY,
                "--fail-status",
                "503",
            ],
            0,
            {},
            r"listening on (\S+)",
        )
        procs += [good, bad]
        home = Path(tempfile.mkdtemp(prefix="sb-routing-bench-"))
        provider = {"preset": "custom", "key": {"env": "BENCH_UPSTREAM_KEY"}}
        never_open = {"failures": 1_000_000, "seconds": 1}
        config = {
            "providers": [
                {"id": "good", "base_url": good_url, **provider},
                {"id": "bad", "base_url": bad_url, **provider},
            ],
            "routes": [
                {"name": "plain", "targets": [{"provider": "good", "model": "gpt-4o-mini"}]},
                {
                    "name": "fallback",
                    "targets": [
                        {"provider": "bad", "model": "gpt-4o-mini"},
                        {"provider": "good", "model": "gpt-4o-mini"},
                    ],
                    "retries": {"max_retries": 0},
                    "cooldown": never_open,
                },
                {
                    "name": "cached",
                    "targets": [{"provider": "good", "model": "gpt-4o-mini"}],
                    "cache": {"enabled": True},
                },
            ],
        }
        (home / "cfg.json").write_text(json.dumps(config))
        sb, sb_url = start(
            [str(PY), "-m", "proxy", "serve", "--home", str(home), "--config", str(home / "cfg.json"), "--port", "0"],
            1,
            {"SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, "BENCH_UPSTREAM_KEY": UPSTREAM_KEY},
            r"listening on (\S+)",
        )
        procs.append(sb)
        for model in ("plain", "fallback", "cached"):  # warm up (and fill the cache)
            asyncio.run(load(sb_url, model, 4, 200))
        results: dict[str, dict[str, list[float]]] = {
            m: {"p50": [], "p99": [], "cpu": []} for m in ("plain", "fallback", "cached")
        }
        for _ in range(args.rounds):
            for model in results:
                lat = sorted(asyncio.run(load(sb_url, model, 1, args.requests // 2)))
                c0 = cpu(sb.pid)
                n = len(asyncio.run(load(sb_url, model, 8, args.requests)))
                results[model]["cpu"].append((cpu(sb.pid) - c0) / n * 1000)
                results[model]["p50"].append(lat[len(lat) // 2] * 1000)
                results[model]["p99"].append(lat[int(len(lat) * 0.99)] * 1000)
        print(f"{'route':10} {'p50 ms (c1)':>12} {'p99 ms (c1)':>12} {'cpu ms/req (c8)':>16}")
        plain = {k: statistics.median(v) for k, v in results["plain"].items()}
        for model, values in results.items():
            med = {k: statistics.median(v) for k, v in values.items()}
            extra = (
                ""
                if model == "plain"
                else (f"   vs plain: {med['p50'] - plain['p50']:+.3f} ms p50, {med['cpu'] - plain['cpu']:+.3f} ms cpu")
            )
            print(f"{model:10} {med['p50']:12.3f} {med['p99']:12.3f} {med['cpu']:16.3f}{extra}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
