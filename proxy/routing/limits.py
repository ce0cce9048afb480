"""Limits and budgets per access key and per route: requests and tokens per minute, money per
UTC day and month.

Counting happens on the event loop (requests when they start, tokens when they end) except
spend, which the log writer adds once a request is priced. Spend so far today and this month
is read back from the request log at start, so a restart does not reset a budget. Crossing 80%
and 100% of a budget is reported once per period (``on_threshold``).

The engine's ``Limits`` hook (``engine/hooks/limits.py``) uses these counts through
:class:`LimitStore`; :class:`LimitKeeper` is the in-process store.
"""

from __future__ import annotations

import calendar
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from proxy.config.schema import Limits
from proxy.domain.errors import ApiError

WINDOW = 60.0
THRESHOLDS = (0.8, 1.0)


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _month(ts: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(ts))


def seconds_to_next_day(now: float) -> float:
    d = datetime.fromtimestamp(now, UTC)
    return 86400 - (d.hour * 3600 + d.minute * 60 + d.second)


def seconds_to_next_month(now: float) -> float:
    d = datetime.fromtimestamp(now, UTC)
    days = calendar.monthrange(d.year, d.month)[1]
    return (days - d.day) * 86400 + seconds_to_next_day(now)


@dataclass
class _Usage:
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    spend: dict[str, float] = field(default_factory=dict)
    """Spend by period key: ``day:YYYY-MM-DD`` and ``month:YYYY-MM``."""
    reported: set[str] = field(default_factory=set)


class LimitStore(Protocol):
    """Usage per scope (``key:NAME``, ``route:NAME``), shared by every request.

    ``admit`` is awaited (a shared store, such as Redis, counts atomically across replicas there);
    tokens and spend are added without waiting for the store."""

    on_threshold: Callable[[str, str, float, float], None] | None
    """Called with (scope, period, fraction, spent) when spend crosses 80% or 100% of a budget."""

    async def admit(self, scopes: Sequence[tuple[str, Limits]]) -> None:
        """Count one request against every scope, or refuse it (``ApiError`` 429, counted nowhere)."""

    def add_tokens(self, scope: str, count: int) -> None: ...

    def add_spend(self, scope: str, usd: float, limits: Limits, at: float | None = None) -> None:
        """Add spend (from any thread)."""

    def spent(self, scope: str, period: str) -> float: ...


class LimitKeeper:
    """Counts usage per scope (``key:NAME``, ``route:NAME``) and refuses what is over a limit."""

    def __init__(
        self,
        on_threshold: Callable[[str, str, float, float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._scopes: dict[str, _Usage] = {}
        self._lock = threading.Lock()  # spend is added from the log writer thread
        self.on_threshold = on_threshold
        self.clock = clock

    def _usage(self, scope: str) -> _Usage:
        usage = self._scopes.get(scope)
        if usage is None:
            usage = self._scopes[scope] = _Usage()
        return usage

    def check(self, *scopes: tuple[str, Limits]) -> None:
        """Count one request against every scope, or refuse it (then it counts against none).

        Raises:
            ApiError: 429 naming the limit, with Retry-After until it resets.
        """
        now = self.clock()
        live = [(scope, limits) for scope, limits in scopes if not is_unlimited(limits)]
        for scope, limits in live:
            self._verify(scope, limits, now)
        for scope, _ in live:
            self._usage(scope).requests.append(now)

    async def admit(self, scopes: Sequence[tuple[str, Limits]]) -> None:
        self.check(*scopes)

    def _verify(self, scope: str, limits: Limits, now: float) -> None:
        usage = self._usage(scope)
        requests, tokens = usage.requests, usage.tokens
        while requests and requests[0] <= now - WINDOW:
            requests.popleft()
        while tokens and tokens[0][0] <= now - WINDOW:
            tokens.popleft()
        if limits.requests_per_minute is not None and len(requests) >= limits.requests_per_minute:
            wait = requests[0] + WINDOW - now
            raise _limited(scope, f"{limits.requests_per_minute} requests per minute", wait)
        used = sum(n for _, n in tokens)
        if limits.tokens_per_minute is not None and used >= limits.tokens_per_minute:
            wait = tokens[0][0] + WINDOW - now
            raise _limited(scope, f"{limits.tokens_per_minute} tokens per minute ({used} used)", wait)
        with self._lock:
            day = usage.spend.get(f"day:{_day(now)}", 0.0)
            month = usage.spend.get(f"month:{_month(now)}", 0.0)
        if limits.daily_usd is not None and day >= limits.daily_usd:
            raise _limited(
                scope, f"a daily budget of ${limits.daily_usd:g} (${day:.4f} spent)", seconds_to_next_day(now)
            )
        if limits.monthly_usd is not None and month >= limits.monthly_usd:
            raise _limited(
                scope, f"a monthly budget of ${limits.monthly_usd:g} (${month:.4f} spent)", seconds_to_next_month(now)
            )

    def add_tokens(self, scope: str, count: int) -> None:
        if count <= 0:
            return
        now = self.clock()
        tokens = self._usage(scope).tokens
        while tokens and tokens[0][0] <= now - WINDOW:  # keep only the window: memory stays flat
            tokens.popleft()
        tokens.append((now, count))

    def add_spend(self, scope: str, usd: float, limits: Limits, at: float | None = None) -> None:
        """Add spend (any thread); reports 80% and 100% of a budget once per period."""
        if usd <= 0:
            return
        at = self.clock() if at is None else at
        usage = self._usage(scope)
        with self._lock:
            for period, budget in ((f"day:{_day(at)}", limits.daily_usd), (f"month:{_month(at)}", limits.monthly_usd)):
                before = usage.spend.get(period, 0.0)
                after = usage.spend[period] = before + usd
                if budget is None:
                    continue
                for mark in THRESHOLDS:
                    tag = f"{period}:{mark}"
                    if after >= budget * mark and tag not in usage.reported:
                        usage.reported.add(tag)
                        if self.on_threshold is not None:
                            self.on_threshold(scope, period.split(":")[0], mark, after)

    def spent(self, scope: str, period: str) -> float:
        now = self.clock()
        key = f"day:{_day(now)}" if period == "day" else f"month:{_month(now)}"
        with self._lock:
            return self._usage(scope).spend.get(key, 0.0)


LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "daily_usd", "monthly_usd")
"""Every field of :class:`Limits` (a test holds this list to the model)."""


def is_unlimited(limits: Limits) -> bool:
    """``limits == Limits()``: nothing is limited (the default of every key and route), told by
    reading the fields, several times cheaper than comparing models, once per request."""
    return (
        limits.requests_per_minute is None
        and limits.tokens_per_minute is None
        and limits.daily_usd is None
        and limits.monthly_usd is None
    )


def _limited(scope: str, what: str, wait: float) -> ApiError:
    kind, _, name = scope.partition(":")
    seconds = max(1, int(wait + 0.999))
    who = f"access key {name!r}" if kind == "key" else f"route {name!r}"
    return ApiError(
        429,
        f"Switchboard limit reached: {who} is limited to {what}. It resets in {seconds} s.",
        "rate_limit_error",
        code="switchboard_limit",
        headers={"Retry-After": str(seconds)},
    )
