"""The OTLP exporter: spans and metrics built from finished requests on one background thread.

Imported only when export is on (it needs the ``telemetry`` extra: opentelemetry-sdk and
opentelemetry-exporter-otlp-proto-http). The event loop's only cost is :meth:`Exporter.submit`, an
append to a bounded deque. The thread takes up to :data:`BATCH` requests at a time (or what came
within :data:`LINGER` seconds), builds a server span and one client span per attempt for each
(with the ids already chosen on the loop, so a ``traceparent`` sent upstream names the real span),
records the GenAI metrics, and exports the batch. A collector that is down or slow costs a
warning and the :attr:`Exporter.dropped` count: the queue is bounded at :data:`QUEUE_BOUND`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from proxy.domain.pricing import cost_usd
from proxy.domain.records import OK
from proxy.engine.otel.settings import OtelSettings
from proxy.engine.otel.trace import RequestTrace

log = logging.getLogger(__name__)

QUEUE_BOUND = 2048
BATCH = 256
LINGER = 1.0

TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TTFC_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""The GenAI semantic conventions' explicit bucket boundaries."""

PROVIDER_NAMES = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "gemini-openai": "gcp.gemini",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "xai": "x_ai",
}
"""Our presets -> ``gen_ai.provider.name`` well-known values; others are named by their preset."""

_SCOPE = InstrumentationScope("switchboard", "0.1.0")


