"""Circuit breakers and cooldowns shared by every replica.

The attempt loop calls its health store synchronously per attempt, so :class:`SharedHealthBoard`
keeps the in-process :class:`HealthBoard` as its local view and replicates breaker changes: a
breaker that opens here (a tripped breaker, a 429 with ``Retry-After``) is written to Redis
(``SET ... PX`` for replicas that start later or come back) and published; the other replicas
apply it on receipt (pub/sub delivers in well under a millisecond on a LAN), and a breaker that
closes is published the same way. In-flight counts and latency stay per replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

import orjson

from proxy.config.schema import CooldownPolicy
from proxy.routing.health import HealthBoard, TargetKey
from proxy.state.redis_link import REDIS_ERRORS, RedisLink

log = logging.getLogger(__name__)


class SharedHealthBoard(HealthBoard):
    """A :class:`HealthBoard` whose breakers are shared through Redis (see the module doc)."""

    def __init__(self, link: RedisLink, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.link = link
        self.origin = os.urandom(8).hex()
        self.channel = link.key("health")
        self.received = 0
        self._tasks: set[asyncio.Future[Any]] = set()
        self._listener: asyncio.Task[None] | None = None

    # -- local changes, sent to the others --------------------------------------------------------

    def failed(
        self,
        key: TargetKey,
        policy: CooldownPolicy,
        error: str,
        *,
        rate_limited: bool = False,
        retry_after: float | None = None,
    ) -> None:
        before = self.get(key).open_until
        super().failed(key, policy, error, rate_limited=rate_limited, retry_after=retry_after)
        health = self.get(key)
        if health.open_until != before and health.open_until > 0:
            seconds = max(health.open_until - self.clock(), 0.001)
            self._send({"k": list(key), "open": seconds, "until": time.time() + seconds, "err": error[:300]})

    def succeeded(self, key: TargetKey, ttft_ms: float | None) -> None:
        was_open = self.get(key).open_until != 0.0
        super().succeeded(key, ttft_ms)
        if was_open:
            self._send({"k": list(key), "open": 0})

    def _send(self, message: dict[str, Any]) -> None:
        if not self.link.up:
            return
        message["o"] = self.origin
        task = asyncio.ensure_future(self._publish(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, message: dict[str, Any]) -> None:
        provider, model = message["k"]
        key = self.link.key("cool", provider, model)
        data = orjson.dumps(message)
        try:
            async with self.link.client.pipeline(transaction=False) as pipe:
                if message["open"]:
                    pipe.set(key, data, px=max(1, int(message["open"] * 1000)))
                else:
                    pipe.delete(key)
                pipe.publish(self.channel, data)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            self.link.failed(exc)

    # -- changes from the others -------------------------------------------------------------------

    def apply(self, data: bytes | str) -> None:
        try:
            message = orjson.loads(data)
            key: TargetKey = (str(message["k"][0]), str(message["k"][1]))
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
            return
        if message.get("o") == self.origin:
            return
        self.received += 1
        health = self.get(key)
        if message.get("open"):
            remaining = float(message.get("until", 0)) - time.time()
            if remaining <= 0:
                return
            was_open = health.open_until != 0.0 and self.clock() < health.open_until
            health.open_until = self.clock() + remaining
            health.probing = False
            health.last_error = message.get("err")
            if not was_open and self.on_change:
                self.on_change(key, health)
        elif health.open_until != 0.0:
            health.open_until = 0.0
            health.probing = False
            health.consecutive_failures = 0
            health.last_error = None
            if self.on_change:
                self.on_change(key, health)

    async def start(self) -> None:
        self._listener = asyncio.ensure_future(self._listen())

    async def _sync(self) -> None:
        """Breakers open now (at start, and when Redis is back)."""
        async for name in self.link.client.scan_iter(match=self.link.key("cool", "*"), count=500):
            data = await self.link.client.get(name)
            if data is not None:
                self.apply(data)

    async def _listen(self) -> None:
        while True:
            if not self.link.up:
                await asyncio.sleep(0.2)
                continue
            pubsub = self.link.client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                await self._sync()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self.apply(message["data"])
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as exc:
                self.link.failed(exc)
            finally:
                with contextlib.suppress(*REDIS_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
