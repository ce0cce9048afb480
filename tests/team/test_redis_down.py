"""Redis down under one in-process gateway: fail_open serves with per-replica limits, fail_closed
refuses limited requests with a 503; either way an event, a log line and a metric say so, and
shared state resumes when Redis is back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from proxy.domain.events import GatewayEvents, StateEngineChanged
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context
from tests.team.engines import Redis

pytestmark = pytest.mark.timeout(60)


def config(fake: FakeOpenAIUpstream, mode: str) -> dict[str, Any]:
    return {
        "providers": [{"id": "fake", "preset": "openai", "base_url": fake.base_url, "key": {"env": "SB_RD_KEY"}}],
        "routes": [
            {
                "name": "lim",
                "targets": [{"provider": "fake", "model": "gpt-4o-mini"}],
                "limits": {"requests_per_minute": 5},
            },
            {"name": "free", "targets": [{"provider": "fake", "model": "gpt-4o-mini"}]},
        ],
        "state": {"on_redis_down": mode},
    }


@pytest.mark.parametrize("mode", ["fail_open", "fail_closed"])
async def test_redis_down_then_back(tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    redis = Redis()
    redis.start()
    events = GatewayEvents()
    seen: list[StateEngineChanged] = []
    events.connect(lambda e: seen.append(e) if isinstance(e, StateEngineChanged) else None)
    try:
        async with FakeOpenAIUpstream() as fake:
            env = {"SWITCHBOARD_REDIS_URL": redis.url, "SB_RD_KEY": "sk-fake-upstream"}
            async with gateway_context(tmp_path, config(fake, mode), env=env, events=events) as ctx:
                async with aiohttp.ClientSession(headers=ctx.headers()) as http:

                    async def ask(route: str) -> int:
                        body = {"model": route, "messages": [{"role": "user", "content": "hi"}]}
                        async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body) as r:
                            return r.status

                    assert [await ask("lim") for _ in range(3)] == [200, 200, 200]  # counted in Redis
                    await asyncio.to_thread(redis.stop)
                    statuses = [await ask("lim") for _ in range(7)]
                    assert await ask("free") == 200  # unlimited routes never need Redis
                    async with http.get(f"{ctx.base_url}/metrics") as r:
                        metrics = await r.text()
                    async with http.get(f"{ctx.base_url}/health") as r:
                        health = await r.json()
                    if mode == "fail_open":
                        assert statuses == [200] * 5 + [429] * 2  # this replica's own count of 5 a minute
                    else:
                        assert statuses == [503] * 7
                    assert 'switchboard_state_up{engine="redis"} 0.0' in metrics
                    assert health["status"] == "degraded" and health["state"]["redis"]["up"] is False
                    assert [e.up for e in seen] == [False]
                    assert "Redis at redis://:***@127.0.0.1" in caplog.text and "unreachable" in caplog.text
                    await asyncio.to_thread(redis.start)
                    for _ in range(50):
                        if ctx.gateway.team is not None and ctx.gateway.team.redis.up:
                            break
                        await asyncio.sleep(0.1)
                    assert [e.up for e in seen] == [False, True]
                    # shared again: Redis restarted empty, so 5 more pass and the 6th is refused
                    assert [await ask("lim") for _ in range(6)] == [200] * 5 + [429]
    finally:
        redis.close()
