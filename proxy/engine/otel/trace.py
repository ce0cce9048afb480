"""What the exporter is handed of one finished request: plain values, filled in on the event loop
by the telemetry hook and read once on the exporter's thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proxy.domain.exchange import AttemptRecord
from proxy.domain.records import RequestRecord


@dataclass(slots=True)
class AttemptSpan:
    span_id: int
    start_ns: int
    end_ns: int = 0
    record: AttemptRecord | None = None


@dataclass(slots=True)
class RequestTrace:
    """What the exporter needs of one request (plain values; the exporter thread reads it)."""

    trace_id: int
    span_id: int
    start_ns: int
    parent_span_id: int | None = None
    tracestate: str | None = None
    remote_parent: bool = False
    sampled: bool = True
    """Spans are exported (the caller's flag, else ``OTEL_TRACES_SAMPLER``); metrics always are."""
    operation: str = "chat"
    params: dict[str, Any] = field(default_factory=dict)
    attempts: list[AttemptSpan] = field(default_factory=list)
    pending: dict[tuple[str, str], list[AttemptSpan]] = field(default_factory=dict)
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    input_messages: str | None = None
    output_text: list[str] = field(default_factory=list)
    output_messages: str | None = None
    server_address: dict[str, tuple[str, int | None, str]] = field(default_factory=dict)
    """provider id -> (host, port, preset) of the providers attempted."""
    end_ns: int = 0
    record: RequestRecord | None = None
    price: Any = None
