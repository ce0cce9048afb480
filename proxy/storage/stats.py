"""Aggregates over the request log, for the dashboard and ``switchboard stats``.

Each query opens its own read-only connection (never the writer's) and reads one time window:
requests, errors, latency percentiles, tokens, cost and what fallbacks and the cache saved, per
time bucket and per group (route, provider or nothing). Percentiles are computed here from the
window's latencies (SQLite has no percentile function); a window is bounded by ``since``, so the
work is bounded too.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from proxy.storage.request_log import _connect_ro

GroupBy = Literal["route", "provider", "none"]
FAILED = ("upstream_error", "timeout", "cut", "error", "interrupted")
"""Statuses that count as errors (the gateway's or the upstream's fault, not the client's)."""


@dataclass
class Bucket:
    start: float
    """Unix time the bucket starts at."""
    group: str
    requests: int = 0
    errors: int = 0
    rejected: int = 0
    fallbacks: int = 0
    """Requests that succeeded after more than one attempt."""
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    """US dollars, summed over the requests whose cost is known (an unknown cost adds nothing)."""
    priced: int = 0
    """Requests whose cost is known (0 included: the demo, a local server, a cache hit)."""
    cost_saved: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def price_unknown(self) -> bool:
        """No request here had a known price, yet some used tokens: :attr:`cost` 0 means "unknown",
        not "free"."""
        return self.priced == 0 and self.tokens_in + self.tokens_out > 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "group": self.group,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "rejected": self.rejected,
            "fallbacks": self.fallbacks,
            "cache_hits": self.cache_hits,
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost": round(self.cost, 6),
            "cost_saved": round(self.cost_saved, 6),
        }


def buckets(path: Path, since: float, bucket_seconds: float, group_by: GroupBy = "none") -> list[Bucket]:
    """Per-bucket, per-group aggregates of requests that started at or after ``since``, oldest
    bucket first. Rows still ``in_progress`` are left out."""
    if bucket_seconds <= 0:
        raise ValueError("bucket_seconds must be positive")
    conn = _connect_ro(path)
    if conn is None:
        return []
    column = {"route": "route", "provider": "provider", "none": "''"}[group_by]
    with contextlib.closing(conn):
        rows = conn.execute(
            f"SELECT started_at, {column}, status, attempts, cache, tokens_in, tokens_out, cost, cost_saved, "
            "latency_ms FROM requests WHERE started_at >= ? AND status != 'in_progress' ORDER BY started_at",
            (since,),
        )
        return aggregate(rows, since, bucket_seconds)


def aggregate(rows: Iterable[Sequence[Any]], since: float, bucket_seconds: float) -> list[Bucket]:
    """Buckets from rows of (started_at, group, status, attempts, cache, tokens_in, tokens_out,
    cost, cost_saved, latency_ms), oldest first (the team log in PostgreSQL reads the same columns)."""
    out: dict[tuple[float, str], Bucket] = {}
    for started, group, status, attempts, cache, t_in, t_out, cost, saved, latency in rows:
        start = since + math.floor((started - since) / bucket_seconds) * bucket_seconds
        key = (start, group or "")
        bucket = out.get(key)
        if bucket is None:
            bucket = out[key] = Bucket(start, group or "")
        bucket.requests += 1
        if status in FAILED:
            bucket.errors += 1
        elif status == "rejected":
            bucket.rejected += 1
        elif status == "ok" and (attempts or 0) > 1:
            bucket.fallbacks += 1
        if cache == "hit":
            bucket.cache_hits += 1
        bucket.tokens_in += t_in or 0
        bucket.tokens_out += t_out or 0
        bucket.cost += cost or 0.0
        if cost is not None:
            bucket.priced += 1
        bucket.cost_saved += saved or 0.0
        if latency is not None and status == "ok":
            bucket.latencies.append(latency)
    return [out[k] for k in sorted(out)]


def totals(path: Path, since: float, group_by: GroupBy = "none") -> list[Bucket]:
    """One bucket per group for the whole window since ``since``, busiest group first."""
    return sorted(buckets(path, since, 10.0**12, group_by), key=lambda b: (-b.requests, b.group))
