"""What the dashboard shows, read from the request log (blocking: the desktop runs it on a worker).

:func:`load` reads one time range through :mod:`proxy.storage.stats` (its own read-only
connection) and the month's spend through :func:`proxy.storage.request_log.month_spend`, and
returns one immutable :class:`DashboardData` that crosses to the GUI thread whole.

Time buckets are aligned to the local clock (whole minutes, hours, local midnights), and every
bucket of the range is present, empty ones included, so a chart's x axis is continuous. Budgets
follow the limits module: days and months are UTC.
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass
from pathlib import Path

from proxy.config.schema import GatewayConfig
from proxy.storage.request_log import month_spend
from proxy.storage.stats import Bucket, buckets, totals


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    bucket_seconds: int
    count: int


RANGES = {
    "hour": Range("hour", "Last hour", 60, 60),
    "day": Range("day", "Last 24 hours", 3600, 24),
    "month": Range("month", "Last 30 days", 86400, 30),
}


@dataclass(frozen=True)
class BudgetLine:
    """Spend against one configured budget."""

    label: str
    """Who the budget is for, for people: ``route gpt-4o`` or ``key default``."""
    period: str
    """``day`` or ``month`` (UTC)."""
    spent: float
    limit: float

    @property
    def fraction(self) -> float:
        return self.spent / self.limit if self.limit > 0 else 0.0


@dataclass(frozen=True)
class DashboardData:
    range: Range
    since: float
    starts: tuple[float, ...]
    series: tuple[Bucket, ...]
    """One bucket per start (empty ones included), all groups together."""
    total: Bucket
    by_route: tuple[Bucket, ...]
    by_provider: tuple[Bucket, ...]
    spent_today: float
    spent_month: float
    budgets: tuple[BudgetLine, ...]
    loaded_at: float


def window(r: Range, now: float) -> float:
    """The start of the range ending with the bucket that holds ``now``, on local clock lines."""
    offset = -time.localtime(now).tm_gmtoff  # local time = UTC + gmtoff
    current = math.floor((now - offset) / r.bucket_seconds) * r.bucket_seconds + offset
    return current - (r.count - 1) * r.bucket_seconds


def _merge(parts: list[Bucket], start: float) -> Bucket:
    merged = Bucket(start, "")
    for b in parts:
        merged.requests += b.requests
        merged.errors += b.errors
        merged.rejected += b.rejected
        merged.fallbacks += b.fallbacks
        merged.cache_hits += b.cache_hits
        merged.tokens_in += b.tokens_in
        merged.tokens_out += b.tokens_out
        merged.cost += b.cost
        merged.priced += b.priced
        merged.cost_saved += b.cost_saved
        merged.latencies.extend(b.latencies)
    return merged


def budgets_of(config: GatewayConfig | None, path: Path, now: float) -> tuple[float, float, list[BudgetLine]]:
    """(spent today, spent this month, one line per configured daily or monthly budget); UTC."""
    rows = month_spend(path)
    gm = time.gmtime(now)
    day_start = calendar.timegm((gm.tm_year, gm.tm_mon, gm.tm_mday, 0, 0, 0))
    today = sum(cost for _c, _r, at, cost in rows if at >= day_start)
    month = sum(cost for *_x, cost in rows)
    lines: list[BudgetLine] = []
    if config is None:
        return today, month, lines
    scopes = [(f"key {name}", "client", name, limits) for name, limits in sorted(config.key_limits.items())]
    scopes += [(f"route {r.name}", "route", r.name, r.limits) for r in config.routes]
    for label, column, name, limits in scopes:
        mine = [(at, cost) for client, route, at, cost in rows if (client if column == "client" else route) == name]
        if limits.daily_usd is not None:
            lines.append(BudgetLine(label, "day", sum(c for at, c in mine if at >= day_start), limits.daily_usd))
        if limits.monthly_usd is not None:
            lines.append(BudgetLine(label, "month", sum(c for _at, c in mine), limits.monthly_usd))
    return today, month, lines


def load(path: Path, config: GatewayConfig | None, range_key: str, now: float | None = None) -> DashboardData:
    """Everything the dashboard shows for one range (blocking: call it on a worker thread)."""
    now = time.time() if now is None else now
    r = RANGES[range_key]
    since = window(r, now)
    starts = tuple(since + i * r.bucket_seconds for i in range(r.count))
    found = {b.start: b for b in buckets(path, since, r.bucket_seconds)}
    series = tuple(found.get(s) or Bucket(s, "") for s in starts)
    today, month, lines = budgets_of(config, path, now)
    return DashboardData(
        range=r,
        since=since,
        starts=starts,
        series=series,
        total=_merge(list(series), since),
        by_route=tuple(totals(path, since, "route")),
        by_provider=tuple(totals(path, since, "provider")),
        spent_today=today,
        spent_month=month,
        budgets=tuple(lines),
        loaded_at=now,
    )
