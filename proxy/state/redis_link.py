"""One Redis connection pool for a replica, and whether Redis is up.

Every shared store asks :attr:`RedisLink.up` first: while Redis is down nothing waits for it (the
stores fall back at once), and a probe reconnects in the background every ``PROBE_SECONDS``.
Failures are reported once per outage (a log line, an event through ``on_change``), never per
request. The URL's password never reaches a message (:func:`proxy.state.urls.scrub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from proxy.state.urls import safe_url, scrub

log = logging.getLogger(__name__)

PROBE_SECONDS = 0.5
OP_TIMEOUT = 0.5
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)


class RedisLink:
    def __init__(self, url: str, prefix: str, on_change: Callable[[bool, str], None] | None = None) -> None:
        self.url = url
        self.prefix = prefix
        self.on_change = on_change
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=OP_TIMEOUT,
            socket_connect_timeout=OP_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # a failure falls back at once; the probe reconnects
            max_connections=256,
        )
        self.up = False
        self.outages = 0
        self._probe: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def shown(self) -> str:
        return safe_url(self.url)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def connect(self) -> None:
        """Reach Redis now (at start). Raises ``ConnectionError`` with a password-free message."""
        try:
            await self.client.ping()
        except REDIS_ERRORS as exc:
            raise ConnectionError(scrub(f"{type(exc).__name__}: {exc}", self.url)) from None
        self.up = True

    def on_up(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` each time Redis comes back (shared state resumes: resubscribe, resync)."""
        self._listeners.append(callback)

    def failed(self, exc: BaseException) -> None:
        """An operation failed: Redis is down until the probe reaches it again."""
        if not self.up:
            return
        self.up = False
        self.outages += 1
        detail = scrub(f"{type(exc).__name__}: {exc}", self.url)
        log.warning("Redis at %s is unreachable (%s); shared state paused, serving per replica", self.shown, detail)
        if self.on_change is not None:
            self.on_change(False, detail)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        # The pooled connections are dead too (a restarted server closed them): drop them all, so
        # the first operation after the probe does not fail on one and take Redis down again.
        with contextlib.suppress(*REDIS_ERRORS):
            await self.client.connection_pool.disconnect()
        while not self.up:
            await asyncio.sleep(PROBE_SECONDS)
            try:
                await self.client.ping()
            except REDIS_ERRORS:
                continue
            self.up = True
        log.warning("Redis at %s is back; shared state resumed", self.shown)
        if self.on_change is not None:
            self.on_change(True, "")
        for callback in self._listeners:
            callback()

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        with contextlib.suppress(*REDIS_ERRORS):
            await self.client.aclose()
