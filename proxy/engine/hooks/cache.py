"""The response cache as a hook: an exact-match hit answers a request before any attempt; a
forwarded answer is stored (a stream once it ended cleanly). Opt-in per route.

The cache speaks the canonical chat form: a surface offers its request as ``cache_body`` (Chat
Completions does; a surface that offers none is never cached), answers are stored as a
``chat.completion`` and replayed as ``chat.completion.chunk`` events when the client streams. A
hit costs nothing and uses no tokens; the log row says ``hit``, ``miss`` or ``bypass``
(``Cache-Control: no-cache``/``no-store`` or ``x-switchboard-cache: bypass``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Mapping
from typing import Any

import orjson

from proxy.cache.keys import cache_key
from proxy.cache.replay import StreamAssembler, completion_to_events
from proxy.cache.store import CacheStore
from proxy.config.schema import CacheConfig
from proxy.domain.exchange import Exchange
from proxy.domain.records import OK, Usage
from proxy.engine.hooks.base import ModelRequest
from proxy.engine.snapshot import Snapshot
from proxy.providers.base import UpstreamReply
from proxy.routing.resolve import Attempt, Resolution
from proxy.support.sse import SSEEvent

_NOTE = "cache"
"""Where a miss keeps its key in ``Exchange.notes``, for :meth:`Cache.on_response`."""


class Cache:
    """Exact-match answers by request (route, messages, tools, sampling parameters ...)."""

    def __init__(self, store: CacheStore) -> None:
        self.store = store

    async def stop(self) -> None:
        await self.store.close()

    async def entries(self) -> int | None:
        """Answers stored now, for ``/metrics`` (``None``: the store cannot count them)."""
        count = getattr(self.store, "count", None)
        return int(await count()) if count is not None else None

    def on_request(
        self, ex: Exchange, snap: Snapshot, resolution: Resolution, request: ModelRequest
    ) -> Awaitable[UpstreamReply | None] | None:
        if request.cache_body is None or resolution.route is None or not resolution.policy.cache.enabled:
            return None
        return self._lookup(ex, snap, resolution, request, request.cache_body)

    async def _lookup(
        self, ex: Exchange, snap: Snapshot, resolution: Resolution, request: ModelRequest, body: dict[str, Any]
    ) -> UpstreamReply | None:
        scope = f"{resolution.route}#{resolution.variant}" if resolution.variant else resolution.route
        key = cache_key(scope or "", body)
        if bypassed(request.headers):
            ex.cache = "bypass"
            return None
        stored = await self.store.get(key)
        if stored is None:
            ex.cache = "miss"
            if ex.notes is None:
                ex.notes = {}
            ex.notes[_NOTE] = key
            return None
        ex.cache = "hit"
        entry = orjson.loads(stored)
        completion = entry["completion"]
        ex.provider, ex.upstream_model = entry.get("provider"), entry.get("model")
        if ex.provider and ex.upstream_model:
            ex.price = snap.price_ref(Attempt(ex.provider, ex.upstream_model))
        ex.usage = Usage.from_openai(completion.get("usage"))
        if not request.stream:
            return UpstreamReply(200, body=orjson.dumps(completion), json=completion)
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        events = [SSEEvent(raw, raw[6:-2]) for raw in completion_to_events(completion, include_usage)]
        return UpstreamReply(200, events=_replay(events))

    def on_response(
        self, ex: Exchange, resolution: Resolution, request: ModelRequest, reply: UpstreamReply
    ) -> UpstreamReply:
        key = ex.notes.get(_NOTE) if ex.notes is not None else None
        if key is None or reply.format != "openai":  # only the canonical chat form is stored
            return reply
        route, policy = resolution.route or "", resolution.policy.cache
        if reply.events is None:
            self._put(ex, key, route, policy, reply.json)
        else:
            reply.events = self._watch(ex, key, route, policy, reply.events)
        return reply

    async def _watch(
        self, ex: Exchange, key: str, route: str, policy: CacheConfig, events: AsyncGenerator[SSEEvent, None]
    ) -> AsyncGenerator[SSEEvent, None]:
        """Pass the events on, assembling the answer; store it if the stream ended with ``[DONE]``,
        every choice finished and the request is still ``ok`` (not cut, nor failed in-band)."""
        assembler = StreamAssembler()
        done = False
        try:
            async for event in events:
                data = event.data
                if data == b"[DONE]":
                    done = True
                elif data is not None:
                    try:
                        chunk = orjson.loads(data)
                    except orjson.JSONDecodeError:
                        chunk = None  # the relay ends the stream as cut
                    if isinstance(chunk, dict):
                        assembler.feed(chunk)
                yield event
            # The relay has handled every event by now (it asked for the next one), so ex.status is final.
            if done and ex.status == OK and assembler.complete:
                self._put(ex, key, route, policy, assembler.result())
        finally:
            await events.aclose()

    def _put(self, ex: Exchange, key: str, route: str, policy: CacheConfig, completion: Any) -> None:
        entry = {"provider": ex.provider, "model": ex.upstream_model, "completion": completion}
        self.store.put(key, route, orjson.dumps(entry), policy.ttl, policy.max_entries)


def bypassed(headers: Mapping[str, str]) -> bool:
    control = headers.get("Cache-Control", "").lower()
    return "no-cache" in control or "no-store" in control or headers.get("x-switchboard-cache") == "bypass"


async def _replay(events: list[SSEEvent]) -> AsyncGenerator[SSEEvent, None]:
    for event in events:
        yield event
