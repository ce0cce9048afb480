"""OpenTelemetry as a hook: it notes what a request did (inbound ``traceparent``, request
parameters, each attempt's start and end, the answer's id, model and finish reasons) and, when the
request is over, hands one small :class:`RequestTrace` to the exporter's bounded queue. Spans and
metrics are built from it on the exporter's own thread (``proxy.engine.otel.export``), never on
the event loop.

Off by default: with no ``OTEL_EXPORTER_OTLP_*ENDPOINT`` and no ``telemetry.otlp_endpoint``, the
exporter is never imported (nor is any OpenTelemetry module) and every point returns at once.
Propagation: an attempt to a provider that :func:`~proxy.engine.otel.settings.propagates` gets a
W3C ``traceparent`` naming its own (future) client span.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import re
import threading
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from proxy.config.schema import GatewayConfig
from proxy.domain.exchange import AttemptRecord, Exchange
from proxy.domain.records import RequestRecord
from proxy.engine.hooks.base import ModelRequest
from proxy.engine.otel.settings import OtelSettings, propagates, resolve
from proxy.engine.otel.trace import AttemptSpan, RequestTrace
from proxy.engine.snapshot import Snapshot
from proxy.providers.base import ProviderAdapter, UpstreamCall, UpstreamReply
from proxy.routing.resolve import Attempt, Resolution
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent

log = logging.getLogger(__name__)

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CURRENT: contextvars.ContextVar[RequestTrace | None] = contextvars.ContextVar("switchboard_trace", default=None)
_CONTENT_CAP = 64 * 1024
STOP_WAIT = 3.0
"""Seconds a stop waits for the last export."""
_RNG = random.SystemRandom()
_PARAMS = {
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "maxOutputTokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "topP": "top_p",
    "top_k": "top_k",
    "topK": "top_k",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "n": "choice.count",
}


def _new_id(bits: int) -> int:
    while True:
        value = _RNG.getrandbits(bits)
        if value:
            return value


_OPERATIONS = {"chat": "chat", "messages": "chat", "responses": "chat", "embeddings": "embeddings"}


def operation_of(surface: str) -> str:
    if surface.startswith("gemini"):
        return "embeddings" if "embed" in surface else "generate_content"
    return _OPERATIONS.get(surface, surface)


class Telemetry:
    """The hook; :attr:`exporter` is ``None`` unless export is on (decided at start)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = env
        self.settings: OtelSettings | None = None
        self.exporter: Any = None
        self.config: GatewayConfig | None = None

    @property
    def dropped(self) -> int:
        return int(self.exporter.dropped) if self.exporter is not None else 0

    async def start(self, config: GatewayConfig) -> None:
        self.config = config
        self.settings = resolve(config.telemetry, self.env)
        if self.settings is None:
            return
        try:
            from proxy.engine.otel.export import Exporter  # only now: OpenTelemetry is an optional extra
        except ImportError as exc:
            log.warning(
                "OTLP export is configured but OpenTelemetry is not installed (%s): pip install "
                "'switchboard[telemetry]'",
                exc.name,
            )
            self.settings = None
            return
        self.exporter = Exporter(self.settings)
        log.info("exporting OpenTelemetry to %s", self.settings.traces_endpoint or self.settings.metrics_endpoint)

    async def stop(self) -> None:
        """Send what is queued, waiting :data:`STOP_WAIT` seconds at most: a collector that is down
        never holds up a stop (the SDK's exporters retry for their whole timeout)."""
        if self.exporter is None:
            return
        exporter, self.exporter = self.exporter, None
        done = threading.Event()

        def shut() -> None:
            try:
                exporter.shutdown()
            finally:
                done.set()

        threading.Thread(target=shut, name="switchboard-otel-stop", daemon=True).start()
        deadline = time.monotonic() + STOP_WAIT
        while not done.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not done.is_set():
            log.warning("the OTLP collector did not take the last spans within %gs; they are dropped", STOP_WAIT)

    # -- the request's points -------------------------------------------------------------------

    def _trace(self, ex: Exchange) -> RequestTrace:
        notes = ex.notes if ex.notes is not None else {}
        ex.notes = notes
        trace: RequestTrace | None = notes.get("otel")
        if trace is None:
            start = time.time_ns() - int(ex.elapsed_ms() * 1_000_000)
            trace = notes["otel"] = RequestTrace(_new_id(128), _new_id(64), start, operation=operation_of(ex.surface))
        return trace

    def on_request(self, ex: Exchange, snap: Snapshot, resolution: Resolution, request: ModelRequest) -> None:
        if self.exporter is None:
            return None
        trace = self._trace(ex)
        headers = request.headers
        parent = headers.get("traceparent")
        match = _TRACEPARENT.match(parent.strip().lower()) if parent else None
        if match and int(match[1], 16) and int(match[2], 16):
            trace.trace_id, trace.parent_span_id = int(match[1], 16), int(match[2], 16)
            trace.remote_parent = True
            trace.tracestate = headers.get("tracestate")
            trace.sampled = bool(int(match[3], 16) & 1)  # parent-based: the caller's decision
        elif self.settings is not None and self.settings.sample_ratio < 1.0:
            trace.sampled = (trace.trace_id & 0xFFFFFFFFFFFFFFFF) < self.settings.sample_ratio * 2**64
        if not trace.sampled:  # its metrics still count; no spans, no traceparent upstream
            _CURRENT.set(None)  # and no earlier request's trace on this connection's task either
            return None
        body = getattr(request, "body", None)
        if isinstance(body, dict):
            for source in (body, body.get("generationConfig")):
                if isinstance(source, dict):
                    for name, attr in _PARAMS.items():
                        value = source.get(name)
                        if isinstance(value, (int, float)) and not isinstance(value, bool):
                            trace.params[attr] = value
            stop = body.get("stop", body.get("stop_sequences"))
            if isinstance(stop, str):
                stop = [stop]
            if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
                trace.params["stop_sequences"] = stop
            if self.settings is not None and self.settings.capture_content:
                picked = {k: body[k] for k in ("system", "messages", "input", "instructions", "contents") if k in body}
                trace.input_messages = _redacted(picked)
        _CURRENT.set(trace)
        return None

    def on_attempt(self, snap: Snapshot, attempt: Attempt, adapter: ProviderAdapter, call: UpstreamCall) -> None:
        trace = _CURRENT.get() if self.exporter is not None else None
        if trace is None:
            return None
        span = AttemptSpan(_new_id(64), time.time_ns())
        trace.pending.setdefault((attempt.provider, attempt.model), []).append(span)
        provider = snap.config.provider(attempt.provider)
        if provider is not None and provider.id not in trace.server_address:
            from urllib.parse import urlsplit

            url = urlsplit(provider.effective_base_url)
            trace.server_address[provider.id] = (url.hostname or "", url.port, provider.preset)
        if propagates(provider):
            headers = dict(call.headers or {})
            headers["traceparent"] = f"00-{trace.trace_id:032x}-{span.span_id:016x}-01"
            if trace.tracestate:
                headers["tracestate"] = trace.tracestate
            call.headers = headers
        return None

    def on_attempted(self, ex: Exchange, record: AttemptRecord) -> None:
        if self.exporter is None or ex.notes is None or (trace := ex.notes.get("otel")) is None or not trace.sampled:
            return
        now = time.time_ns()
        waiting = trace.pending.get((record.provider, record.model))
        span = waiting.pop(0) if waiting else AttemptSpan(_new_id(64), now - int(record.ms * 1_000_000))
        span.end_ns, span.record = now, record
        trace.attempts.append(span)

    def on_response(
        self, ex: Exchange, resolution: Resolution, request: ModelRequest, reply: UpstreamReply
    ) -> UpstreamReply:
        if self.exporter is None or ex.notes is None or (trace := ex.notes.get("otel")) is None:
            return reply
        if not trace.sampled and reply.events is not None:
            return reply  # metrics need no answer id: leave the stream alone
        capture = self.settings is not None and self.settings.capture_content
        if reply.events is None:
            if isinstance(reply.json, dict):
                _read_answer(trace, reply.json, False)
                if capture:
                    trace.output_messages = _redacted(_answer_content(reply.json))
        else:
            reply.events = _watch(trace, reply.events, capture)
        return reply

    def on_ended(self, ex: Exchange, record: RequestRecord) -> None:
        if self.exporter is None:
            return
        trace = ex.notes.get("otel") if ex.notes is not None else None
        if trace is None:
            trace = self._trace(ex)  # refused or answered before any hook (a gate, a bad body)
        trace.end_ns = time.time_ns()
        trace.record, trace.price = record, ex.price
        if trace.output_text and trace.output_messages is None:
            trace.output_messages = _redacted([{"role": "assistant", "content": "".join(trace.output_text)}])
        self.exporter.submit(trace)


