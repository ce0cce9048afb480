"""Team mode on demand: the added latency and CPU per request of Redis + PostgreSQL against the
embedded default, and 1 vs 2 replicas behind HAProxy, side by side in one run.

    .venv/bin/python tests/bench/team_bench.py --quick     # ~40 s
    .venv/bin/python tests/bench/team_bench.py             # ~2 min

Each setup runs ``switchboard serve`` processes against the fake OpenAI upstream (on its own
thread), on a route with a requests-per-minute limit and the cache on (bypassed per request, so
each request makes its Redis round trips and writes its row): sequential requests give the p50/p95
latency, a concurrent load gives requests/s; the replicas' CPU seconds (``/proc``) divided by the
requests give CPU per request. Redis operations are counted with ``INFO commandstats``, PostgreSQL
rows with ``count(*)``. Nothing here asserts a speed; the table is printed and written to
``tests/bench/results/team.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[2]))

import aiohttp  # noqa: E402

from tests.helpers import ACCESS_KEY  # noqa: E402
from tests.team.conftest import Cluster, cluster_config  # noqa: E402
from tests.team.engines import HAProxy, Postgres, Redis, Replica, ThreadedUpstream, free_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def drive(url: str, sequential: int, seconds: float, workers: int) -> dict[str, float]:
    body = {"model": "busy", "messages": [{"role": "user", "content": "bench"}]}
    headers = {"Authorization": f"Bearer {ACCESS_KEY}", "x-switchboard-cache": "bypass"}
    async with aiohttp.ClientSession(headers=headers) as http:
        lat = []
        for _ in range(sequential):
            t = time.perf_counter()
            async with http.post(f"{url}/v1/chat/completions", json=body) as r:
                await r.read()
                assert r.status == 200, (r.status, await r.text())
            lat.append((time.perf_counter() - t) * 1000)
        done = 0
        end = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < end:
                async with http.post(f"{url}/v1/chat/completions", json=body) as r:
                    await r.read()
                done += 1

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.monotonic() - t0
    lat.sort()
    return {
        "p50_ms": statistics.median(lat),
        "p95_ms": lat[int(len(lat) * 0.95) - 1],
        "rps": done / elapsed,
        "requests": float(sequential + done),
    }


def redis_calls(redis: Redis) -> tuple[int, int]:
    """(round trips, commands): what clients sent (scripts, plain GET/SET/PUBLISH...) and every
    command run, those inside scripts included (``INFO commandstats`` counts both)."""
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url)
    try:
        stats = client.info("commandstats")
        skip = ("cmdstat_info", "cmdstat_ping")
        total = sum(int(v["calls"]) for k, v in stats.items() if k not in skip)
        scripted = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_script", "cmdstat_get", "cmdstat_publish")
        trips = sum(int(stats[k]["calls"]) for k in scripted if k in stats)
        return trips, total
    finally:
        client.close()


def run_setup(name: str, replicas_n: int, team: bool, engines: tuple[Redis, Postgres], args: argparse.Namespace,
              fake: ThreadedUpstream) -> dict[str, Any]:  # fmt: skip
    redis, pg = engines
    root = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    lb_port = args.lb_port  # one for every setup: the team's config (in PostgreSQL) names it
    config = root / "config.json"
    config.write_text(json.dumps(cluster_config(fake.url, fake.url, lb_port)))
    env = {"SB_TEAM_FAKE_KEY": "sk-fake-upstream"}
    if team:
        env |= {"SWITCHBOARD_REDIS_URL": redis.url, "SWITCHBOARD_DATABASE_URL": pg.url}
    replicas = [Replica(root / f"r{i}", config, env) for i in range(replicas_n)]
    haproxy = None
    try:
        for r in replicas:
            r.home.mkdir()
            r.start()
        url = replicas[0].url
        if replicas_n > 1:
            haproxy = HAProxy(lb_port, [r.port for r in replicas])
            haproxy.start()
            try:
                Cluster(redis, pg, fake, fake, replicas, haproxy).wait_routable()
            except OSError:
                print((haproxy.dir / "log").read_text()[-2000:], file=sys.stderr)
                raise
            url = haproxy.url
        asyncio.run(drive(url, 20, 0.5, 4))  # warm up
        calls0 = redis_calls(redis) if team else (0, 0)
        rows0 = pg.query("SELECT count(*) AS n FROM requests")[0]["n"] if team else 0
        cpu0 = sum(cpu_seconds(r.proc.pid) for r in replicas if r.proc)
        result = asyncio.run(drive(url, args.sequential, args.duration, args.workers))
        time.sleep(0.5)
        cpu = sum(cpu_seconds(r.proc.pid) for r in replicas if r.proc) - cpu0
        result["cpu_ms_per_request"] = cpu / result["requests"] * 1000
        if team:
            trips, total = redis_calls(redis)
            result["redis_trips_per_request"] = (trips - calls0[0]) / result["requests"]
            result["redis_ops_per_request"] = (total - calls0[1]) / result["requests"]
            result["pg_rows_per_request"] = (pg.query("SELECT count(*) AS n FROM requests")[0]["n"] - rows0) / result[
                "requests"
            ]
        result["setup"] = name  # type: ignore[assignment]
        return result
    finally:
        if haproxy is not None:
            haproxy.close()
        for r in replicas:
            r.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "team.json")
    args = parser.parse_args()
    args.sequential = 200 if args.quick else 1000
    args.duration = 3.0 if args.quick else 8.0
    args.workers = 8
    args.lb_port = free_port()
    redis, pg = Redis(), Postgres()
    fake = ThreadedUpstream(record=False)
    rows = []
    try:
        redis.start()
        pg.start()
        for name, n, team in (
            ("embedded, 1 replica", 1, False),
            ("Redis + PostgreSQL, 1 replica", 1, True),
            ("Redis + PostgreSQL, 2 replicas + HAProxy", 2, True),
        ):
            rows.append(run_setup(name, n, team, (redis, pg), args, fake))
    finally:
        fake.close()
        redis.close()
        pg.close()
    print(
        f"{'setup':42} {'p50 ms':>7} {'p95 ms':>7} {'req/s':>7} {'CPU ms/req':>10} {'Redis trips':>11} "
        f"{'Redis cmds':>10} {'PG rows':>7}"
    )
    for r in rows:
        print(
            f"{r['setup']:42} {r['p50_ms']:7.2f} {r['p95_ms']:7.2f} {r['rps']:7.0f} {r['cpu_ms_per_request']:10.2f} "
            f"{r.get('redis_trips_per_request', 0):11.2f} {r.get('redis_ops_per_request', 0):10.2f} "
            f"{r.get('pg_rows_per_request', 0):7.2f}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
