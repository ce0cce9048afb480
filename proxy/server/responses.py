"""The OpenAI Responses surface: ``POST /v1/responses`` (what Codex CLI speaks).

Routed like every request. Per attempt, the target decides the wire format:

- a target whose provider serves the Responses API itself (the ``openai`` preset) gets the
  request untranslated and its answer is relayed byte for byte;
- any other target gets it translated onto Chat Completions (``translate/responses.py``), and
  the answer, JSON or stream, is re-told as a Responses ``response`` object or event sequence.

Switchboard is stateless on translated routes: ``previous_response_id`` is refused with a clear
400 (send the whole conversation in ``input``), and ``store`` is ignored.

Streams never lie: on a translated stream, a failure after content ends it with a
``response.failed`` event; on a native one, with an ``error`` event; neither ends with
``response.completed``, and the log says ``cut``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError, UpstreamError, UpstreamHTTPError
from proxy.domain.exchange import Exchange
from proxy.domain.records import CUT, Usage
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.routing.resolve import Attempt
from proxy.server.keys import EXCHANGE, GATEWAY
from proxy.server.streaming import (
    COMMITTED,
    forward_keeping_alive,
    open_stream,
    prime_chat_stream,
    prime_stream,
    relay_translated,
)
from proxy.server.validation import _missing, _type_error, check_banned, model_name, read_json
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent
from proxy.translate.common import TranslationError, sse_event
from proxy.translate.responses_answer import chat_completion_to_response
from proxy.translate.responses_request import dropped_tools, responses_request_to_chat
from proxy.translate.responses_stream import ResponsesStream

log = logging.getLogger(__name__)

_LIFECYCLE = frozenset(
    {b"response.created", b"response.in_progress", b"response.output_item.added", b"response.content_part.added"}
)
_TERMINAL = frozenset({b"response.completed", b"response.incomplete"})
_FAILED = frozenset({b"response.failed", b"error"})


def responses_usage(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    details = usage.get("input_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage.from_openai(
        {
            "prompt_tokens": usage.get("input_tokens"),
            "completion_tokens": usage.get("output_tokens"),
            "prompt_tokens_details": {"cached_tokens": cached},
        }
    )


def check_responses(body: dict[str, Any]) -> bool:
    """The fields the gateway relies on; returns whether the request streams."""
    if "input" not in body and "instructions" not in body:
        raise _missing("input")
    value = body.get("input")
    if value is not None and not isinstance(value, (str, list)):
        raise _type_error("input", "a string or an array of input items", value)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _type_error("stream", "a boolean", stream)
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise _type_error("tools", "an array", tools)
    check_banned(body)
    return stream is True


async def responses(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    snap = gateway.snapshot
    ex: Exchange = request[EXCHANGE]
    body = await read_json(request, snap.config.server.max_body_bytes)
    ex.requested_model = model_name(body)
    stream = check_responses(body)
    ex.stream = stream
    capture = snap.config.logging.store_bodies
    if capture:
        ex.request_body = REDACTOR.redact(orjson.dumps(body).decode())
    resolution = gateway.resolve(ex, snap, ex.requested_model, user=body.get("user"), headers=request.headers)
    response_id = f"resp_{ex.id}"
    created = int(time.time())
    translated: dict[str, Any] = {}

    def build(attempt: Attempt, supports_stream_usage: bool) -> UpstreamCall:
        if "responses" in snap.adapters[attempt.provider].native:
            return UpstreamCall("responses", {**body, "model": attempt.model}, stream)
        if not translated:
            try:
                translated.update(responses_request_to_chat(body))
            except TranslationError as exc:
                raise ApiError(400, exc.message, param=exc.param, code="unsupported_parameter") from None
            if dropped := dropped_tools(body):
                log.info("request %s: tools only OpenAI runs were left out: %s", ex.id, ", ".join(dropped))
        chat = {**translated, "model": attempt.model}
        chat.pop("stream_options", None)
        if stream and supports_stream_usage:
            chat["stream_options"] = {"include_usage": True}
        return UpstreamCall("chat/completions", chat, stream)

    async def prime(reply: UpstreamReply) -> UpstreamReply:
        if reply.format == "responses":
            return await prime_responses_stream(reply, ex.provider or "?")
        return await prime_chat_stream(reply, ex.provider or "?")

    work = gateway.forward(ex, snap, resolution, build, prime if stream else None)
    reply = await forward_keeping_alive(request, ex, work, _failed_after_commit) if stream else await work
    if reply is None:
        return request[COMMITTED]  # failed after keep-alive comments: ended with an error event
    if stream:
        if reply.format == "responses":
            return await relay_responses_stream(
                request, ex, reply, capture=capture, on_first_byte=gateway.emit_if_watched
            )
        translator = ResponsesStream(body, response_id, created, ex.requested_model)
        return await relay_chat_as_responses(
            request, ex, reply, translator, capture=capture, on_first_byte=gateway.emit_if_watched
        )
    ex.mark_first_byte()
    if reply.format == "responses":
        ex.usage = responses_usage(reply.json.get("usage"))
        payload = reply.body or b""
    else:
        ex.usage = Usage.from_openai(reply.json.get("usage"))
        response = chat_completion_to_response(reply.json, {**body, "model": ex.requested_model}, response_id, created)
        payload = orjson.dumps(response)
    if capture:
        ex.response_body = REDACTOR.redact(payload.decode("utf-8", "replace"))
    return web.Response(body=payload, content_type="application/json", headers=ex.result_headers())


def _failed_after_commit(err: ApiError) -> bytes:
    """The Responses stream's ``error`` event, for a request that failed after keep-alive comments."""
    return _error_event(err.message, str(err.code or err.type), 0)