class Exporter:
    def __init__(self, settings: OtelSettings) -> None:
        self.settings = settings
        self.dropped = 0
        """Spans lost: a full queue, or a failed export (the collector down or slow)."""
        self.exported = 0
        self._queue: deque[RequestTrace] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._warned = False
        attributes = {**settings.resource, "service.name": settings.service_name}
        self.resource = Resource.create(attributes)
        self.spans: OTLPSpanExporter | None = None
        if settings.traces_endpoint:
            self.spans = OTLPSpanExporter(
                endpoint=settings.traces_endpoint, headers=dict(settings.headers), timeout=settings.timeout
            )
        self.meters: MeterProvider | None = None
        if settings.metrics_endpoint:
            reader = PeriodicExportingMetricReader(
                OTLPMetricExporter(
                    endpoint=settings.metrics_endpoint, headers=dict(settings.headers), timeout=settings.timeout
                ),
                export_interval_millis=settings.metric_interval * 1000,
                export_timeout_millis=settings.timeout * 1000,
            )
            views = [
                View(
                    instrument_name="gen_ai.client.token.usage",
                    aggregation=ExplicitBucketHistogramAggregation(TOKEN_BUCKETS),
                ),
                View(
                    instrument_name="gen_ai.client.operation.duration",
                    aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS),
                ),
                View(
                    instrument_name="gen_ai.client.operation.time_to_first_chunk",
                    aggregation=ExplicitBucketHistogramAggregation(TTFC_BUCKETS),
                ),
            ]
            self.meters = MeterProvider(resource=self.resource, metric_readers=[reader], views=views)
            meter = self.meters.get_meter("switchboard", "0.1.0")
            self.token_usage = meter.create_histogram(
                "gen_ai.client.token.usage", unit="{token}", description="Number of input and output tokens used."
            )
            self.duration = meter.create_histogram(
                "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration."
            )
            self.ttfc = meter.create_histogram(
                "gen_ai.client.operation.time_to_first_chunk", unit="s", description="Time to the first chunk."
            )
            self.requests = meter.create_counter("switchboard.requests", unit="{request}", description="Requests.")
            self.attempts = meter.create_counter(
                "switchboard.upstream.attempts", unit="{attempt}", description="Upstream attempts."
            )
            self.cost = meter.create_counter("switchboard.cost", unit="USD", description="Spend in US dollars.")
        self._thread = threading.Thread(target=self._run, name="switchboard-otel", daemon=True)
        self._thread.start()

    # -- the loop's side ---------------------------------------------------------------------------

    def submit(self, trace: RequestTrace) -> None:
        """Never blocks: a full queue drops the request's spans and counts them."""
        if len(self._queue) >= QUEUE_BOUND:
            self.dropped += 1 + len(trace.attempts) if trace.sampled else 0
            self._warn("the OTLP export queue is full")
            return
        self._queue.append(trace)
        if len(self._queue) >= BATCH:
            self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is empty and the last batch went out (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while (self._queue or self._busy) and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue and not self._busy

    def shutdown(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(self.settings.timeout + 2)
        if self.meters is not None:
            self.meters.shutdown(timeout_millis=self.settings.timeout * 1000)
        if self.spans is not None:
            self.spans.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped

    # -- the thread ------------------------------------------------------------------------------

    _busy = False

    def _run(self) -> None:
        while True:
            self._wake.wait(LINGER)
            self._wake.clear()
            stopping = self._stopping
            while self._queue:
                self._busy = True
                batch: list[RequestTrace] = []
                while self._queue and len(batch) < BATCH:
                    batch.append(self._queue.popleft())
                try:
                    self._export(batch)
                except Exception:  # a bug must not stop telemetry silently, nor the gateway at all
                    self.dropped += sum(1 + len(t.attempts) for t in batch)
                    log.exception("building or exporting spans failed")
                finally:
                    self._busy = False
            if stopping:
                return

    def _export(self, batch: list[RequestTrace]) -> None:
        spans: list[ReadableSpan] = []
        counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for trace in batch:
            if self.meters is not None:
                self._record(trace, counts)
            if self.spans is not None and trace.sampled:
                spans += self._spans(trace)
        for (name, attrs), amount in counts.items():  # one add per series and batch, not per request
            getattr(self, name).add(amount, dict(attrs))
        if self.spans is None or not spans:
            return
        result = self.spans.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
            if self._warned:
                log.info("OTLP export to %s works again", self.settings.traces_endpoint)
                self._warned = False
        else:
            self.dropped += len(spans)
            self._warn(f"exporting spans to {self.settings.traces_endpoint} failed")

    def _warn(self, what: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("%s; spans are dropped (switchboard_otel_spans_dropped_total) until it works", what)

    # -- building ------------------------------------------------------------------------------

    def _common(self, trace: RequestTrace) -> dict[str, Any]:
        r = trace.record
        assert r is not None
        attrs: dict[str, Any] = {"gen_ai.operation.name": trace.operation}
        if r.requested_model:
            attrs["gen_ai.request.model"] = r.requested_model
        for name, value in trace.params.items():
            attrs[f"gen_ai.request.{name}"] = value
        return attrs

    def _spans(self, trace: RequestTrace) -> list[ReadableSpan]:
        r = trace.record
        assert r is not None
        common = self._common(trace)
        state = TraceState.from_header([trace.tracestate]) if trace.tracestate else TraceState()
        flags = TraceFlags(TraceFlags.SAMPLED)
        server_ctx = SpanContext(trace.trace_id, trace.span_id, False, flags, state)
        parent = SpanContext(trace.trace_id, trace.parent_span_id, True, flags, state) if trace.parent_span_id else None
        attrs = dict(common)
        attrs["gen_ai.request.stream"] = r.stream
        if r.provider:
            attrs["gen_ai.provider.name"] = self._provider_name(trace, r.provider)
        if trace.response_model or r.upstream_model:
            attrs["gen_ai.response.model"] = trace.response_model or r.upstream_model
        if trace.response_id:
            attrs["gen_ai.response.id"] = trace.response_id
        if trace.finish_reasons:
            attrs["gen_ai.response.finish_reasons"] = tuple(dict.fromkeys(trace.finish_reasons))
        for attr, value in (
            ("gen_ai.usage.input_tokens", r.tokens_in),
            ("gen_ai.usage.output_tokens", r.tokens_out),
            ("gen_ai.usage.cache_read.input_tokens", r.tokens_cached),
            ("gen_ai.usage.cache_creation.input_tokens", r.tokens_cache_write),
            ("switchboard.route", r.route),
            ("switchboard.variant", r.variant),
            ("switchboard.cache", r.cache),
            ("switchboard.client", r.client),
            ("switchboard.request_id", r.id),
            ("switchboard.status", r.status),
            ("switchboard.surface", r.surface),
            ("switchboard.attempts", r.attempts),
            ("http.response.status_code", r.http_status),
        ):
            if value is not None:
                attrs[attr] = value
        if r.ttfb_ms is not None:
            attrs["gen_ai.response.time_to_first_chunk"] = r.ttfb_ms / 1000
        cost = self._cost(trace)
        if cost is not None:
            attrs["switchboard.cost_usd"] = cost
        if r.status != OK:
            attrs["error.type"] = r.status if r.http_status < 400 else str(r.http_status)
        if self.settings.capture_content:
            if trace.input_messages:
                attrs["gen_ai.input.messages"] = trace.input_messages
            if trace.output_messages:
                attrs["gen_ai.output.messages"] = trace.output_messages
        name = f"{trace.operation} {r.requested_model}" if r.requested_model else f"{r.surface}"
        status = Status(StatusCode.ERROR, r.error or r.status) if r.status != OK else Status(StatusCode.UNSET)
        events = []
        if r.ttfb_ms is not None:
            events.append(Event("switchboard.first_byte", {}, trace.start_ns + int(r.ttfb_ms * 1_000_000)))
        spans = [
            ReadableSpan(
                name,
                server_ctx,
                parent,
                self.resource,
                attrs,
                events,
                (),
                SpanKind.SERVER,
                status=status,
                start_time=trace.start_ns,
                end_time=trace.end_ns,
                instrumentation_scope=_SCOPE,
            )
        ]
        previous = None
        ordered = sorted(trace.attempts, key=lambda a: a.start_ns)
        for number, attempt in enumerate(ordered, 1):
            a = attempt.record
            assert a is not None
            winner = a.error is None
            a_attrs = dict(common)
            a_attrs["gen_ai.request.model"] = a.model
            a_attrs["gen_ai.provider.name"] = self._provider_name(trace, a.provider)
            a_attrs["switchboard.provider"] = a.provider
            a_attrs["switchboard.attempt.number"] = number
            address = trace.server_address.get(a.provider)
            if address and address[0]:
                a_attrs["server.address"] = address[0]
                if address[1]:
                    a_attrs["server.port"] = address[1]
            if a.status:
                a_attrs["http.response.status_code"] = a.status
            kind = "first"
            if previous is not None:
                p = previous.record
                assert p is not None
                if attempt.start_ns < previous.end_ns:
                    kind = "hedge"
                elif (p.provider, p.model) == (a.provider, a.model):
                    kind = "retry"
                else:
                    kind = "fallback"
                if kind != "hedge" and p.error:
                    a_attrs["switchboard.fallback.reason"] = p.error[:500]
            a_attrs["switchboard.attempt.kind"] = kind
            end = attempt.end_ns
            if winner:
                if r.stream and trace.end_ns > end:
                    end = trace.end_ns  # the answering stream's upstream call lasts until it ends
                if trace.response_id:
                    a_attrs["gen_ai.response.id"] = trace.response_id
                if trace.response_model:
                    a_attrs["gen_ai.response.model"] = trace.response_model
                if trace.finish_reasons:
                    a_attrs["gen_ai.response.finish_reasons"] = tuple(dict.fromkeys(trace.finish_reasons))
                for attr, value in (
                    ("gen_ai.usage.input_tokens", r.tokens_in),
                    ("gen_ai.usage.output_tokens", r.tokens_out),
                    ("gen_ai.usage.cache_read.input_tokens", r.tokens_cached),
                    ("gen_ai.usage.cache_creation.input_tokens", r.tokens_cache_write),
                ):
                    if value is not None:
                        a_attrs[attr] = value
                a_status = Status(StatusCode.UNSET)
            else:
                a_attrs["error.type"] = str(a.status) if a.status else _error_type(a.error)
                a_status = Status(StatusCode.ERROR, a.error[:500] if a.error else None)
            spans.append(
                ReadableSpan(
                    f"{trace.operation} {a.model}",
                    SpanContext(trace.trace_id, attempt.span_id, False, flags, state),
                    server_ctx,
                    self.resource,
                    a_attrs,
                    (),
                    (),
                    SpanKind.CLIENT,
                    status=a_status,
                    start_time=attempt.start_ns,
                    end_time=max(end, attempt.start_ns),
                    instrumentation_scope=_SCOPE,
                )
            )
            previous = attempt
        return spans

    def _provider_name(self, trace: RequestTrace, provider_id: str) -> str:
        known = trace.server_address.get(provider_id)
        preset = known[2] if known else provider_id
        return PROVIDER_NAMES.get(preset, preset)

    def _cost(self, trace: RequestTrace) -> float | None:
        r = trace.record
        assert r is not None
        if r.cache == "hit":
            return 0.0
        try:
            return cost_usd(trace.price, r.tokens_in, r.tokens_out, r.tokens_cached, r.tokens_cache_write)
        except Exception:
            return None

    def _record(self, trace: RequestTrace, counts: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
        r = trace.record
        assert r is not None
        attrs: dict[str, Any] = {"gen_ai.operation.name": trace.operation}
        if r.requested_model:
            attrs["gen_ai.request.model"] = r.requested_model
        if r.provider:
            attrs["gen_ai.provider.name"] = self._provider_name(trace, r.provider)
        if trace.response_model or r.upstream_model:
            attrs["gen_ai.response.model"] = trace.response_model or r.upstream_model
        if r.provider and (address := trace.server_address.get(r.provider)) and address[0]:
            attrs["server.address"] = address[0]
        if r.tokens_in is not None:
            self.token_usage.record(r.tokens_in, {**attrs, "gen_ai.token.type": "input"})
        if r.tokens_out is not None:
            self.token_usage.record(r.tokens_out, {**attrs, "gen_ai.token.type": "output"})
        failed = {**attrs, "error.type": str(r.http_status) if r.http_status >= 400 else r.status}
        if r.latency_ms is not None:
            self.duration.record(r.latency_ms / 1000, attrs if r.status == OK else failed)
        if r.ttfb_ms is not None and r.stream:
            self.ttfc.record(r.ttfb_ms / 1000, attrs)
        sb = (
            ("gen_ai.provider.name", str(attrs.get("gen_ai.provider.name", ""))),
            ("switchboard.route", r.route or ""),
            ("switchboard.status", r.status),
        )
        counts[("requests", sb)] = counts.get(("requests", sb), 0) + 1
        if r.attempts:
            key = ("attempts", (("switchboard.route", r.route or ""),))
            counts[key] = counts.get(key, 0) + r.attempts
        cost = self._cost(trace)
        if cost:
            counts[("cost", sb)] = counts.get(("cost", sb), 0) + cost


def _error_type(error: str | None) -> str:
    if not error:
        return "_OTHER"
    text = error.lower()
    for word in ("timeout", "cancelled", "skipped", "refused", "reset"):
        if word in text:
            return word
    return "_OTHER"
