"""What the dashboard shows, read from the request log (blocking: the desktop runs it on a worker).

:func:`load` reads one time range through :mod:`proxy.storage.stats` (its own read-only
connection) and the month's spend through :func:`proxy.storage.request_log.month_spend`, and
returns one immutable :class:`DashboardData` that crosses to the GUI thread whole, with what the
providers' prompt caches saved per route and provider (:func:`prompt_cache_savings`).

Time buckets are aligned to the local clock (whole minutes, hours, local midnights), and every
bucket of the range is present, empty ones included, so a chart's x axis is continuous. Budgets
follow the limits module: days and months are UTC.
"""

from __future__ import annotations

import calendar
import contextlib
import math
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from proxy.config.schema import GatewayConfig
from proxy.domain.pricing import PriceRef, cost_usd
from proxy.storage.request_log import _connect_ro, month_spend
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
    prompt_cache_saved: Mapping[str, float] = field(default_factory=dict)
    """US dollars the providers' prompt caches saved, per route (:func:`prompt_cache_savings`)."""
    prompt_cache_saved_by_provider: Mapping[str, float] = field(default_factory=dict)


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


def prompt_cache_savings(
    path: Path, config: GatewayConfig | None, since: float
) -> tuple[dict[str, float], dict[str, float]]:
    """What prompt caching saved since ``since``, in US dollars per route and per provider: for each
    (route, provider, model), the price of its requests' input as if nothing had been cached, less
    the price paid (cache reads cheaper, cache writes dearer; genai-prices' rates), priced at the
    group's average request so tiered prices apply as they would have. Response-cache hits are left
    out (their saving is ``cost_saved``); models without a known price add nothing."""
    refs = {p.id: (p.preset, p.effective_base_url) for p in config.providers} if config is not None else {}
    conn = _connect_ro(path)
    if conn is None or not refs:
        return {}, {}
    with contextlib.closing(conn):
        try:
            rows = conn.execute(
                "SELECT route, provider, upstream_model, COUNT(*), SUM(tokens_in), SUM(tokens_cached), "
                "SUM(tokens_cache_write) FROM requests WHERE started_at >= ? AND status != 'in_progress' "
                "AND (cache IS NULL OR cache != 'hit') AND (tokens_cached > 0 OR tokens_cache_write > 0) "
                "GROUP BY route, provider, upstream_model",
                (since,),
            ).fetchall()
        except sqlite3.OperationalError:  # a log older than the cache-write column: nothing to show yet
            return {}, {}
    by_route: dict[str, float] = {}
    by_provider: dict[str, float] = {}
    for route, provider, model, n, tokens_in, cached, written in rows:
        if provider not in refs or not model or not n:
            continue
        ref = PriceRef(*refs[provider], model)
        avg_in, avg_cached, avg_written = (tokens_in or 0) // n, (cached or 0) // n, (written or 0) // n
        plain = cost_usd(ref, avg_in, 0, None)
        paid = cost_usd(ref, avg_in, 0, avg_cached or None, avg_written or None)
        if plain is None or paid is None:
            continue
        saved = (plain - paid) * n
        by_route[route or ""] = by_route.get(route or "", 0.0) + saved
        by_provider[provider] = by_provider.get(provider, 0.0) + saved
    return by_route, by_provider


def load(path: Path, config: GatewayConfig | None, range_key: str, now: float | None = None) -> DashboardData:
    """Everything the dashboard shows for one range (blocking: call it on a worker thread)."""
    now = time.time() if now is None else now
    r = RANGES[range_key]
    since = window(r, now)
    starts = tuple(since + i * r.bucket_seconds for i in range(r.count))
    found = {b.start: b for b in buckets(path, since, r.bucket_seconds)}
    series = tuple(found.get(s) or Bucket(s, "") for s in starts)
    today, month, lines = budgets_of(config, path, now)
    prompt_saved, prompt_saved_by_provider = prompt_cache_savings(path, config, since)
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
        prompt_cache_saved=prompt_saved,
        prompt_cache_saved_by_provider=prompt_saved_by_provider,
    )