def _name(event: SSEEvent) -> bytes | None:
    if event.event is not None:
        return event.event
    try:
        kind = orjson.loads(event.data or b"").get("type")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return kind.encode() if isinstance(kind, str) else None


def _error_of(provider: str, event: SSEEvent) -> UpstreamHTTPError:
    try:
        data = orjson.loads(event.data or b"")
    except orjson.JSONDecodeError:
        data = {}
    error = (data.get("response") or {}).get("error") if data.get("type") == "response.failed" else data
    error = error if isinstance(error, dict) else {}
    message = REDACTOR.redact(str(error.get("message") or "the response failed"))
    return UpstreamHTTPError(provider, 502, message, type="upstream_error", code=error.get("code"))


async def prime_responses_stream(reply: UpstreamReply, provider: str) -> UpstreamReply:
    """:func:`prime_stream` for Responses events: ``response.created``/``in_progress`` and the
    opening of items are lifecycle; ``response.failed`` and ``error`` are failures."""

    def is_lifecycle(event: SSEEvent) -> bool:
        name = _name(event)
        if name in _FAILED:
            raise _error_of(provider, event)
        return name in _LIFECYCLE

    return await prime_stream(reply, provider, is_lifecycle)


def _error_event(message: str, code: str, sequence_number: int) -> bytes:
    payload = {"type": "error", "code": code, "message": message, "param": None, "sequence_number": sequence_number}
    return sse_event("error", payload)


async def relay_responses_stream(
    request: web.Request, ex: Exchange, reply: UpstreamReply, *, capture: bool, on_first_byte: Any = None
) -> web.StreamResponse:
    """A native Responses stream, byte for byte; usage read from its final event."""
    assert reply.events is not None
    events = reply.events
    out = await open_stream(request, ex, capture, on_first_byte)
    finished = False
    sent = 0
    try:
        try:
            async for event in events:
                if event.data is not None:
                    name = _name(event)
                    if name in _TERMINAL:
                        finished = True
                        try:
                            ex.usage = responses_usage((orjson.loads(event.data).get("response") or {}).get("usage"))
                        except (orjson.JSONDecodeError, AttributeError):
                            pass
                    elif name in _FAILED:  # passed on, redacted: an upstream may echo the key it was sent
                        error = _error_of(ex.provider or "?", event)
                        ex.fail(CUT, 200, f"Provider {ex.provider!r} reported: {error.upstream_message}")
                        finished = True
                        await out.write(REDACTOR.redact(event.raw.decode("utf-8", "replace")).encode())
                        sent += 1
                        continue
                await out.write(event.raw)
                sent += 1
        except UpstreamError as exc:
            ex.fail(CUT, 200, f"{exc.message} (after content was sent)")
            await out.write(_error_event(f"Stream interrupted: {exc.message}", "stream_interrupted", sent))
            return out.response
        if not finished:
            message = f"Provider {ex.provider!r}: the stream ended without response.completed (cut short)"
            ex.fail(CUT, 200, message)
            await out.write(_error_event(message, "stream_cut", sent))
            return out.response
        await out.response.write_eof()
        return out.response
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        ex.response_body = out.text()


async def relay_chat_as_responses(
    request: web.Request,
    ex: Exchange,
    reply: UpstreamReply,
    translator: ResponsesStream,
    *,
    capture: bool,
    on_first_byte: Any = None,
) -> web.StreamResponse:
    """A Chat Completions stream, re-told as the Responses event sequence (``response.failed`` if cut)."""
    return await relay_translated(
        request,
        ex,
        reply,
        start=translator.start(),
        feed=translator.feed,
        finish=translator.finish,
        fail=translator.fail,
        capture=capture,
        on_first_byte=on_first_byte,
    )
