"""Feature hooks: each point calls only the hooks that define it, in list order; a hook can answer a
request early; a store behind a hook (here the cache's) can be swapped without touching the engine."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from proxy.engine.hooks import Cache, Hooks
from proxy.providers.base import UpstreamReply
from tests.helpers import DEMO_CONFIG, gateway_context

MESSAGES = [{"role": "user", "content": "hook me"}]


class Recorder:
    """Defines every point; notes the order they are met in."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    def on_request(self, ex: Any, snap: Any, resolution: Any, request: Any) -> None:
        self.seen.append(f"request {request.model}")

    def on_attempt(self, snap: Any, attempt: Any, adapter: Any, call: Any) -> None:
        self.seen.append(f"attempt {attempt.provider}/{attempt.model}")

    def on_attempted(self, ex: Any, record: Any) -> None:
        self.seen.append(f"attempted {record.provider}/{record.model} {record.status}")

    def on_response(self, ex: Any, resolution: Any, request: Any, reply: UpstreamReply) -> UpstreamReply:
        self.seen.append("response")
        return reply

    def on_ended(self, ex: Any, record: Any) -> None:
        self.seen.append(f"ended {record.status}")

    def on_logged(self, record: Any) -> None:
        self.seen.append("logged")


class Canned:
    """Answers every request itself (as a cache hit would)."""

    def on_request(self, ex: Any, snap: Any, resolution: Any, request: Any) -> Any:
        return self._answer()

    async def _answer(self) -> UpstreamReply:
        completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
        return UpstreamReply(200, body=orjson.dumps(completion), json=completion)


class MemoryCacheStore:
    """A CacheStore in a dict (what a Redis one would be to the engine)."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    def put(self, key: str, route: str, body: bytes, ttl: float, max_entries: int) -> None:
        self.entries[key] = body

    async def close(self) -> None:
        self.entries.clear()


def test_each_point_has_the_hooks_that_define_it_in_order():
    first, second = Recorder([]), Recorder([])
    hooks = Hooks([first, Canned(), second])
    assert [h.__self__ for h in hooks.request] == [first, hooks.all[1], second]
    assert [h.__self__ for h in hooks.attempt] == [first, second]
    assert hooks.start == () and hooks.stop == ()


async def test_a_hook_meets_a_request_at_every_point_in_order(tmp_path):
    seen: list[str] = []
    async with gateway_context(tmp_path) as ctx:
        ctx.gateway.hooks = Hooks([*ctx.gateway.hooks.all, Recorder(seen)])
        await ctx.openai().chat.completions.create(model="demo", messages=MESSAGES)
        ctx.rows()
    assert seen == ["request demo", "attempt demo/echo", "attempted demo/echo 200", "response", "ended ok", "logged"]


async def test_a_hook_that_answers_early_skips_the_attempts_and_the_hooks_after_it(tmp_path):
    seen: list[str] = []
    async with gateway_context(tmp_path) as ctx:
        ctx.gateway.hooks = Hooks([Canned(), Recorder(seen)])
        raw = await ctx.openai().chat.completions.with_raw_response.create(model="demo", messages=MESSAGES)
        assert raw.parse().id == "c" and raw.headers["x-switchboard-attempts"] == "0"
        assert ctx.rows()[-1].attempts == 0
    assert seen == ["ended ok", "logged"]


async def test_the_cache_works_on_any_store(tmp_path):
    config = {**DEMO_CONFIG, "routes": [{**DEMO_CONFIG["routes"][0], "cache": {"enabled": True}}]}
    store = MemoryCacheStore()
    async with gateway_context(tmp_path, config) as ctx:
        hooks = ctx.gateway.hooks.all
        ctx.gateway.hooks = Hooks([Cache(store) if isinstance(h, Cache) else h for h in hooks])
        client = ctx.openai()
        first = await client.chat.completions.with_raw_response.create(model="demo", messages=MESSAGES)
        await asyncio.sleep(0)  # the store is written in the background
        second = await client.chat.completions.with_raw_response.create(model="demo", messages=MESSAGES)
        assert (first.headers["x-switchboard-cache"], second.headers["x-switchboard-cache"]) == ("miss", "hit")
        assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
        assert len(store.entries) == 1
