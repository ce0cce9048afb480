"""The Anthropic Messages surface: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``.

Routed like every request. Per attempt, the target decides the wire format:

- an **Anthropic** target gets the request untranslated (``cache_control``, thinking, the
  client's ``anthropic-beta`` and ``anthropic-version`` headers all kept) and the answer is relayed byte for byte;
- any **other** target gets it translated to Chat Completions (``translate/anthropic.py``) and
  its answer, JSON or stream, is translated back into Anthropic's exact shapes and event order.

Streams never lie here either: lifecycle events (``message_start``, ``ping``,
``content_block_start``) are held back until the first content so an early failure can still
fall back; after content, a failure ends the stream with ``event: error`` and no
``message_stop``, and the log says ``cut``. Errors are in Anthropic's error shape (the surface
table says so for these paths).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError, UpstreamError, UpstreamHTTPError
from proxy.domain.exchange import Exchange
from proxy.domain.records import CUT, Usage
from proxy.providers.base import UpstreamCall
from proxy.routing.attempts import no_route_error
from proxy.routing.resolve import Attempt
from proxy.server.keys import EXCHANGE, snapshot_of
from proxy.server.streaming import ProgressTap, Retelling
from proxy.server.surfaces.base import Dialect, estimate_prompt_tokens
from proxy.server.validation import (
    check_banned,
    check_tools,
    each_message,
    missing,
    model_name,
    not_one_of,
    read_json,
    stream_flag,
    wrong_type,
)
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent
from proxy.translate.anthropic_answer import anthropic_usage_to_chat, chat_to_messages_response
from proxy.translate.anthropic_errors import anthropic_error_body, anthropic_error_type
from proxy.translate.anthropic_stream import ChatToMessagesStream
from proxy.translate.anthropic_to_chat import messages_to_chat_request
from proxy.translate.common import TranslationError, sse_event

log = logging.getLogger(__name__)

FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version")
"""Client headers passed on to a native Anthropic upstream (never credentials): its beta features,
and the API version it was written against (the adapter's own is used when it sends none)."""
COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers")
"""Fields of a count_tokens request (the upstream rejects others, such as max_tokens)."""
_LIFECYCLE = frozenset({b"message_start", b"ping", b"content_block_start"})


def anthropic_error(err: ApiError) -> bytes:
    """``{"type": "error", "error": {"type", "message"}}``: Anthropic's error shape."""
    return orjson.dumps(anthropic_error_body(err.status, err.type, err.message))


def anthropic_usage(usage: Any) -> Usage | None:
    return Usage.from_openai(anthropic_usage_to_chat(usage))


def check_messages(body: dict[str, Any], *, count_only: bool = False) -> bool:
    """Validate an Anthropic Messages request (``count_only``: a count_tokens request, which has no
    ``max_tokens``); returns whether it streams."""
    if not count_only:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise missing("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise wrong_type("max_tokens", "an integer", max_tokens)
        if max_tokens < 1:
            raise ApiError(400, "'max_tokens' must be at least 1.", param="max_tokens", code="invalid_value")
    for i, m in each_message(body):
        role = m.get("role")
        if role not in ("user", "assistant", "system"):  # system: Anthropic's mid-conversation system messages
            raise not_one_of(f"messages[{i}].role", role, ["assistant", "system", "user"])
        content = m.get("content")
        if not isinstance(content, (str, list)):
            raise wrong_type(f"messages[{i}].content", "a string or an array of content blocks", content)
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise wrong_type("system", "a string or an array of text blocks", system)
    stream = stream_flag(body)
    check_tools(body)
    check_banned(body)
    return stream


def _type_of(data: bytes) -> bytes | None:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    kind = parsed.get("type") if isinstance(parsed, dict) else None
    return kind.encode() if isinstance(kind, str) else None


def _inband_error(provider: str, data: bytes) -> UpstreamHTTPError:
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


class Messages(Dialect):
    """A Messages request: as it is to an Anthropic target (its ``anthropic-*`` headers with it),
    else in the chat form; the answer in Anthropic's shapes either way."""

    format = "anthropic"
    terminal = "message_stop"
    __slots__ = ("forwarded", "endpoint", "translated", "usage_seen")

    def __init__(self, ex: Exchange, body: dict[str, Any], request: web.Request) -> None:
        super().__init__(ex, body, request)
        metadata = body.get("metadata")
        self.user = metadata.get("user_id") if isinstance(metadata, dict) else None
        headers = request.headers
        self.forwarded = {h: headers[h] for h in FORWARDED_HEADERS if h in headers} or None
        self.endpoint = "messages?beta=true" if request.query.get("beta") == "true" else "messages"
        self.translated: dict[str, Any] | None = None
        self.usage_seen: dict[str, Any] = {}

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        return check_messages(body)

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        if "messages" in native:
            return UpstreamCall(self.endpoint, {**self.body, "model": attempt.model}, self.stream, self.forwarded)
        if self.translated is None:
            self.translated = self._to_chat()
        chat = {**self.translated, "model": attempt.model}
        if self.stream and stream_usage:
            chat["stream_options"] = {"include_usage": True}
        return UpstreamCall("chat/completions", chat, self.stream)

    def _to_chat(self) -> dict[str, Any]:
        try:
            chat, dropped = messages_to_chat_request(self.body)
        except TranslationError as exc:
            raise ApiError(400, exc.message, param=exc.param, code="invalid_request") from None
        if dropped:
            log.info("server tools dropped for an OpenAI-compatible upstream: %s", ", ".join(dropped))
        return chat

    def is_lifecycle(self, event: SSEEvent, provider: str) -> bool:
        """``message_start``, ``ping`` and ``content_block_start`` are lifecycle; ``event: error`` is a failure."""
        name = event.event or _type_of(event.data or b"")
        if name == b"error":
            raise _inband_error(provider, event.data or b"")
        return name in _LIFECYCLE

    def usage(self, usage: Any) -> Usage | None:
        return anthropic_usage(usage)

    def from_chat(self, completion: dict[str, Any]) -> Any:
        return chat_to_messages_response(completion, self.model)

    def see(self, event: SSEEvent, tap: ProgressTap | None) -> bytes | None:
        """Usage from ``message_start``/``message_delta``; the end at ``message_stop``."""
        if event.data is not None:
            name = event.event or _type_of(event.data)
            if name in (b"message_start", b"message_delta"):
                try:
                    data = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    data = {}
                source = data.get("message", {}) if name == b"message_start" else data
                self.usage_seen.update({k: v for k, v in (source.get("usage") or {}).items() if v is not None})
                self.ex.usage = anthropic_usage(self.usage_seen)
            elif name == b"message_stop":
                self.ended = True
            elif name == b"error":  # passed on, redacted: an upstream may echo the key it was sent
                error = _inband_error(self.ex.provider or "?", event.data)
                self.ex.fail(CUT, 200, f"Provider {self.ex.provider!r} reported: {error.message}")
                return REDACTOR.redact(event.raw.decode("utf-8", "replace")).encode()
        return event.raw

    def interrupted(self, message: str, exc: UpstreamError) -> bytes:
        return _error_event(message, anthropic_error_type(exc.status, None))

    def cut(self, message: str) -> bytes:
        return _error_event(message)

    def retell(self) -> Retelling:
        return ChatToMessagesStream(self.model)

    def retold_failure(self, retelling: Retelling, message: str, code: str) -> list[bytes]:
        return [_error_event(message)]

    def failed_after_commit(self, err: ApiError) -> bytes:
        return _error_event(err.message, anthropic_error_type(err.status, None))


async def count_tokens(request: web.Request) -> web.Response:
    """Passed to the route's first Anthropic target when it has one; otherwise (or when that call
    fails) estimated at one token per 4 characters of the request's text and tool definitions,
    which is what the ``x-switchboard-estimate: true`` header says."""
    snap = snapshot_of(request)
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
    return estimate_prompt_tokens(
        [body.get("system"), body.get("messages"), body.get("tools")],
        is_image=lambda item: item.get("type") == "image",
        image_tokens=1600,
        skip=frozenset({"type", "cache_control"}),
    )
