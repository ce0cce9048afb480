"""Prometheus metrics (``GET /metrics``), through prometheus-client's own text exposition.

Counters are updated on the log writer thread from finished records (never on the event loop),
so serving requests pays nothing for them: :class:`Metrics` is a feature hook on ``on_logged``
only. Requests, latency and cost carry the A/B ``variant`` label (empty outside A/B routes), so
variants can be compared in Prometheus as in the log.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from proxy.domain.records import RequestRecord

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """One registry per gateway (tests run several in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("surface", "route", "variant", "provider", "status")
        self.requests = Counter("switchboard_requests", "Requests by outcome.", labels, registry=self.registry)
        self.latency = Histogram(
            "switchboard_request_duration_seconds",
            "End-to-end request latency.",
            ("route", "variant", "provider"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ttfb = Histogram(
            "switchboard_time_to_first_byte_seconds",
            "Time to the first response byte.",
            ("route", "provider"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "switchboard_tokens", "Tokens by direction.", ("route", "provider", "direction"), registry=self.registry
        )
        self.cost = Counter(
            "switchboard_cost_usd", "Spend in US dollars.", ("route", "variant", "provider"), registry=self.registry
        )
        self.attempts = Counter(
            "switchboard_upstream_attempts",
            "Upstream attempts (retries and fallbacks included).",
            ("route",),
            registry=self.registry,
        )
        self.log_dropped = Gauge(
            "switchboard_log_rows_dropped", "Log rows lost (full queue, disk).", registry=self.registry
        )

    def on_logged(self, r: RequestRecord) -> None:
        route, provider, variant = r.route or "", r.provider or "", r.variant or ""
        self.requests.labels(r.surface, route, variant, provider, r.status).inc()
        if r.latency_ms is not None:
            self.latency.labels(route, variant, provider).observe(r.latency_ms / 1000)
        if r.ttfb_ms is not None:
            self.ttfb.labels(route, provider).observe(r.ttfb_ms / 1000)
        if r.tokens_in:
            self.tokens.labels(route, provider, "in").inc(r.tokens_in)
        if r.tokens_out:
            self.tokens.labels(route, provider, "out").inc(r.tokens_out)
        if r.cost:
            self.cost.labels(route, variant, provider).inc(r.cost)
        if r.attempts:
            self.attempts.labels(route).inc(r.attempts)

    def render(self, dropped: int) -> bytes:
        self.log_dropped.set(dropped)
        return generate_latest(self.registry)
