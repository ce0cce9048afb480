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
from proxy.providers.base import UpstreamCall
from proxy.routing.resolve import Attempt
from proxy.server.streaming import ProgressTap, Retelling
from proxy.server.surfaces.base import Dialect
from proxy.server.validation import check_banned, check_tools, missing, stream_flag, wrong_type
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
        raise missing("input")
    value = body.get("input")
    if value is not None and not isinstance(value, (str, list)):
        raise wrong_type("input", "a string or an array of input items", value)
    stream = stream_flag(body)
    check_tools(body, of_objects=False)
    check_banned(body)
    return stream


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


def _error_event(message: str, code: str, sequence_number: int) -> bytes:
    payload = {"type": "error", "code": code, "message": message, "param": None, "sequence_number": sequence_number}
    return sse_event("error", payload)


class Responses(Dialect):
    """A Responses request: as it is to a target that serves the Responses API, else in the chat form."""

    format = "responses"
    terminal = "response.completed"
    __slots__ = ("response_id", "created", "translated", "sent")

    def __init__(self, ex: Exchange, body: dict[str, Any], request: web.Request) -> None:
        super().__init__(ex, body, request)
        self.response_id = f"resp_{ex.id}"
        self.created = int(time.time())
        self.translated: dict[str, Any] | None = None
        self.sent = 0
        """Events sent on a native stream (an error event's ``sequence_number``)."""

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        return check_responses(body)

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        if "responses" in native:
            return UpstreamCall("responses", {**self.body, "model": attempt.model}, self.stream)
        if self.translated is None:
            self.translated = self._to_chat()
        chat = {**self.translated, "model": attempt.model}
        chat.pop("stream_options", None)
        if self.stream and stream_usage:
            chat["stream_options"] = {"include_usage": True}
        return UpstreamCall("chat/completions", chat, self.stream)

    def _to_chat(self) -> dict[str, Any]:
        try:
            chat = responses_request_to_chat(self.body)
        except TranslationError as exc:
            raise ApiError(400, exc.message, param=exc.param, code="unsupported_parameter") from None
        if dropped := dropped_tools(self.body):
            log.info("request %s: tools only OpenAI runs were left out: %s", self.ex.id, ", ".join(dropped))
        return chat

    def is_lifecycle(self, event: SSEEvent, provider: str) -> bool:
        """``response.created``/``in_progress`` and the opening of items are lifecycle;
        ``response.failed`` and ``error`` are failures."""
        name = _name(event)
        if name in _FAILED:
            raise _error_of(provider, event)
        return name in _LIFECYCLE

    def usage(self, usage: Any) -> Usage | None:
        return responses_usage(usage)

    def from_chat(self, completion: dict[str, Any]) -> Any:
        request = {**self.body, "model": self.model}
        return chat_completion_to_response(completion, request, self.response_id, self.created)

    def see(self, event: SSEEvent, tap: ProgressTap | None) -> bytes | None:
        """Usage from the final event; a ``response.failed`` or ``error`` event is passed on, redacted."""
        self.sent += 1
        if event.data is not None:
            name = _name(event)
            if name in _TERMINAL:
                self.ended = True
                try:
                    self.ex.usage = responses_usage((orjson.loads(event.data).get("response") or {}).get("usage"))
                except (orjson.JSONDecodeError, AttributeError):
                    pass
            elif name in _FAILED:  # an upstream may echo the key it was sent
                error = _error_of(self.ex.provider or "?", event)
                self.ex.fail(CUT, 200, f"Provider {self.ex.provider!r} reported: {error.upstream_message}")
                self.ended = True
                return REDACTOR.redact(event.raw.decode("utf-8", "replace")).encode()
        return event.raw

    def interrupted(self, message: str, exc: UpstreamError) -> bytes:
        return _error_event(message, "stream_interrupted", self.sent)

    def cut(self, message: str) -> bytes:
        return _error_event(message, "stream_cut", self.sent)

    def retell(self) -> Retelling:
        return ResponsesStream(self.body, self.response_id, self.created, self.model)

    def retold_failure(self, retelling: Retelling, message: str, code: str) -> list[bytes]:
        assert isinstance(retelling, ResponsesStream)
        return retelling.fail(message, code)

    def failed_after_commit(self, err: ApiError) -> bytes:
        return _error_event(err.message, str(err.code or err.type), 0)
