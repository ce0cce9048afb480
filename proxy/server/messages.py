"""The Anthropic Messages surface: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``.

Routed like every request. Per attempt, the target decides the wire format:

- an **Anthropic** target gets the request untranslated (``cache_control``, thinking, the
  client's ``anthropic-beta`` and ``anthropic-version`` headers all kept) and the answer is relayed byte for byte;
- any **other** target gets it translated to Chat Completions (``translate/anthropic.py``) and
  its answer, JSON or stream, is translated back into Anthropic's exact shapes and event order.

Streams never lie here either: lifecycle events (``message_start``, ``ping``,
``content_block_start``) are held back until the first content so an early failure can still
fall back; after content, a failure ends the stream with ``event: error`` and no
``message_stop``, and the log says ``cut``. Errors are in Anthropic's error shape (the
middleware renders every error on these paths that way).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError, UpstreamError, UpstreamHTTPError
from proxy.domain.exchange import Exchange
from proxy.domain.records import CUT, Usage
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.routing.attempts import no_route_error
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
from proxy.server.validation import check_messages, model_name, read_json
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent
from proxy.translate.anthropic_answer import anthropic_usage_to_chat, chat_to_messages_response
from proxy.translate.anthropic_errors import anthropic_error_type
from proxy.translate.anthropic_request import messages_to_chat_request
from proxy.translate.anthropic_stream import ChatToMessagesStream
from proxy.translate.common import TranslationError, sse_event

log = logging.getLogger(__name__)

FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version")
"""Client headers passed on to a native Anthropic upstream (never credentials): its beta features,
and the API version it was written against (the adapter's own is used when it sends none)."""
COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers")
"""Fields of a count_tokens request (the upstream rejects others, such as max_tokens)."""
_LIFECYCLE = frozenset({b"message_start", b"ping", b"content_block_start"})


def anthropic_usage(usage: Any) -> Usage | None:
    return Usage.from_openai(anthropic_usage_to_chat(usage))


def _translate_request(body: dict[str, Any]) -> dict[str, Any]:
    try:
        chat, dropped = messages_to_chat_request(body)
    except TranslationError as exc:
        raise ApiError(400, exc.message, param=exc.param, code="invalid_request") from None
    if dropped:
        log.info("server tools dropped for an OpenAI-compatible upstream: %s", ", ".join(dropped))
    return chat


def _failed_after_commit(err: ApiError) -> bytes:
    """Anthropic's ``event: error`` for a stream that failed after keep-alive comments were sent."""
    return _error_event(err.message, anthropic_error_type(err.status, None))


async def messages(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    snap = gateway.snapshot
    ex: Exchange = request[EXCHANGE]
    body = await read_json(request, snap.config.server.max_body_bytes)
    ex.requested_model = model_name(body)
    stream = check_messages(body)
    ex.stream = stream
    capture = snap.config.logging.store_bodies
    if capture:
        ex.request_body = REDACTOR.redact(orjson.dumps(body).decode())
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    resolution = gateway.resolve(ex, snap, ex.requested_model, user=user, headers=request.headers)
    forwarded = {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers} or None
    translated: dict[str, Any] = {}

    native_endpoint = "messages?beta=true" if request.query.get("beta") == "true" else "messages"

    def build(attempt: Attempt, supports_stream_usage: bool) -> UpstreamCall:
        if "messages" in snap.adapters[attempt.provider].native:
            return UpstreamCall(native_endpoint, {**body, "model": attempt.model}, stream, forwarded)
        if not translated:
            translated.update(_translate_request(body))
        chat = {**translated, "model": attempt.model}
        if stream and supports_stream_usage:
            chat["stream_options"] = {"include_usage": True}
        return UpstreamCall("chat/completions", chat, stream)

    async def prime(reply: UpstreamReply) -> UpstreamReply:
        if reply.format == "anthropic":
            return await prime_messages_stream(reply, ex.provider or "?")
        return await prime_chat_stream(reply, ex.provider or "?")

    work = gateway.forward(ex, snap, resolution, build, prime if stream else None)
    reply = await forward_keeping_alive(request, ex, work, _failed_after_commit) if stream else await work
    if reply is None:
        return request[COMMITTED]  # failed after keep-alive comments: ended with an error event
    if stream:
        if reply.format == "anthropic":
            return await relay_messages_stream(
                request, ex, reply, capture=capture, on_first_byte=gateway.emit_if_watched
            )
        return await relay_chat_as_messages(
            request, ex, reply, model=ex.requested_model, capture=capture, on_first_byte=gateway.emit_if_watched
        )
    ex.mark_first_byte()
    if reply.format == "anthropic":
        ex.usage = anthropic_usage(reply.json.get("usage"))
        payload = reply.body or b""
    else:
        ex.usage = Usage.from_openai(reply.json.get("usage"))
        payload = orjson.dumps(chat_to_messages_response(reply.json, ex.requested_model))
    if capture:
        ex.response_body = REDACTOR.redact(payload.decode("utf-8", "replace"))
    return web.Response(body=payload, content_type="application/json", headers=ex.result_headers())


async def count_tokens(request: web.Request) -> web.Response:
    """Passed to the route's first Anthropic target when it has one; otherwise (or when that call
    fails) estimated at one token per 4 characters of the request's text and tool definitions,
    which is what the ``x-switchboard-estimate: true`` header says."""
    gateway = request.app[GATEWAY]
    snap = gateway.snapshot
    ex: Exchange = request[EXCHANGE]
    body = await read_json(request, snap.config.server.max_body_bytes)
    ex.requested_model = model_name(body)
    check_messages(body, count_only=True)
    resolution = snap.resolver.resolve(ex.requested_model)  # counting is free: no limits, no attempt loop
    if resolution is None:
        raise no_route_error(ex.requested_model)
    ex.route = resolution.route
    forwarded = {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers} or None
    for attempt in resolution.attempts:
        adapter = snap.adapters[attempt.provider]
        if "messages/count_tokens" not in adapter.native:
            continue
        upstream = {k: v for k, v in body.items() if k in COUNT_FIELDS}
        upstream["model"] = attempt.model
        ex.provider, ex.upstream_model = attempt.provider, attempt.model
        try:
            reply = await adapter.call(UpstreamCall("messages/count_tokens", upstream, False, forwarded))
        except UpstreamError as exc:
            ex.note_attempt(attempt.provider, attempt.model, exc.status, exc.message, 0.0)
            break
        if isinstance(reply.json.get("input_tokens"), int):
            ex.mark_first_byte()
            return web.Response(body=reply.body, content_type="application/json", headers=ex.result_headers())
        break
    ex.mark_first_byte()
    headers = {**ex.result_headers(), "x-switchboard-estimate": "true"}
    return web.json_response({"input_tokens": estimate_input_tokens(body)}, headers=headers)


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """About one token per 4 characters of every string in system, messages and tools (images
    count as 1,600 tokens, Anthropic's figure for a ~1.15 megapixel image)."""
    chars = 0
    images = 0
    stack: list[Any] = [body.get("system"), body.get("messages"), body.get("tools")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            chars += len(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("type") == "image":
                images += 1
                continue
            stack.extend(v for k, v in item.items() if k not in ("type", "cache_control"))
    return max(1, math.ceil(chars / 4)) + 1600 * images


# ------------------------------------------------------------------------------------------------
# Streams
# ------------------------------------------------------------------------------------------------


async def prime_messages_stream(reply: UpstreamReply, provider: str) -> UpstreamReply:
    """:func:`prime_stream` for Anthropic events: ``message_start``, ``ping`` and
    ``content_block_start`` are lifecycle; ``event: error`` is a failure."""

    def is_lifecycle(event: SSEEvent) -> bool:
        name = event.event or _type_of(event.data or b"")
        if name == b"error":
            raise _inband_error(provider, event.data or b"")
        return name in _LIFECYCLE

    return await prime_stream(reply, provider, is_lifecycle)


def _type_of(data: bytes) -> bytes | None:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    kind = parsed.get("type") if isinstance(parsed, dict) else None
    return kind.encode() if isinstance(kind, str) else None


def _inband_error(provider: str, data: bytes) -> UpstreamError:
    try:
        error = orjson.loads(data).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        error = {}
    type_ = error.get("type") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    status = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500}.get(str(type_), 502)
    return UpstreamHTTPError(provider, status, REDACTOR.redact(str(message or "stream error")), type=type_)


def _error_event(message: str, type_: str = "api_error") -> bytes:
    return sse_event("error", {"type": "error", "error": {"type": type_, "message": message}})


async def relay_messages_stream(
    request: web.Request, ex: Exchange, reply: UpstreamReply, *, capture: bool, on_first_byte: Any = None
) -> web.StreamResponse:
    """A native Anthropic stream, byte for byte; usage read from ``message_start``/``message_delta``."""
    assert reply.events is not None
    events = reply.events
    out = await open_stream(request, ex, capture, on_first_byte)
    usage: dict[str, Any] = {}
    stopped = False
    try:
        try:
            async for event in events:
                if event.data is not None:
                    name = event.event or _type_of(event.data)
                    if name in (b"message_start", b"message_delta"):
                        try:
                            data = orjson.loads(event.data)
                        except orjson.JSONDecodeError:
                            data = {}
                        source = data.get("message", {}) if name == b"message_start" else data
                        usage.update({k: v for k, v in (source.get("usage") or {}).items() if v is not None})
                        ex.usage = anthropic_usage(usage)
                    elif name == b"message_stop":
                        stopped = True
                    elif name == b"error":  # passed on, redacted: an upstream may echo the key it was sent
                        error = _inband_error(ex.provider or "?", event.data)
                        ex.fail(CUT, 200, f"Provider {ex.provider!r} reported: {error.message}")
                        await out.write(REDACTOR.redact(event.raw.decode("utf-8", "replace")).encode())
                        continue
                await out.write(event.raw)
        except UpstreamError as exc:
            ex.fail(CUT, 200, f"{exc.message} (after content was sent)")
            await out.write(_error_event(f"Stream interrupted: {exc.message}", anthropic_error_type(exc.status, None)))
            return out.response
        if not stopped and ex.status != CUT:
            message = f"Provider {ex.provider!r}: the stream ended without message_stop (cut short)"
            ex.fail(CUT, 200, message)
            await out.write(_error_event(message))
        await out.response.write_eof()
        return out.response
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        ex.response_body = out.text()


async def relay_chat_as_messages(
    request: web.Request,
    ex: Exchange,
    reply: UpstreamReply,
    *,
    model: str,
    capture: bool,
    on_first_byte: Any = None,
) -> web.StreamResponse:
    """A Chat Completions stream, re-told as Anthropic's event sequence (``event: error`` if cut)."""
    translator = ChatToMessagesStream(model)
    return await relay_translated(
        request,
        ex,
        reply,
        start=translator.start(),
        feed=translator.feed,
        finish=translator.finish,
        fail=lambda message, _code: [_error_event(message)],
        capture=capture,
        on_first_byte=on_first_byte,
    )
