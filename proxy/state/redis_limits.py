"""Limits and budgets shared by every replica: a :class:`~proxy.routing.limits.LimitStore` on Redis.

``admit`` is one EVALSHA (one round trip) that checks every scope of the request and, only when
all pass, counts it: a refused request counts against nothing, as in-process. Time is Redis's
own (``TIME``), so replicas with skewed clocks share one window.

- requests per minute: a sorted set of admission times per scope (a sliding 60 s window, exact);
- tokens per minute: a hash of per-second buckets per scope;
- spend: ``INCRBYFLOAT`` per scope and UTC day / month; the replica whose addition crosses 80% or
  100% of a budget reports it (once across all replicas).

Redis down: ``fail_open`` counts in this replica's own :class:`LimitKeeper` (per-replica limits),
``fail_closed`` refuses requests that have limits with a 503. Tokens and spend are always also
counted locally, so the fallback starts from this replica's recent usage.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from proxy.config.schema import Limits
from proxy.domain.errors import ApiError
from proxy.routing.limits import (
    THRESHOLDS,
    LimitKeeper,
    _day,
    _limited,
    _month,
    seconds_to_next_day,
    seconds_to_next_month,
)
from proxy.state.redis_link import REDIS_ERRORS, RedisLink

log = logging.getLogger(__name__)

_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local req, tok, day, month = KEYS[i*4+1], KEYS[i*4+2], KEYS[i*4+3], KEYS[i*4+4]
  local rpm, tpm, daily, monthly = ARGV[3+i*4], ARGV[4+i*4], ARGV[5+i*4], ARGV[6+i*4]
  if rpm ~= '' then
    redis.call('ZREMRANGEBYSCORE', req, '-inf', now - 60000)
    local c = redis.call('ZCARD', req)
    if c >= tonumber(rpm) then
      local oldest = redis.call('ZRANGE', req, 0, 0, 'WITHSCORES')
      return {i + 1, 'rpm', tostring(c), tostring(tonumber(oldest[2]) + 60000 - now)}
    end
  end
  if tpm ~= '' then
    local cutoff = math.floor(now / 1000) - 60
    local all = redis.call('HGETALL', tok)
    local used, oldest = 0, nil
    for j = 1, #all, 2 do
      local sec = tonumber(all[j])
      if sec <= cutoff then
        redis.call('HDEL', tok, all[j])
      else
        used = used + tonumber(all[j + 1])
        if oldest == nil or sec < oldest then oldest = sec end
      end
    end
    if used >= tonumber(tpm) then
      return {i + 1, 'tpm', tostring(used), tostring((oldest + 61) * 1000 - now)}
    end
  end
  if daily ~= '' then
    local s = tonumber(redis.call('GET', day) or '0')
    if s >= tonumber(daily) then return {i + 1, 'day', tostring(s), '0'} end
  end
  if monthly ~= '' then
    local s = tonumber(redis.call('GET', month) or '0')
    if s >= tonumber(monthly) then return {i + 1, 'month', tostring(s), '0'} end
  end
end
for i = 0, n - 1 do
  if ARGV[3+i*4] ~= '' then
    redis.call('ZADD', KEYS[i*4+1], now, ARGV[1] .. ':' .. i)
    redis.call('PEXPIRE', KEYS[i*4+1], 61000)
  end
end
return {0}
"""

_ENDED = """
-- The usage of the requests that ended in one turn of the event loop, in one round trip.
-- ARGV: n, then per op: kind ('t' tokens: 1 key, or 's' spend: 2 keys), amount. Returns per spend op {day, month}.
local t = redis.call('TIME')
local k, out = 1, {}
for i = 1, tonumber(ARGV[1]) do
  local kind, amount = ARGV[i * 2], ARGV[i * 2 + 1]
  if kind == 't' then
    redis.call('HINCRBY', KEYS[k], t[1], amount)
    redis.call('EXPIRE', KEYS[k], 120)
    k = k + 1
  else
    local d = redis.call('INCRBYFLOAT', KEYS[k], amount)
    redis.call('EXPIRE', KEYS[k], 172800)
    local m = redis.call('INCRBYFLOAT', KEYS[k + 1], amount)
    redis.call('EXPIRE', KEYS[k + 1], 2764800)
    out[#out + 1] = {d, m}
    k = k + 2
  end
end
return out
"""


def _arg(value: float | int | None) -> str:
    return "" if value is None else repr(value)


