"""OTLP export on vs off: the added p50 latency and CPU per request of a real ``switchboard serve``.

Run on demand (pytest never collects tests/bench):

    .venv/bin/python tests/bench/otel_bench.py --quick      # 2 rounds x 150 requests per mode
    .venv/bin/python tests/bench/otel_bench.py --requests 1000 --rounds 3

A fake OpenAI upstream and an OTLP/HTTP receiver run in this process; the gateway runs in its
own process, started three times per round (export off, on, and on with 10% of traces sampled:
interleaved, so drift hits all three). The
client sends sequential chat requests, half of them streamed; latency is measured at the client,
CPU is the gateway process's own (utime + stime from /proc) over the measured requests. The
receiver only counts what it gets (it does not decode), so it costs the gateway nothing extra.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fakes.openai_upstream import FakeOpenAIUpstream  # noqa: E402
from tests.helpers import ACCESS_KEY, serve_subprocess  # noqa: E402

UPSTREAM_KEY = "sk-bench-otel-upstream"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CountingReceiver:
    def __init__(self) -> None:
        self.posts = 0
        self.bytes = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.bytes += len(await request.read())
        self.posts += 1
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def start(self) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/v1/traces", self.handle)
        app.router.add_post("/v1/metrics", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


async def measure(base: str, requests: int) -> tuple[list[float], float]:
    headers = {"Authorization": f"Bearer {ACCESS_KEY}"}
    latencies = []
    async with aiohttp.ClientSession() as s:
        for i in range(20):  # warm up: connections, imports, first spans
            body = {"model": "bench", "messages": [{"role": "user", "content": "warm"}], "stream": bool(i % 2)}
            async with s.post(f"{base}/v1/chat/completions", json=body, headers=headers) as r:
                await r.read()
        return latencies, 0.0 if requests == 0 else await _timed(s, base, headers, requests, latencies)


async def _timed(s: aiohttp.ClientSession, base: str, headers: dict, requests: int, latencies: list[float]) -> float:
    for i in range(requests):
        body = {"model": "bench", "messages": [{"role": "user", "content": f"q{i}"}], "stream": bool(i % 2)}
        started = time.perf_counter()
        async with s.post(f"{base}/v1/chat/completions", json=body, headers=headers) as r:
            await r.read()
            assert r.status == 200, r.status
        latencies.append((time.perf_counter() - started) * 1000)
    return 0.0


async def one_run(mode: str, upstream: str, collector: str, requests: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"sb-otel-{mode}-"))
    config = {
        "providers": [{"id": "up", "preset": "custom", "base_url": upstream, "key": {"env": "SB_BENCH_KEY"}}],
        "routes": [{"name": "bench", "targets": [{"provider": "up", "model": "gpt-4o-mini"}]}],
    }
    path = home / "config.json"
    path.write_text(json.dumps(config))
    env = {"SB_BENCH_KEY": UPSTREAM_KEY}
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            env[name] = ""
    if mode != "off":
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": collector, "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    if mode == "on-10%":
        env |= {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    proc, base = await asyncio.to_thread(serve_subprocess, home, path, env=env)
    try:
        latencies: list[float] = []
        async with aiohttp.ClientSession() as s:
            headers = {"Authorization": f"Bearer {ACCESS_KEY}"}
            await _timed(s, base, headers, 20, [])  # warm up
            before = cpu_seconds(proc.pid)
            await _timed(s, base, headers, requests, latencies)
            await asyncio.sleep(1.5)  # let the exporter's batch go out, and count its CPU
            cpu = cpu_seconds(proc.pid) - before
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 15)
    return {"mode": mode, "latencies": latencies, "cpu": cpu, "requests": requests}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds x 150 requests per mode")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    requests, rounds = (150, 2) if args.quick else (args.requests, args.rounds)
    receiver = CountingReceiver()
    runner, collector = await receiver.start()
    async with FakeOpenAIUpstream(api_key=UPSTREAM_KEY, record=False, chunks=5) as fake:
        results: dict[str, list[dict]] = {"off": [], "on": [], "on-10%": []}
        for _ in range(rounds):
            for mode in results:
                results[mode].append(await one_run(mode, fake.base_url, collector, requests))
    await runner.cleanup()
    rows = []
    for mode, runs in results.items():
        lat = [x for r in runs for x in r["latencies"]]
        total = sum(r["requests"] for r in runs)
        cpu_ms = sum(r["cpu"] for r in runs) * 1000 / total
        rows.append((mode, total, statistics.median(lat), statistics.quantiles(lat, n=10)[-1], cpu_ms))
    print(f"{'export':<8}{'requests':>9}{'p50 ms':>9}{'p90 ms':>9}{'CPU ms/req':>12}")
    for mode, total, p50, p90, cpu in rows:
        print(f"{mode:<8}{total:>9}{p50:>9.3f}{p90:>9.3f}{cpu:>12.3f}")
    off = rows[0]
    for on in rows[1:]:
        print(
            f"added by export ({on[0]}): p50 {on[2] - off[2]:+.3f} ms, CPU {on[4] - off[4]:+.3f} ms/request "
            f"({(on[4] / off[4] - 1) * 100 if off[4] else 0:+.1f}%)"
        )
    print(f"collector got {receiver.posts} posts, {receiver.bytes} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
