"""Three replicas behind a real HAProxy on real Redis and PostgreSQL: shared limits, budgets,
breakers, cache and one request log (issue 15)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import openai
import pytest

from tests.fakes.openai_upstream import rate_limited
from tests.helpers import ACCESS_KEY
from tests.team.conftest import BUDGET_USD, Cluster

pytestmark = pytest.mark.timeout(120)


def client(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=ACCESS_KEY, max_retries=0, timeout=20)


async def ask(c: openai.AsyncOpenAI, route: str, text: str, **kw: object) -> Any:
    """One chat request; the raw response (status and headers), errors included."""
    try:
        raw = await c.chat.completions.with_raw_response.create(
            model=route, messages=[{"role": "user", "content": text}], **kw
        )
    except openai.APIStatusError as exc:
        return exc.response
    return raw.http_response


def pg_rows(cluster: Cluster, where: str, *args: object) -> list[dict[str, object]]:
    return [dict(r) for r in cluster.pg.query(f"SELECT * FROM requests WHERE {where}", *args)]


def wait_for(check, timeout: float = 10.0, step: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


async def test_rpm_shared_by_three_replicas(cluster: Cluster) -> None:
    """90 requests at once through HAProxy to a route limited to 60 per minute: exactly 60 pass."""
    c = client(cluster.url)
    tag = uuid.uuid4().hex
    replies = await asyncio.gather(*(ask(c, "rpm", f"{tag} {i}") for i in range(90)))
    await c.close()
    statuses = [r.status_code for r in replies]
    print(f"\nrpm 60 across 3 replicas: {statuses.count(200)} admitted, {statuses.count(429)} refused")
    assert statuses.count(200) == 60
    assert statuses.count(429) == 30
    refused = next(r for r in replies if r.status_code == 429)
    assert "60 requests per minute" in refused.json()["error"]["message"]
    assert int(refused.headers["Retry-After"]) >= 1


async def test_daily_budget_shared_under_concurrent_load(cluster: Cluster) -> None:
    """Six workers spend against one daily budget through HAProxy until refused: the spend admitted
    never exceeds the budget plus what was in flight when it was reached."""
    workers = 6
    c = client(cluster.url)
    tag = uuid.uuid4().hex
    refused = admitted = 0

    async def worker(n: int) -> None:
        nonlocal refused, admitted
        for i in range(200):
            reply = await ask(c, "budget", f"{tag} {n} {i}")
            if reply.status_code == 429:
                refused += 1
                return
            assert reply.status_code == 200
            admitted += 1

    await asyncio.gather(*(worker(n) for n in range(workers)))
    await c.close()

    def all_rows() -> list[dict[str, object]] | None:
        rows = pg_rows(cluster, "route = 'budget' AND status = 'ok'")
        return rows if len(rows) >= admitted else None

    rows = wait_for(all_rows) or []
    assert len(rows) == admitted  # every admitted request has its row (the shippers' last batches)
    spent = sum(float(r["cost"] or 0) for r in rows)
    most = max(float(r["cost"] or 0) for r in rows)
    print(f"\nbudget ${BUDGET_USD}: {len(rows)} admitted, spend ${spent:.6f}, {refused} workers refused")
    assert refused == workers
    import redis as redis_py

    r = redis_py.Redis.from_url(cluster.redis.url)
    shared = {k.decode(): float(r.get(k) or 0) for k in r.scan_iter("switchboard:spend:route:budget:*")}
    r.close()
    print(f"shared spend in Redis: {shared}")
    assert max(shared.values()) >= BUDGET_USD  # the shared count reached the budget: that refused them
    assert spent >= BUDGET_USD - most  # and the rows agree, within one request
    assert spent <= BUDGET_USD + 2 * workers * most


async def test_429_on_a_is_honoured_by_b_and_c_within_a_second(cluster: Cluster) -> None:
    a, b, cc = (client(r.url) for r in cluster.replicas)
    cluster.fake.script(rate_limited(30))
    first = await ask(a, "rl429", "trip the breaker")
    assert first.status_code == 200 and first.headers["x-switchboard-provider"] == "rl-b"  # A fell back
    seen_at = time.monotonic()
    before = len(cluster.fake.fake.requests)
    for replica in (b, cc):
        reply = await ask(replica, "rl429", "after the 429")
        assert reply.status_code == 200
        assert reply.headers["x-switchboard-provider"] == "rl-b"
        assert reply.headers["x-switchboard-attempts"] == "1"  # rl-a was skipped, not tried
    assert time.monotonic() - seen_at < 1.0
    assert len(cluster.fake.fake.requests) == before  # nobody asked rl-a again
    for x in (a, b, cc):
        await x.close()


async def test_cache_miss_on_a_is_a_hit_on_b(cluster: Cluster) -> None:
    a, b = client(cluster.replicas[0].url), client(cluster.replicas[1].url)
    text = f"cache me {uuid.uuid4().hex}"
    miss = await ask(a, "cached", text)
    assert miss.headers["x-switchboard-cache"] == "miss"
    before = len(cluster.fake.fake.requests)

    reply = None
    for _ in range(20):  # the store is written in the background, just after the answer
        reply = await ask(b, "cached", text)
        if reply.headers["x-switchboard-cache"] == "hit":
            break
        await asyncio.sleep(0.05)
    assert reply is not None and reply.headers["x-switchboard-cache"] == "hit"
    assert reply.json()["choices"][0]["message"]["content"] == miss.json()["choices"][0]["message"]["content"]
    assert len(cluster.fake.fake.requests) <= before + 1  # at most one miss raced the store
    await a.close()
    await b.close()
