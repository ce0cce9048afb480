"""Prometheus metrics (``GET /metrics``), through prometheus-client's own text exposition.

Per-request counters and histograms are updated when the request ends (``on_ended``, on the event
loop: a few label lookups and increments, no I/O), except spend, which is known only once the log
writer has priced the record (``on_logged``, on its thread). Requests, latency and cost carry the
A/B ``variant`` label (empty outside A/B routes) and the upstream ``model``; the access-key label
``client`` is off by default (it multiplies the series by the number of keys) and is switched on
with ``telemetry.prometheus_client_label`` (read at start).

The state of the gateway (requests in flight per target, breaker state per target, cache entries,
budget used per limit, log rows dropped, and the management requests that are not logged) is
read at scrape time from a :class:`MetricState` the ``/metrics`` handler gathers. No ``_created``
series are exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics import disable_created_metrics
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from proxy.config.schema import GatewayConfig
from proxy.domain.exchange import Exchange
from proxy.domain.records import RequestRecord

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series: they double the series count and nobody graphs them

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

BREAKER_STATES = {"healthy": 0, "probing": 1, "cooling": 2}
"""``switchboard_target_breaker_state``: 0 closed (healthy), 1 half-open (a probe may go), 2 open."""

EXPORTED = (
    "switchboard_requests_total",
    "switchboard_request_duration_seconds",
    "switchboard_time_to_first_byte_seconds",
    "switchboard_tokens_total",
    "switchboard_cost_usd_total",
    "switchboard_upstream_attempts_total",
    "switchboard_unlogged_requests_total",
    "switchboard_log_rows_dropped_total",
    "switchboard_in_flight",
    "switchboard_target_in_flight",
    "switchboard_target_breaker_state",
    "switchboard_cache_entries",
    "switchboard_budget_used_usd",
    "switchboard_budget_limit_usd",
    "switchboard_otel_spans_dropped_total",
)
"""Every metric family name ``/metrics`` exposes (histograms add ``_bucket``, ``_sum``, ``_count``);
the Grafana dashboard's test holds its queries to this list."""


@dataclass(frozen=True, slots=True)
class Budget:
    scope: str
    """``key:<name>`` or ``route:<name>``."""
    period: str
    """``day`` or ``month``."""
    used: float
    limit: float


