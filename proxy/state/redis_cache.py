"""The response cache shared by every replica: a :class:`~proxy.cache.store.CacheStore` on Redis.

Keyed exactly as the in-process cache (``proxy.cache.keys.cache_key``); each entry expires after
its route's TTL (``PX``), and a per-route sorted set by time stored bounds the route to its
``max_entries`` (the oldest go first; the in-process cache drops the least recently used: a get
here is one plain ``GET``, the key alone does not name its route). A get is one ``GET`` and a put
one script (one round trip each). Redis down: a get answers ``None`` (the request goes upstream) and a put is skipped.
"""

from __future__ import annotations

import asyncio
from typing import Any

from proxy.state.redis_link import REDIS_ERRORS, RedisLink

_PUT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]) / 1000)
local n = redis.call('ZCARD', KEYS[2])
local max = tonumber(ARGV[3])
if n > max then
  local old = redis.call('ZRANGE', KEYS[2], 0, n - max - 1)
  redis.call('DEL', unpack(old))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - max - 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return n
"""


class RedisCacheStore:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self._put = link.client.register_script(_PUT)
        self._tasks: set[asyncio.Future[Any]] = set()

    def _keys(self, key: str, route: str) -> list[str]:
        return [self.link.key("cache", key), self.link.key("cache-lru", route)]

    async def get(self, key: str) -> bytes | None:
        if not self.link.up:
            return None
        try:
            value = await self.link.client.get(self.link.key("cache", key))
        except REDIS_ERRORS as exc:
            self.link.failed(exc)
            return None
        if value is None:
            return None
        return value.encode() if isinstance(value, str) else bytes(value)

    def put(self, key: str, route: str, body: bytes, ttl: float, max_entries: int) -> None:
        if not self.link.up:
            return
        task = asyncio.ensure_future(self._store(key, route, body, ttl, max_entries))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store(self, key: str, route: str, body: bytes, ttl: float, max_entries: int) -> None:
        try:
            await self._put(keys=self._keys(key, route), args=[body, max(1, int(ttl * 1000)), max_entries])
        except REDIS_ERRORS as exc:
            self.link.failed(exc)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