class RedisLimitStore:
    """Usage per scope in Redis, shared by every replica (see the module doc)."""

    shared = True
    """Spend lives in Redis: the engine does not read it back from this replica's local log."""

    def __init__(self, link: RedisLink, *, fail_closed: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.link = link
        self.fail_closed = fail_closed
        self.local = LimitKeeper(clock=clock)
        self.clock = clock
        self.on_threshold: Callable[[str, str, float, float], None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._admit = link.client.register_script(_ADMIT)
        self._ended = link.client.register_script(_ENDED)
        self._pending: list[tuple[str, str, float, Limits | None, float]] = []
        """Tokens and spend added in this turn of the loop, sent together (one round trip)."""
        self._ids = itertools.count()
        self._tag = os.urandom(6).hex()
        self._tasks: set[asyncio.Future[Any]] = set()
        self.admitted = 0
        self.refused = 0
        self.fallbacks = 0

    def _keys(self, scope: str, now: float) -> list[str]:
        k = self.link.key
        return [
            k("rl", scope, "req"),
            k("rl", scope, "tok"),
            k("spend", scope, _day(now)),
            k("spend", scope, _month(now)),
        ]

    async def admit(self, scopes: Sequence[tuple[str, Limits]]) -> None:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        if not self.link.up:
            return self._fallback(scopes)
        now = self.clock()
        keys: list[str] = []
        args: list[str] = [f"{self._tag}:{next(self._ids)}", str(len(scopes))]
        for scope, limits in scopes:
            keys += self._keys(scope, now)
            args += [
                _arg(limits.requests_per_minute),
                _arg(limits.tokens_per_minute),
                _arg(limits.daily_usd),
                _arg(limits.monthly_usd),
            ]
        try:
            result = await self._admit(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            self.link.failed(exc)
            return self._fallback(scopes)
        if int(result[0]) == 0:
            self.admitted += 1
            return None
        self.refused += 1
        scope, limits = scopes[int(result[0]) - 1]
        raise self._refusal(scope, limits, result[1].decode(), float(result[2]), float(result[3]) / 1000, now)

    def _fallback(self, scopes: Sequence[tuple[str, Limits]]) -> None:
        self.fallbacks += 1
        if self.fail_closed:
            raise ApiError(
                503,
                "Switchboard cannot check this request's shared limits: Redis is unreachable "
                "(state.on_redis_down is fail_closed). Try again shortly.",
                "server_error",
                code="limits_unavailable",
                headers={"Retry-After": "1"},
            )
        self.local.check(*scopes)

    @staticmethod
    def _refusal(scope: str, limits: Limits, kind: str, value: float, wait: float, now: float) -> ApiError:
        if kind == "rpm":
            return _limited(scope, f"{limits.requests_per_minute} requests per minute", wait)
        if kind == "tpm":
            return _limited(scope, f"{limits.tokens_per_minute} tokens per minute ({int(value)} used)", wait)
        if kind == "day":
            return _limited(
                scope, f"a daily budget of ${limits.daily_usd:g} (${value:.4f} spent)", seconds_to_next_day(now)
            )
        return _limited(
            scope, f"a monthly budget of ${limits.monthly_usd:g} (${value:.4f} spent)", seconds_to_next_month(now)
        )

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def add_tokens(self, scope: str, count: int) -> None:
        """On the event loop, without waiting for Redis."""
        if count <= 0:
            return
        self.local.add_tokens(scope, count)
        self._queue(("t", scope, float(count), None, 0.0))

    def add_spend(self, scope: str, usd: float, limits: Limits, at: float | None = None) -> None:
        """Counted locally now, in Redis with the other additions of this turn of the loop."""
        if usd <= 0:
            return
        at = self.clock() if at is None else at
        self.local.add_spend(scope, usd, limits, at)
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._queue(("s", scope, usd, limits, at))
        else:  # another thread
            loop.call_soon_threadsafe(self._queue, ("s", scope, usd, limits, at))

    def _queue(self, op: tuple[str, str, float, Limits | None, float]) -> None:
        if not self.link.up:
            return
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        if not self._pending:
            self.loop.call_soon(self._flush)
        self._pending.append(op)

    def _flush(self) -> None:
        ops, self._pending = self._pending, []
        if ops and self.link.up:
            self._background(self._send(ops))

    async def _send(self, ops: list[tuple[str, str, float, Limits | None, float]]) -> None:
        keys: list[str] = []
        args: list[str] = [str(len(ops))]
        for kind, scope, amount, _, at in ops:
            if kind == "t":
                keys.append(self.link.key("rl", scope, "tok"))
                args += ["t", str(int(amount))]
            else:
                keys += self._keys(scope, at)[2:]
                args += ["s", repr(amount)]
        try:
            results = await self._ended(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            self.link.failed(exc)
            return
        spends = [op for op in ops if op[0] == "s"]
        for (_, scope, usd, limits, _), (day, month) in zip(spends, results, strict=False):
            assert limits is not None
            self._crossed(scope, usd, limits, float(day), float(month))

    def _crossed(self, scope: str, usd: float, limits: Limits, day: float, month: float) -> None:
        """Report a budget threshold this addition crossed (the replica that crossed it reports it)."""
        for period, after, budget in (("day", day, limits.daily_usd), ("month", month, limits.monthly_usd)):
            if budget is None or self.on_threshold is None:
                continue
            before = after - usd
            for mark in THRESHOLDS:
                if before < budget * mark <= after:
                    self.on_threshold(scope, period, mark, after)

    def spent(self, scope: str, period: str) -> float:
        return self.local.spent(scope, period)

    async def drain(self) -> None:
        """Wait for the additions on their way to Redis (stop, tests)."""
        self._flush()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