@dataclass(slots=True)
class MetricState:
    """The gateway's state at scrape time (gathered on the event loop by the ``/metrics`` handler)."""

    log_rows_dropped: int = 0
    in_flight: int = 0
    targets: Mapping[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    """(provider, model) -> (requests in flight, breaker state name)."""
    cache_entries: int | None = None
    budgets: Sequence[Budget] = ()
    otel_spans_dropped: int | None = None
    """Spans the OTLP exporter lost (``None``: export is off)."""


class Metrics:
    """One registry per gateway (tests run several in one process)."""

    def __init__(self) -> None:
        self.client_label = False
        self._build()

    def _build(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        extra = ("client",) if self.client_label else ()
        self.requests = Counter(
            "switchboard_requests",
            "Requests by outcome.",
            ("surface", "route", "variant", "provider", "model", "status", *extra),
            registry=self.registry,
        )
        self.latency = Histogram(
            "switchboard_request_duration_seconds",
            "End-to-end request latency.",
            ("route", "variant", "provider", "model", *extra),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ttfb = Histogram(
            "switchboard_time_to_first_byte_seconds",
            "Time to the first response byte.",
            ("route", "provider", "model"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "switchboard_tokens",
            "Tokens by direction.",
            ("route", "provider", "model", "direction", *extra),
            registry=self.registry,
        )
        self.cost = Counter(
            "switchboard_cost_usd",
            "Spend in US dollars.",
            ("route", "variant", "provider", "model", *extra),
            registry=self.registry,
        )
        self.attempts = Counter(
            "switchboard_upstream_attempts",
            "Upstream attempts (retries and fallbacks included).",
            ("route",),
            registry=self.registry,
        )
        self.unlogged = Counter(
            "switchboard_unlogged_requests",
            "Requests to /health, /metrics and /switchboard/status (never written to the request log).",
            ("endpoint",),
            registry=self.registry,
        )
        self.state = MetricState()
        self.registry.register(_StateCollector(self))

    async def start(self, config: GatewayConfig) -> None:
        wanted = config.telemetry.prometheus_client_label
        if wanted != self.client_label:
            self.client_label = wanted
            self._build()

    def on_ended(self, ex: Exchange, r: RequestRecord) -> None:
        route, provider, variant, model = r.route or "", r.provider or "", r.variant or "", r.upstream_model or ""
        extra = (r.client or "",) if self.client_label else ()
        self.requests.labels(r.surface, route, variant, provider, model, r.status, *extra).inc()
        if r.latency_ms is not None:
            self.latency.labels(route, variant, provider, model, *extra).observe(r.latency_ms / 1000)
        if r.ttfb_ms is not None:
            self.ttfb.labels(route, provider, model).observe(r.ttfb_ms / 1000)
        if r.tokens_in:
            self.tokens.labels(route, provider, model, "in", *extra).inc(r.tokens_in)
        if r.tokens_out:
            self.tokens.labels(route, provider, model, "out", *extra).inc(r.tokens_out)
        if r.attempts:
            self.attempts.labels(route).inc(r.attempts)

    def on_logged(self, r: RequestRecord) -> None:
        """Spend is known once the writer priced the record."""
        if r.cost:
            extra = (r.client or "",) if self.client_label else ()
            self.cost.labels(r.route or "", r.variant or "", r.provider or "", r.upstream_model or "", *extra).inc(
                r.cost
            )

    def count_unlogged(self, endpoint: str) -> None:
        self.unlogged.labels(endpoint).inc()

    def render(self, state: MetricState | int | None = None) -> bytes:
        """The exposition text; ``state`` is the gateway's state now (an int: only the dropped rows)."""
        if isinstance(state, int):
            state = MetricState(log_rows_dropped=state)
        self.state = state or MetricState()
        return generate_latest(self.registry)


class _StateCollector:
    """Gauges (and the dropped-rows counter) read from the last :class:`MetricState`."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        s = self.metrics.state
        yield CounterMetricFamily(
            "switchboard_log_rows_dropped", "Log rows lost (full queue, disk).", value=s.log_rows_dropped
        )
        yield GaugeMetricFamily("switchboard_in_flight", "Requests being served now.", value=s.in_flight)
        in_flight = GaugeMetricFamily(
            "switchboard_target_in_flight", "Upstream calls in flight per target.", labels=("provider", "model")
        )
        breaker = GaugeMetricFamily(
            "switchboard_target_breaker_state",
            "Circuit breaker per target: 0 closed (healthy), 1 half-open (probing), 2 open (cooling down).",
            labels=("provider", "model"),
        )
        for (provider, model), (count, state) in sorted(s.targets.items()):
            in_flight.add_metric((provider, model), count)
            breaker.add_metric((provider, model), BREAKER_STATES.get(state, 0))
        yield in_flight
        yield breaker
        if s.cache_entries is not None:
            yield GaugeMetricFamily("switchboard_cache_entries", "Answers in the cache.", value=s.cache_entries)
        used = GaugeMetricFamily(
            "switchboard_budget_used_usd", "Spend so far in the budget's period.", labels=("scope", "period")
        )
        limit = GaugeMetricFamily("switchboard_budget_limit_usd", "The budget.", labels=("scope", "period"))
        for b in s.budgets:
            used.add_metric((b.scope, b.period), b.used)
            limit.add_metric((b.scope, b.period), b.limit)
        yield used
        yield limit
        if s.otel_spans_dropped is not None:
            yield CounterMetricFamily(
                "switchboard_otel_spans_dropped",
                "Spans the OTLP exporter dropped (queue full, collector down or slow).",
                value=s.otel_spans_dropped,
            )
