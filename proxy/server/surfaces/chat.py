"""The OpenAI Chat Completions surface: ``POST /v1/chat/completions``, the canonical form.

Every upstream speaks it, so the request goes out as it came (with ``model`` set per target, and
``stream_options.include_usage`` asked on the client's behalf so a stream's usage is known; the
usage-only chunk is then hidden from a client that did not ask for it). Answers are passed through
byte for byte; they are cacheable (``engine/hooks/cache.py``).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError, UpstreamError, UpstreamProtocolError
from proxy.domain.exchange import Exchange
from proxy.domain.pricing import cost_now, cost_usd
from proxy.domain.records import CUT, Usage
from proxy.providers.base import UpstreamCall
from proxy.routing.resolve import Attempt
from proxy.server.streaming import ProgressTap, error_message
from proxy.server.surfaces.base import Dialect
from proxy.server.validation import (
    check_banned,
    check_tools,
    each_message,
    missing,
    not_one_of,
    stream_flag,
    wrong_type,
)
from proxy.support.sse import SSEEvent

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def check_chat(body: dict[str, Any]) -> bool:
    """Validate a chat completion request; returns whether it streams."""
    for i, m in each_message(body):
        role = m.get("role")
        if role is None:
            raise missing(f"messages[{i}].role")
        if not isinstance(role, str):
            raise wrong_type(f"messages[{i}].role", "a string", role)
        if role not in ROLES:
            raise not_one_of(f"messages[{i}].role", role, sorted(ROLES))
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise wrong_type(f"messages[{i}].content", "a string or an array of content parts", content)
    stream = stream_flag(body)
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise wrong_type("stream_options", "an object", options)
        include = options.get("include_usage")
        if include is not None and not isinstance(include, bool):
            raise wrong_type("stream_options.include_usage", "a boolean", include)
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
        raise wrong_type("n", "an integer", n)
    if isinstance(n, int) and not 1 <= n <= 128:
        raise ApiError(400, "'n' must be between 1 and 128.", param="n", code="invalid_value")
    check_tools(body)
    fmt = body.get("response_format")
    if fmt is not None and not isinstance(fmt, dict):
        raise wrong_type("response_format", "an object", fmt)
    check_banned(body)
    return stream


def error_event(message: str, type_: str, code: str | int | None) -> bytes:
    """Chat Completions' in-band error: ``data: {"error": {...}}``."""
    payload = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class ChatCompletions(Dialect):
    """A chat completion request: passed on as it is; its stream relayed as it is, but for the
    usage chunk the client did not ask for."""

    __slots__ = ("options", "wants_usage")

    def __init__(self, ex: Exchange, body: dict[str, Any], request: web.Request, *, cached: bool = True) -> None:
        """``cached``: offer the request to the cache (not for a compare fan-out, which never was)."""
        super().__init__(ex, body, request)
        options = body.get("stream_options")
        self.options = options
        self.wants_usage = isinstance(options, dict) and options.get("include_usage") is True
        if cached:
            self.cache_body = body

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        return check_chat(body)

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        upstream = dict(self.body)
        upstream["model"] = attempt.model
        if self.stream and stream_usage and not self.wants_usage:  # (include_cost: usage is asked for, too)
            upstream["stream_options"] = {**(self.options or {}), "include_usage": True}
        return UpstreamCall("chat/completions", upstream, self.stream)

    def see(self, event: SSEEvent, tap: ProgressTap | None) -> bytes | None:
        data = event.data
        if data == b"[DONE]":
            self.ended = True
        elif data is not None:
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError:  # garbage mid-stream: never passed on as if it were data
                provider = self.ex.provider or "?"
                raise UpstreamProtocolError(provider, "the stream sent an event that is not JSON") from None
            if isinstance(chunk, dict):
                if tap is not None:
                    tap.feed(chunk)
                if chunk.get("error"):  # an in-band error after content: passed on (redacted), it ends the stream
                    return self._inband_error(chunk["error"])
                usage = chunk.get("usage")
                if usage:
                    self.ex.usage = Usage.from_openai(usage)
                    if self.include_cost and isinstance(usage, dict):
                        return self._with_cost(chunk, usage)
                    if not self.wants_usage and chunk.get("choices") == []:
                        return None  # the usage chunk asked for on the client's behalf
        return event.raw

    def _with_cost(self, chunk: dict[str, Any], usage: dict[str, Any]) -> bytes:
        """The usage chunk with ``usage.cost`` (OpenRouter's way), when the price is known."""
        u = self.ex.usage
        cost = (
            None
            if u is None
            else cost_now(self.ex.price, u.tokens_in, u.tokens_out, u.tokens_cached, u.tokens_cache_write)
        )
        if cost is ...:  # the first request for this model: price it now (about a millisecond, once)
            cost = (
                None
                if u is None
                else cost_usd(self.ex.price, u.tokens_in, u.tokens_out, u.tokens_cached, u.tokens_cache_write)
            )
        if cost is not None:
            chunk = {**chunk, "usage": {**usage, "cost": cost}}
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def _inband_error(self, error: Any) -> bytes:
        message = error_message(error)
        self.ex.fail(CUT, 200, f"Provider {self.ex.provider!r} reported: {message}")
        fields = error if isinstance(error, dict) else {}
        code = fields.get("code") if isinstance(fields.get("code"), (str, int)) else None
        return error_event(message, str(fields.get("type") or "upstream_error"), code)

    def interrupted(self, message: str, exc: UpstreamError) -> bytes:
        return error_event(message, "upstream_error", exc.code)

    def cut(self, message: str) -> bytes:
        return error_event(message, "upstream_error", "stream_cut")

    def failed_after_commit(self, err: ApiError) -> bytes:
        return error_event(err.message, err.type, err.code)