def _redacted(value: object) -> str:
    text = REDACTOR.redact(orjson.dumps(value).decode())
    return text if len(text) <= _CONTENT_CAP else text[:_CONTENT_CAP] + "…"


def _read_answer(trace: RequestTrace, data: dict[str, Any], capture: bool) -> None:
    """Id, model and finish reasons from a whole answer (Chat Completions, Messages, Responses, Gemini)."""
    msg = data.get("message") if data.get("type") == "message_start" else None
    inner: dict[str, Any] = data
    if isinstance(msg, dict):
        inner = msg
    elif isinstance(data.get("response"), dict):
        inner = data["response"]
    rid = inner.get("id") or inner.get("responseId")
    if isinstance(rid, str) and trace.response_id is None:
        trace.response_id = rid
    model = inner.get("model") or inner.get("modelVersion")
    if isinstance(model, str) and model:
        trace.response_model = model
    for choice in inner.get("choices") or inner.get("candidates") or ():
        if isinstance(choice, dict):
            reason = choice.get("finish_reason") or choice.get("finishReason")
            if isinstance(reason, str):
                trace.finish_reasons.append(reason)
            if capture and isinstance(choice.get("delta"), dict) and isinstance(choice["delta"].get("content"), str):
                trace.output_text.append(choice["delta"]["content"])
    for holder in (inner, inner.get("delta") if isinstance(inner.get("delta"), dict) else None):
        reason = holder.get("stop_reason") if holder else None
        if isinstance(reason, str):
            trace.finish_reasons.append(reason)
    if data.get("type") == "response.completed" and isinstance(inner.get("status"), str):
        trace.finish_reasons.append(inner["status"])
    if capture:
        if data.get("type") == "content_block_delta" and isinstance(data.get("delta"), dict):
            text = data["delta"].get("text")
            if isinstance(text, str):
                trace.output_text.append(text)
        elif data.get("type") == "response.output_text.delta" and isinstance(data.get("delta"), str):
            trace.output_text.append(data["delta"])
        elif isinstance(data.get("candidates"), list):
            for cand in data["candidates"]:
                parts = cand.get("content", {}).get("parts", []) if isinstance(cand, dict) else []
                trace.output_text += [
                    p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
                ]


def _answer_content(data: dict[str, Any]) -> object:
    """The messages of a whole (non-stream) answer, in its API's own shape."""
    if isinstance(data.get("choices"), list):
        return [c.get("message") for c in data["choices"] if isinstance(c, dict)]
    for key in ("content", "output", "candidates", "data"):
        if key in data:
            return data[key] if key != "data" else None
    return None


_INTERESTING = (b"finish_reason", b"stop_reason", b"message_start", b"response.", b"finishReason", b"responseId")


async def _watch(
    trace: RequestTrace, events: AsyncGenerator[SSEEvent, None], capture: bool
) -> AsyncGenerator[SSEEvent, None]:
    """Pass the events on; read only the first one and those that can carry an id, a model or a
    finish reason (or, with content capture on, every one)."""
    first = True
    try:
        async for event in events:
            data = event.data
            if data and data != b"[DONE]" and (first or capture or any(m in data for m in _INTERESTING)):
                first = False
                try:
                    chunk = orjson.loads(data)
                except orjson.JSONDecodeError:
                    chunk = None
                if isinstance(chunk, dict):
                    _read_answer(trace, chunk, capture)
            yield event
    finally:
        await events.aclose()
