"""A scriptable fake of Anthropic's Messages API, speaking Anthropic's exact JSON and SSE.

The counterpart of :mod:`tests.fakes.openai_upstream` for the ``anthropic`` provider: used by
gateway tests (in-process) and benchmarks (``python -m tests.fakes.anthropic_upstream``).

Each request to ``/v1/messages`` or ``/v1/messages/count_tokens`` consumes one scripted behaviour
(:meth:`FakeAnthropicUpstream.script`); with none queued it answers normally. Behaviours cover the
failure modes a gateway must survive: errors in Anthropic's error shape (429 with ``retry-after``,
529 overloaded, ...), garbage bodies, slow or hanging upstreams, and streams that end cleanly, stop
without ``message_stop``, reset the connection, stall, or carry an in-band ``event: error``.

Wire formats follow ``shared/specs/anthropic-openapi.json`` (``Message``, ``Usage``,
``MessageStreamEvent`` and its members, ``ErrorResponse``, ``CountMessageTokensResponse``,
``ListResponse_ModelInfo_``) and Anthropic's documented streaming sequence: ``message_start``,
``ping``, per content block ``content_block_start`` / ``content_block_delta``... /
``content_block_stop``, then ``message_delta`` and ``message_stop``.

Order of checks for a request: record it, check the key (401; ``x-api-key``, or ``Authorization:
Bearer`` as anthropic SDK 2.x sends it) and ``anthropic-version`` (400), take the next scripted
behaviour, wait its delay, then answer: scripted ``Hang`` / ``AnthropicError`` /
``Reply(json|body)`` answer as scripted whatever the body said; everything else is validated like
the real API (400 ``invalid_request_error``, 404 unknown model) and answered normally, shaped by
``Reply(content=...)`` or ``Stream(...)``.

The normal answer is deterministic: ``"Hello from fake Claude! You said: <last user text>"``.
With ``tools`` it calls a tool when ``tool_choice`` is ``any``/``tool``, or (``auto``) when the last
user text contains "use tool" or "call tool" (two parallel calls if it also says "parallel"); the
input is built from the tool's ``input_schema``. ``thinking`` adds a signed thinking block first.
``stop_sequences`` and ``max_tokens`` cut the text (one token = one word). ``cache_control``
breakpoints are remembered: the first request writes the prefix to the cache
(``cache_creation_input_tokens``), later ones with the same prefix read it (``cache_read_input_tokens``);
more than 4 of them, or a 1-hour one after a 5-minute one, is the real API's 400.
Native structured outputs (``output_config.format``; the beta ``output_format`` with its
``anthropic-beta`` header) answer with JSON text that fits the schema, on the models that have them
(4.5 and later); other models, and schemas outside the grammar, get the real 400
(:mod:`tests.fakes.anthropic_structured`). A forced tool call (``tool_choice`` ``tool``) answers with a
``tool_use`` block whose input fits the tool's ``input_schema`` (``$ref``s followed), streamed as
``input_json_delta`` pieces.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import itertools
import os
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.anthropic_structured import BETA, SchemaRefused, check_format, example
from tests.fakes.openai_upstream import (
    _SSE_HEADERS,
    Hang,
    Headers,
    RecordedRequest,
    Reply,
    _abort,
    _example_object,
    _hard_reset,
    _resolve,
    _split,
    _tokens,
)

__all__ = [
    "AnthropicError",
    "Behaviour",
    "Delay",
    "FakeAnthropicUpstream",
    "Hang",
    "RecordedRequest",
    "Reply",
    "Stream",
    "api_error",
    "overloaded",
    "permission_error",
    "prompt_too_long",
    "rate_limited",
    "request_too_large",
]

DEFAULT_API_KEY = "sk-ant-test"
DEFAULT_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")
CONTEXT_WINDOW = 200_000
_API_VERSION = re.compile(r"^20\d\d-\d\d-\d\d$")  # the SDK in use sends 2026-10-21, older ones 2023-06-01
# id -> (display name, release date, max output tokens); other configured ids get derived values
MODEL_INFO = {
    "claude-sonnet-4-5": ("Claude Sonnet 4.5", "2025-09-29T00:00:00Z", 64_000),
    "claude-haiku-4-5": ("Claude Haiku 4.5", "2025-10-01T00:00:00Z", 64_000),
    "claude-opus-4-1": ("Claude Opus 4.1", "2025-08-05T00:00:00Z", 32_000),
}
DEFAULT_MODEL_CREATED = "2025-01-01T00:00:00Z"
DEFAULT_MAX_OUTPUT = 64_000

# Request fields the real API knows (spec: CreateMessageParams / CountMessageTokensParams, plus the newer
# diagnostics/speed/user_profile_id/workspace_id that anthropic SDK 2.x can send, and the deprecated
# output_format, which needs its beta header); others are
# "Extra inputs are not permitted" unless the request is a beta one (``?beta=true``).
_NEWER_FIELDS = "diagnostics speed user_profile_id workspace_id "
MESSAGE_FIELDS = frozenset(
    (
        "model messages cache_control container inference_geo max_tokens metadata output_config output_format "
        "service_tier "
        "stop_sequences stream system temperature thinking tool_choice tools top_k top_p " + _NEWER_FIELDS
    ).split()
)
COUNT_FIELDS = frozenset(
    ("cache_control messages model output_config system thinking tool_choice tools " + _NEWER_FIELDS).split()
)
BLOCK_TYPES = (  # spec: InputContentBlock
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "container_upload",
)
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_SNAPSHOT = re.compile(r"-\d{8}$")
_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"

# ------------------------------------------------------------------------------------------------
# Behaviours (``Reply`` and ``Hang`` are shared with the OpenAI fake)
# ------------------------------------------------------------------------------------------------

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Rate limited",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}


@dataclass
class AnthropicError:
    """An error in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}, "request_id"}``.

    ``type`` defaults from the status (529 -> ``overloaded_error``, 500 -> ``api_error``, ...), ``message``
    from the type.
    """

    status: int
    type: str | None = None
    message: str | None = None
    headers: dict[str, str] = dc_field(default_factory=dict)
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.type is None:
            self.type = ERROR_TYPES.get(self.status, "api_error")
        if self.message is None:
            self.message = _ERROR_MESSAGES.get(self.type, self.type)


def rate_limited(retry_after: float, *, limit: int = 50) -> AnthropicError:
    """429 ``rate_limit_error`` with ``retry-after`` (seconds) and the ``anthropic-ratelimit-*`` headers."""
    reset = (datetime.now(UTC) + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return AnthropicError(
        429,
        "rate_limit_error",
        f"This request would exceed the rate limit for your organization of {limit} requests per minute. "
        "For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for "
        "current usage. Please reduce the request rate or try again later.",
        headers={
            "retry-after": f"{retry_after:g}",
            "anthropic-ratelimit-requests-limit": str(limit),
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset,
        },
    )


def overloaded() -> AnthropicError:
    """529 ``overloaded_error`` (Anthropic's "too busy right now")."""
    return AnthropicError(529, "overloaded_error", "Overloaded")


def api_error(message: str = "Internal server error") -> AnthropicError:
    """500 ``api_error``."""
    return AnthropicError(500, "api_error", message)


def request_too_large() -> AnthropicError:
    """413 ``request_too_large`` (the body exceeded 32 MB)."""
    return AnthropicError(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.")


def permission_error() -> AnthropicError:
    """403 ``permission_error``."""
    return AnthropicError(403, "permission_error", _ERROR_MESSAGES["permission_error"])


def prompt_too_long(tokens: int = 250_000, maximum: int = CONTEXT_WINDOW) -> AnthropicError:
    """400 ``invalid_request_error`` for a context-length overflow, worded like the real API."""
    return AnthropicError(400, "invalid_request_error", f"prompt is too long: {tokens} tokens > {maximum} maximum")


StreamEnding = Literal["done", "eof", "reset", "close", "stall", "error_event"]
_ENDINGS = frozenset(("done", "eof", "reset", "close", "stall", "error_event"))
_DELTA_USAGE = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
DEFAULT_STREAM_ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


@dataclass
class Stream:
    """How to stream the answer (used when the request has ``"stream": true``).

    ``chunks``: the text pieces (default: the normal text split into the fake's ``chunks`` pieces);
    with ``tool_use`` they are the ``partial_json`` pieces of the tool call's input instead.
    ``first_delay``: seconds between ``message_start``/``ping`` and the first content block.
    ``chunk_delay``: seconds before each ``content_block_delta``.
    ``then`` decides the ending:

    - ``"done"``: ``message_delta`` (stop reason, usage) and ``message_stop``, then the response ends
    - ``"eof"``: end the HTTP response cleanly with no ``message_delta`` and no ``message_stop``
    - ``"reset"``: abort the TCP connection with a RST
    - ``"close"``: close the TCP connection (FIN) mid-body, without the chunked terminator
    - ``"stall"``: send nothing more and hold the connection open until the client goes away
    - ``"error_event"``: send ``event: error`` with ``error`` (default: ``overloaded_error``), then end

    ``after``: for endings other than ``"done"``, how many ``content_block_delta`` events go out before
    the ending (``0``: right after ``message_start``/``ping``; ``None``: after every content block is
    complete, i.e. instead of ``message_delta``/``message_stop``).
    ``tool_use`` forces a streamed tool call even if the request had no ``tools``.
    A non-stream request scripted with a ``Stream`` gets a normal answer built from the chunks.
    """

    chunks: list[str] | None = None
    chunk_delay: float = 0.0
    first_delay: float = 0.0
    then: StreamEnding = "done"
    after: int | None = None
    tool_use: bool = False
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.then not in _ENDINGS:
            raise ValueError(f"Stream(then={self.then!r}): expected one of {sorted(_ENDINGS)}")
        if self.after is not None and (self.then == "done" or self.after < 0):
            raise ValueError("Stream(after=...) needs a non-negative count and an ending other than 'done'")


@dataclass
class Delay:
    """Wait ``seconds`` before any response bytes, then do ``then`` (default: the normal answer)."""

    seconds: float
    then: Reply | AnthropicError | Stream | Hang | Delay | None = None


Behaviour = Reply | AnthropicError | Stream | Hang | Delay

# ------------------------------------------------------------------------------------------------
# Wire helpers
# ------------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A request the real API would refuse: raised by validation, answered as an error response."""

    def __init__(self, message: str, status: int = 400, type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message, self.status, self.type = message, status, type_


def _unwrap(behaviour: Behaviour | None) -> tuple[float, Reply | AnthropicError | Stream | Hang | None]:
    """Total delay before the response starts, and the behaviour that then answers."""
    delay = 0.0
    while isinstance(behaviour, Delay):
        delay += behaviour.seconds
        behaviour = behaviour.then
    if isinstance(behaviour, (Reply, AnthropicError)):
        delay += behaviour.delay
    return delay, behaviour


def _json_tokens(value: Any) -> int:
    """Token stand-in for structured data (tools, tool inputs): one per word-ish run of the JSON."""
    return len(re.findall(r"\w+", orjson.dumps(value).decode()))


def _char_split(text: str, pieces: int) -> list[str]:
    """``text`` in up to ``pieces`` parts of similar length that join back to ``text``."""
    count = max(1, min(pieces, len(text)))
    bounds = [len(text) * i // count for i in range(count + 1)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _ttl(item: Any) -> str:
    mark = item.get("cache_control") if isinstance(item, dict) else None
    return str(mark.get("ttl", "5m")) if isinstance(mark, dict) else "5m"


def _signature(thinking: str) -> str:
    return base64.b64encode(b"\x12\x00fake-signature" + hashlib.sha256(thinking.encode()).digest()).decode()


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _last_user(messages: list[dict[str, Any]]) -> tuple[str, bool]:
    """The last user turn's text (tool results' text if it has none), and whether it carries tool results."""
    for message in reversed(messages):
        if message["role"] != "user":
            continue
        content = message["content"]
        if isinstance(content, str):
            return content, False
        texts = [b["text"] for b in content if b.get("type") == "text"]
        results = [_result_text(b) for b in content if b.get("type") == "tool_result"]
        return " ".join(texts or results), bool(results)
    return "", False


def _display_name(model: str) -> str:
    words = model.removeprefix("claude-").split("-")
    numbers = [w for w in words if w.isdigit()]
    names = [w.capitalize() for w in words if not w.isdigit()]
    return " ".join(["Claude", *names] + ([".".join(numbers)] if numbers else []))


@dataclass
class _Answer:
    blocks: list[dict[str, Any]]
    """Content blocks as a non-stream ``Message`` carries them."""
    pieces: list[list[str]]
    """Per block, the stream pieces: text / thinking / ``partial_json`` deltas."""
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


class FakeAnthropicUpstream:
    """The fake server. ``async with FakeAnthropicUpstream() as fake: ... fake.base_url ...``

    ``base_url`` is the server root (``http://127.0.0.1:PORT``), which is what the ``anthropic`` SDK
    and Anthropic-style provider configs expect (they add ``/v1/messages`` themselves).
    ``api_key``: the key expected in ``x-api-key`` or, with ``bearer`` (as anthropic SDK 2.x sends API keys),
    ``Authorization: Bearer``; ``None`` turns authentication off (``anthropic-version`` is still required:
    any ``YYYY-MM-DD`` from 2023-01-01 on).
    ``models``: accepted model ids (a dated snapshot such as ``claude-sonnet-4-5-20250929`` of one is
    accepted too). ``chunks``/``chunk_delay``: how a default stream is split and paced.
    ``context_window``: prompts counted above it get the real "prompt is too long" 400.
    ``record=False`` keeps ``requests`` empty (long benchmark runs: flat memory). ``port=0`` picks a free port.
    """

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        bearer: bool = True,
        models: Sequence[str] = DEFAULT_MODELS,
        chunks: int = 5,
        chunk_delay: float = 0.0,
        context_window: int = CONTEXT_WINDOW,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
    ) -> None:
        self.api_key = api_key
        self.bearer = bearer
        self.models: list[str] = list(models)
        self.default_chunks = chunks
        self.default_chunk_delay = chunk_delay
        self.context_window = context_window
        self.host = host
        self.port = port
        self.record = record
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[float] = []
        self.default_behaviour: Behaviour | None = None
        """Used when no scripted behaviour is queued (``None``: answer normally)."""
        self._script: deque[Behaviour] = deque()
        self._cache: set[bytes] = set()
        self._created_1h = 0  # of the last request's cache writes, those in 1-hour entries
        self._disconnect_seen = 0
        self._disconnect_event = asyncio.Event()
        self._waiters: set[asyncio.Future[bool]] = set()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._id_prefix = os.urandom(6).hex()
        self._ids = itertools.count(1)

    # -- control ---------------------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours; each messages/count_tokens request takes the next one (none left: normal answers)."""
        self._script.extend(behaviours)

    @property
    def queued(self) -> int:
        """How many scripted behaviours are still waiting for a request."""
        return len(self._script)

    def clear(self) -> None:
        """Forget the script, the recorded requests and disconnects, and the prompt cache."""
        self._script.clear()
        self.requests.clear()
        self.disconnects.clear()
        self._cache.clear()
        self._disconnect_seen = 0
        self._disconnect_event.clear()

    async def wait_disconnect(self, timeout: float) -> float:
        """The ``time.monotonic()`` of the next client disconnect not yet returned by this method.

        Returns at once if one was already recorded; raises ``TimeoutError`` after ``timeout`` s.
        """
        async with asyncio.timeout(timeout):
            while self._disconnect_seen >= len(self.disconnects):
                self._disconnect_event.clear()
                await self._disconnect_event.wait()
        self._disconnect_seen += 1
        return self.disconnects[self._disconnect_seen - 1]

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._guarded(self._messages))
        app.router.add_post("/v1/messages/count_tokens", self._guarded(self._count_tokens))
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model}", self._get_model)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._closing = False
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    async def close(self) -> None:
        """Stop serving; in-flight hangs, stalls and delays end at once (without counting as disconnects)."""
        if self._runner is None:
            return
        self._closing = True
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(False)
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> FakeAnthropicUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- waiting, with disconnect detection ------------------------------------------------------

    def _note_disconnect(self) -> None:
        if not self._closing:
            self.disconnects.append(time.monotonic())
            self._disconnect_event.set()

    async def _wait(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (``None``: until the client goes away). ``False`` if the fake is closing."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, _resolve, waiter)
        self._waiters.add(waiter)
        try:
            return await waiter
        finally:
            self._waiters.discard(waiter)
            if timer is not None:
                timer.cancel()

    def _guarded(self, handler: Any) -> Any:
        """Wrap a handler: a client going away mid-request cancels it; record when, then let it unwind."""

        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except asyncio.CancelledError:
                self._note_disconnect()
                raise

        return guarded

    # -- responses -------------------------------------------------------------------------------

    def _request_id(self) -> str:
        return f"req_011C{self._id_prefix}{next(self._ids):010d}"

    def _json_response(self, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        h = CIMultiDict({"Content-Type": "application/json", "request-id": self._request_id()})
        if headers:
            h.update(headers)
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return web.Response(status=status, body=body, headers=h)

    def _error(self, status: int, type_: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        request_id = self._request_id()
        body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": request_id}
        h = CIMultiDict({"Content-Type": "application/json", "request-id": request_id})
        if headers:
            h.update(headers)
        return web.Response(status=status, body=orjson.dumps(body), headers=h)

    # -- request intake --------------------------------------------------------------------------

    async def _intake(self, request: web.Request) -> tuple[Any, bytes, web.Response | None]:
        """Read, record and authenticate a request: ``(parsed body, raw body, refusal or None)``."""
        arrived = time.monotonic()
        raw = await request.read()
        parsed: Any = None
        if raw:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = None
        if self.record:
            headers = Headers(request.headers.items())
            self.requests.append(RecordedRequest(request.method, request.path, headers, parsed, raw, arrived))
        if self.api_key is not None:
            presented = request.headers.get("x-api-key")
            bearer = request.headers.get("Authorization", "")
            if not presented and self.bearer and bearer[:7].lower() == "bearer ":
                presented = bearer[7:].strip()
            if not presented:
                return parsed, raw, self._error(401, "authentication_error", "x-api-key header is required")
            if presented != self.api_key:
                return parsed, raw, self._error(401, "authentication_error", "invalid x-api-key")
        version = request.headers.get("anthropic-version")
        if not version:
            return parsed, raw, self._error(400, "invalid_request_error", "anthropic-version: header is required")
        if not _API_VERSION.match(version) or version < "2023-01-01":
            message = f"anthropic-version: invalid version '{version}'"
            return parsed, raw, self._error(400, "invalid_request_error", message)
        return parsed, raw, None

    async def _scripted(
        self, request: web.Request
    ) -> tuple[Reply | AnthropicError | Stream | None, web.StreamResponse | None]:
        """Take the next behaviour and wait its delay; answer now if it fully decides the response."""
        behaviour = self._script.popleft() if self._script else self.default_behaviour
        if behaviour is None:
            return None, None
        delay, behaviour = _unwrap(behaviour)
        if delay > 0 and not await self._wait(delay):
            return None, _abort(request)
        if isinstance(behaviour, Hang):
            await self._wait(None)
            return None, _abort(request)  # only reached when the fake closes
        if isinstance(behaviour, AnthropicError):
            assert behaviour.type is not None and behaviour.message is not None
            return None, self._error(behaviour.status, behaviour.type, behaviour.message, behaviour.headers)
        if isinstance(behaviour, Reply) and (behaviour.json is not None or behaviour.body is not None):
            body = behaviour.body if behaviour.body is not None else orjson.dumps(behaviour.json)
            return None, self._json_response(body, behaviour.status, behaviour.headers)
        return behaviour, None

    # -- validation ------------------------------------------------------------------------------

    def _known_model(self, model: str) -> bool:
        return model in self.models or _SNAPSHOT.sub("", model) in self.models

    def _validate(
        self, parsed: Any, raw: bytes, *, counting: bool, beta: bool, mid_system: bool = False
    ) -> dict[str, Any]:
        """The request body, checked like the real API; raises :class:`_Invalid`."""
        if not isinstance(parsed, dict):
            if raw and parsed is None:
                raise _Invalid("There was an error parsing the body of your request: it is not valid JSON.")
            raise _Invalid("Input should be a valid dictionary or object to extract fields from")
        if not beta:
            known = COUNT_FIELDS if counting else MESSAGE_FIELDS
            extra = next((k for k in parsed if k not in known), None)
            if extra is not None:
                raise _Invalid(f"{extra}: Extra inputs are not permitted")
        model = parsed.get("model")
        if model is None:
            raise _Invalid("model: Field required")
        if not isinstance(model, str):
            raise _Invalid("model: Input should be a valid string")
        if not self._known_model(model):
            raise _Invalid(f"model: {model}", 404, "not_found_error")
        if not counting:
            max_tokens = parsed.get("max_tokens")
            if max_tokens is None:
                raise _Invalid("max_tokens: Field required")
            if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
                raise _Invalid("max_tokens: Input should be a valid integer")
            if max_tokens < 1:
                raise _Invalid("max_tokens: Input should be greater than or equal to 1")
            limit = MODEL_INFO.get(_SNAPSHOT.sub("", model), ("", "", DEFAULT_MAX_OUTPUT))[2]
            if max_tokens > limit:
                raise _Invalid(
                    f"max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of output tokens "
                    f"for {model}"
                )
            self._check_sampling(parsed)
        self._check_messages(parsed.get("messages"), mid_system)
        self._check_system(parsed.get("system"))
        tool_names = self._check_tools(parsed.get("tools"))
        self._check_tool_choice(parsed.get("tool_choice"), tool_names)
        self._check_thinking(parsed, counting)
        self._check_cache_control(parsed)
        return parsed

    @staticmethod
    def _output_format(body: dict[str, Any], beta_header: str) -> dict[str, Any] | None:
        """The JSON schema the answer must follow (``output_config.format``, or the beta
        ``output_format``, which needs the ``structured-outputs-2025-11-13`` beta); raises :class:`_Invalid`."""
        config = body.get("output_config")
        fmt, where = (config.get("format"), "output_config.format") if isinstance(config, dict) else (None, "")
        if body.get("output_format") is not None:
            if BETA not in beta_header:
                raise _Invalid(f"output_format: this field requires the anthropic-beta header '{BETA}'")
            if fmt is not None:
                raise _Invalid("output_format and output_config.format cannot both be set")
            fmt, where = body["output_format"], "output_format"
        if fmt is None:
            return None
        try:
            return check_format(fmt, body["model"], where)
        except SchemaRefused as refused:
            raise _Invalid(str(refused)) from None

    @staticmethod
    def _check_cache_control(body: dict[str, Any]) -> None:
        """At most 4 breakpoints, and no 1-hour one after a 5-minute one (Anthropic's rules)."""
        marks: list[dict[str, Any]] = []
        for tool in body.get("tools") or ():
            marks.append(tool.get("cache_control"))
        system = body.get("system")
        for block in system if isinstance(system, list) else ():
            marks.append(block.get("cache_control"))
        for message in body["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else ():
                if block.get("type") in ("thinking", "redacted_thinking") and "cache_control" in block:
                    raise _Invalid(f"{block['type']} blocks cannot be marked with cache_control")
                marks.append(block.get("cache_control"))
                if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                    marks += [inner.get("cache_control") for inner in block["content"] if isinstance(inner, dict)]
        marks = [m for m in marks if m is not None]
        if isinstance(body.get("cache_control"), dict):
            marks.append(body["cache_control"])
        if len(marks) > 4:
            raise _Invalid(f"A maximum of 4 blocks with cache_control may be provided. Found {len(marks)}.")
        ttls = [m.get("ttl", "5m") for m in marks]
        if "1h" in ttls and "5m" in ttls[: len(ttls) - ttls[::-1].index("1h")]:
            raise _Invalid("a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block")

    @staticmethod
    def _check_sampling(body: dict[str, Any]) -> None:
        if "stream" in body and not isinstance(body["stream"], bool):
            raise _Invalid("stream: Input should be a valid boolean")
        for name, high in (("temperature", 1.0), ("top_p", 1.0)):
            value = body.get(name)
            if value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise _Invalid(f"{name}: Input should be a valid number")
            if not 0 <= value <= high:
                raise _Invalid(f"{name}: range: 0..{high:g}")
        top_k = body.get("top_k")
        if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0):
            raise _Invalid("top_k: Input should be a non-negative integer")
        stops = body.get("stop_sequences")
        if stops is not None:
            if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
                raise _Invalid("stop_sequences: Input should be a valid list of strings")
            if any(not s.strip() for s in stops):
                raise _Invalid("stop_sequences: each stop sequence must contain non-whitespace")
        metadata = body.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise _Invalid("metadata: Input should be a valid dictionary")
            extra = next((k for k in metadata if k != "user_id"), None)
            if extra is not None:
                raise _Invalid(f"metadata.{extra}: Extra inputs are not permitted")
            if metadata.get("user_id") is not None and not isinstance(metadata["user_id"], str):
                raise _Invalid("metadata.user_id: Input should be a valid string")

    @staticmethod
    def _check_block(block: Any, where: str, role: str) -> None:
        if not isinstance(block, dict):
            raise _Invalid(f"{where}: Input should be a valid dictionary")
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            expected = ", ".join(f"'{t}'" for t in BLOCK_TYPES)
            raise _Invalid(
                f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected tags: {expected}"
            )
        required = {
            "text": ("text",),
            "image": ("source",),
            "document": ("source",),
            "thinking": ("thinking", "signature"),
            "redacted_thinking": ("data",),
            "tool_use": ("id", "name", "input"),
            "tool_result": ("tool_use_id",),
        }.get(kind, ())
        missing = next((name for name in required if name not in block), None)
        if missing is not None:
            raise _Invalid(f"{where}.{kind}.{missing}: Field required")
        if kind == "text":
            if not isinstance(block["text"], str):
                raise _Invalid(f"{where}.text.text: Input should be a valid string")
            if not block["text"]:
                raise _Invalid("messages: text content blocks must be non-empty")
        elif kind in ("image", "document") and not isinstance(block["source"], dict):
            raise _Invalid(f"{where}.{kind}.source: Input should be a valid dictionary")
        elif kind == "tool_use":
            if role != "assistant":
                raise _Invalid(f"{where}: `tool_use` blocks can only be in `assistant` messages")
            if not isinstance(block["input"], dict):
                raise _Invalid(f"{where}.tool_use.input: Input should be a valid dictionary")
        elif kind == "tool_result":
            if role != "user":
                raise _Invalid(f"{where}: `tool_result` blocks can only be in `user` messages")
            content = block.get("content")
            if content is not None and not isinstance(content, (str, list)):
                raise _Invalid(f"{where}.tool_result.content: Input should be a valid string or list")
        elif kind in ("thinking", "redacted_thinking") and role != "assistant":
            raise _Invalid(f"{where}: `{kind}` blocks can only be in `assistant` messages")

    def _check_messages(self, messages: Any, mid_system: bool = False) -> None:
        if messages is None:
            raise _Invalid("messages: Field required")
        if not isinstance(messages, list):
            raise _Invalid("messages: Input should be a valid list")
        if not messages:
            raise _Invalid("messages: at least one message is required")
        previous_role: str | None = None
        previous_tool_ids: list[str] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _Invalid(f"messages.{i}: Input should be a valid dictionary")
            role = message.get("role")
            if role == "system" and mid_system and i > 0:
                # beta mid-conversation-system: system text between turns (Claude Code sends it)
                content = message.get("content")
                texts = [content] if isinstance(content, str) else content
                if not isinstance(texts, list) or not all(
                    isinstance(t, str) or (isinstance(t, dict) and t.get("type") == "text") for t in texts
                ):
                    raise _Invalid(f"messages.{i}.content: system messages hold text only")
                continue
            if role not in ("user", "assistant"):
                raise _Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            if i == 0 and role != "user":
                raise _Invalid('messages: first message must use the "user" role')
            if role == previous_role:
                raise _Invalid(
                    f'messages: roles must alternate between "user" and "assistant", but found multiple "{role}" '
                    "roles in a row"
                )
            if "content" not in message:
                raise _Invalid(f"messages.{i}.content: Field required")
            content = message["content"]
            last = i == len(messages) - 1
            if isinstance(content, str):
                if not content and not (last and role == "assistant"):
                    raise _Invalid("messages: text content blocks must be non-empty")
                blocks: list[Any] = []
            elif isinstance(content, list):
                if not content and not (last and role == "assistant"):
                    raise _Invalid(
                        f"messages.{i}: all messages must have non-empty content except for the optional final "
                        "assistant message"
                    )
                blocks = content
                for j, block in enumerate(blocks):
                    self._check_block(block, f"messages.{i}.content.{j}", role)
            else:
                raise _Invalid(f"messages.{i}.content: Input should be a valid string or list")
            if last and role == "assistant":
                tail = content if isinstance(content, str) else (blocks[-1].get("text") if blocks else None)
                if isinstance(tail, str) and tail and tail != tail.rstrip():
                    raise _Invalid("messages: final assistant content cannot end with trailing whitespace")
            results = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
            unknown = [r for r in results if r not in previous_tool_ids]
            if unknown:
                raise _Invalid(
                    f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{', '.join(map(str, unknown))}. Each `tool_result` block must have a corresponding `tool_use` "
                    "block in the previous message."
                )
            unanswered = [t for t in previous_tool_ids if t not in results]
            if unanswered:
                raise _Invalid(
                    f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(unanswered)}. Each `tool_use` block must have a corresponding `tool_result` block "
                    "in the next message."
                )
            previous_role = role
            previous_tool_ids = [str(b["id"]) for b in blocks if b["type"] == "tool_use"]

    @staticmethod
    def _check_system(system: Any) -> None:
        if system is None or isinstance(system, str):
            return
        if not isinstance(system, list):
            raise _Invalid("system: Input should be a valid string or list")
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise _Invalid(f"system.{j}.type: Input should be 'text'")
            if not isinstance(block.get("text"), str) or not block["text"]:
                raise _Invalid("system: text content blocks must be non-empty")

    @staticmethod
    def _check_tools(tools: Any) -> list[str]:
        if tools is None:
            return []
        if not isinstance(tools, list):
            raise _Invalid("tools: Input should be a valid list")
        names: list[str] = []
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise _Invalid(f"tools.{j}: Input should be a valid dictionary")
            name = tool.get("name")
            if not isinstance(name, str):
                raise _Invalid(f"tools.{j}.name: Field required")
            if tool.get("type") in (None, "custom"):  # client tools; server tools (web_search_...) have no schema
                if not _TOOL_NAME.match(name):
                    raise _Invalid(f"tools.{j}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
                schema = tool.get("input_schema")
                if schema is None:
                    raise _Invalid(f"tools.{j}.custom.input_schema: Field required")
                if not isinstance(schema, dict) or schema.get("type") != "object":
                    raise _Invalid(f"tools.{j}.custom.input_schema.type: Input should be 'object'")
            if name in names:
                raise _Invalid("tools: Tool names must be unique.")
            names.append(name)
        return names

    @staticmethod
    def _check_tool_choice(choice: Any, tool_names: list[str]) -> None:
        if choice is None:
            return
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise _Invalid(
                "tool_choice: Input tag found using 'type' does not match any of the expected tags: "
                "'auto', 'any', 'tool', 'none'"
            )
        if choice["type"] == "tool":
            if not isinstance(choice.get("name"), str):
                raise _Invalid("tool_choice.tool.name: Field required")
            if choice["name"] not in tool_names:
                raise _Invalid(f"tool_choice: tool '{choice['name']}' not found in `tools`")
        if choice["type"] in ("any", "tool") and not tool_names:
            raise _Invalid("tool_choice: tool_choice may only be specified while providing tools.")

    @staticmethod
    def _check_thinking(body: dict[str, Any], counting: bool) -> None:
        thinking = body.get("thinking")
        if thinking is None:
            return
        if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled", "adaptive"):
            raise _Invalid(
                "thinking: Input tag found using 'type' does not match any of the expected tags: "
                "'enabled', 'disabled', 'adaptive'"
            )
        if thinking["type"] != "enabled":
            return
        budget = thinking.get("budget_tokens")
        if budget is None:
            raise _Invalid("thinking.enabled.budget_tokens: Field required")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
            raise _Invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if counting:
            return
        if body["max_tokens"] <= budget:
            raise _Invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
                f"{_THINKING_DOCS}#max-tokens-and-context-window-size"
            )
        if body.get("temperature") not in (None, 1, 1.0):
            raise _Invalid(
                "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at "
                f"{_THINKING_DOCS}#important-considerations-when-using-extended-thinking"
            )

    # -- token accounting and the prompt cache ---------------------------------------------------

    @staticmethod
    def _items(body: dict[str, Any]) -> list[tuple[int, Any, bool]]:
        """The prompt in cache order (tools, system, messages) as ``(tokens, item, has cache_control)``."""
        items: list[tuple[int, Any, bool]] = []
        for tool in body.get("tools") or ():
            items.append(
                (_json_tokens({k: v for k, v in tool.items() if k != "cache_control"}), tool, "cache_control" in tool)
            )
        system = body.get("system")
        if isinstance(system, str):
            items.append((_tokens(system), system, False))
        for block in system if isinstance(system, list) else ():
            items.append((_tokens(block["text"]), block, "cache_control" in block))
        for message in body["messages"]:
            content = message["content"]
            if isinstance(content, str):
                items.append((4 + _tokens(content), {"role": message["role"], "text": content}, False))
                continue
            items.append((4, {"role": message["role"]}, False))
            for block in content:
                kind = block["type"]
                if kind == "text":
                    count = _tokens(block["text"])
                elif kind == "thinking":
                    count = _tokens(block["thinking"])
                elif kind == "tool_use":
                    count = 5 + _json_tokens(block.get("input"))
                elif kind == "tool_result":
                    count = 5 + _tokens(_result_text(block))
                elif kind in ("image", "document"):
                    count = 100
                else:
                    count = 10
                items.append((count, block, "cache_control" in block))
        return items

    def _count(self, body: dict[str, Any]) -> int:
        return 3 + sum(tokens for tokens, _, _ in self._items(body))

    def _usage(self, body: dict[str, Any]) -> tuple[int, int, int]:
        """``(input_tokens, cache_creation_input_tokens, cache_read_input_tokens)``, updating the cache."""
        items = self._items(body)
        total = 3 + sum(tokens for tokens, _, _ in items)
        breakpoints = [i for i, (_, _, marked) in enumerate(items) if marked]
        if body.get("cache_control") and items:
            breakpoints.append(len(items) - 1)  # automatic caching: up to the last block
        if not breakpoints:
            return total, 0, 0
        digest = hashlib.sha256(body["model"].encode())
        cumulative, keys = 0, []  # (tokens up to the breakpoint, its prefix key)
        for i, (tokens, item, _) in enumerate(items):
            cumulative += tokens
            if isinstance(item, dict):
                item = {k: v for k, v in item.items() if k != "cache_control"}
            digest.update(orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
            if i in breakpoints:
                keys.append((cumulative, digest.copy().digest()))
        read = max((upto for upto, key in keys if key in self._cache), default=0)
        created = keys[-1][0] - read
        self._cache.update(key for _, key in keys)
        # the part written up to the last 1-hour breakpoint is a 1-hour entry (1h marks come first)
        hour_marks = [i for i, (_, item, marked) in enumerate(items) if marked and _ttl(item) == "1h"]
        upto_hour = sum(tokens for tokens, _, _ in items[: hour_marks[-1] + 1]) if hour_marks else 0
        self._created_1h = max(0, min(created, upto_hour - read))
        return max(1, total - read - created), created, read

    # -- endpoints -------------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        _, _, refused = await self._intake(request)
        if refused is not None:
            return refused
        return self._error(404, "not_found_error", "Not Found")

    def _model_object(self, model: str) -> dict[str, Any]:
        name, created, max_tokens = MODEL_INFO.get(
            model, (_display_name(model), DEFAULT_MODEL_CREATED, DEFAULT_MAX_OUTPUT)
        )
        return {
            "type": "model",
            "id": model,
            "display_name": name,
            "created_at": created,
            "max_input_tokens": self.context_window,
            "max_tokens": max_tokens,
            "capabilities": None,
        }

    async def _list_models(self, request: web.Request) -> web.Response:
        _, _, refused = await self._intake(request)
        if refused is not None:
            return refused
        models = list(self.models)
        after, before = request.query.get("after_id"), request.query.get("before_id")
        if after in models:
            models = models[models.index(after) + 1 :]
        if before in models:
            models = models[: models.index(before)]
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return self._error(400, "invalid_request_error", "limit: Input should be a valid integer")
        if not 1 <= limit <= 1000:
            return self._error(400, "invalid_request_error", "limit: Input should be between 1 and 1000")
        page = models[:limit]
        return self._json_response(
            {
                "data": [self._model_object(m) for m in page],
                "has_more": len(models) > limit,
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            }
        )

    async def _get_model(self, request: web.Request) -> web.Response:
        _, _, refused = await self._intake(request)
        if refused is not None:
            return refused
        model = request.match_info["model"]
        if not self._known_model(model):
            return self._error(404, "not_found_error", f"model: {model}")
        return self._json_response(self._model_object(model))

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        parsed, raw, refused = await self._intake(request)
        if refused is not None:
            return refused
        _, answered = await self._scripted(request)
        if answered is not None:
            return answered
        try:
            body = self._validate(
                parsed,
                raw,
                counting=True,
                beta=request.query.get("beta") == "true",
                mid_system="mid-conversation-system" in request.headers.get("anthropic-beta", ""),
            )
        except _Invalid as invalid:
            return self._error(invalid.status, invalid.type, invalid.message)
        return self._json_response({"input_tokens": self._count(body)})

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        parsed, raw, refused = await self._intake(request)
        if refused is not None:
            return refused
        behaviour, answered = await self._scripted(request)
        if answered is not None:
            return answered
        try:
            body = self._validate(
                parsed,
                raw,
                counting=False,
                beta=request.query.get("beta") == "true",
                mid_system="mid-conversation-system" in request.headers.get("anthropic-beta", ""),
            )
            prompt = self._count(body)
            if prompt > self.context_window:
                raise _Invalid(f"prompt is too long: {prompt} tokens > {self.context_window} maximum")
            schema = self._output_format(body, request.headers.get("anthropic-beta", ""))
        except _Invalid as invalid:
            return self._error(invalid.status, invalid.type, invalid.message)
        answer = self._answer(body, behaviour, schema)
        input_tokens, created, read = self._usage(body)
        usage: dict[str, Any] = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created - self._created_1h,
                "ephemeral_1h_input_tokens": self._created_1h,
            },
            "output_tokens": answer.output_tokens,
            "service_tier": "standard",
        }
        message = {
            "id": f"msg_01{self._id_prefix}{next(self._ids):010d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": answer.blocks,
            "stop_reason": answer.stop_reason,
            "stop_sequence": answer.stop_sequence,
            "stop_details": None,
            "container": None,
            "usage": usage,
        }
        if body.get("stream"):
            stream = behaviour if isinstance(behaviour, Stream) else Stream()
            return await self._stream(request, stream, message, answer)
        if isinstance(behaviour, Reply):
            return self._json_response(message, behaviour.status, behaviour.headers)
        return self._json_response(message)

    def _answer(
        self, body: dict[str, Any], behaviour: Reply | Stream | None, schema: dict[str, Any] | None = None
    ) -> _Answer:
        """What the fake model says: content blocks, their stream pieces, stop reason and output tokens.
        With a structured-output ``schema`` the text is JSON that fits it."""
        messages = body["messages"]
        said, answering_results = _last_user(messages)
        chunks = self.default_chunks
        scripted_pieces: list[str] | None = None
        forced_tool = isinstance(behaviour, Stream) and behaviour.tool_use
        text = f"Hello from fake Claude! You said: {said}"
        if schema is not None:
            text = orjson.dumps(example(schema, said)).decode()
        if isinstance(behaviour, Reply) and behaviour.content is not None:
            text = behaviour.content
        elif isinstance(behaviour, Stream) and behaviour.chunks is not None:
            scripted_pieces = behaviour.chunks
            if not forced_tool:
                text = "".join(behaviour.chunks)

        tools = [t for t in body.get("tools") or () if t.get("type") in (None, "custom")]
        choice = body.get("tool_choice") or {"type": "auto"}
        lowered = said.lower()
        wants = "use tool" in lowered or "call tool" in lowered
        calls: list[dict[str, Any]] = []
        if forced_tool or (
            tools
            and (choice["type"] in ("any", "tool") or (choice["type"] == "auto" and wants and not answering_results))
        ):
            chosen = [t for t in tools if choice["type"] != "tool" or t["name"] == choice["name"]] or [
                {"name": "tool", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
            ]
            calls = chosen[:1]
            if "parallel" in lowered and not choice.get("disable_parallel_tool_use"):
                calls = [chosen[0], chosen[1] if len(chosen) > 1 else chosen[0]]

        blocks: list[dict[str, Any]] = []
        pieces: list[list[str]] = []
        budget = body["max_tokens"]
        thinking = body.get("thinking")
        if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
            thought = f"The user said: {said}. A short, friendly answer will do."
            blocks.append({"type": "thinking", "thinking": thought, "signature": _signature(thought)})
            pieces.append(_split(thought, chunks))
            budget -= _tokens(thought)

        stop_reason, stop_sequence = "end_turn", None
        if forced_tool:
            text = ""
        elif calls:  # Claude, left to choose (auto), says what it is about to do; forced calls come without text
            names = " and ".join(dict.fromkeys(c["name"] for c in calls))
            text = f"I'll use {names}." if choice["type"] == "auto" else ""
        if text:
            hits = [(text.find(s), s) for s in body.get("stop_sequences") or () if s in text]
            if hits:
                position, stop_sequence = min(hits)
                text, stop_reason, calls = text[:position], "stop_sequence", []
            if _tokens(text) > budget:
                text = " ".join(text.split()[: max(0, budget)])
                stop_reason, stop_sequence, calls = "max_tokens", None, []
            budget -= _tokens(text)
            if text:
                blocks.append({"type": "text", "text": text, "citations": None})
                if scripted_pieces is not None and "".join(scripted_pieces) == text:
                    pieces.append(list(scripted_pieces))  # a scripted Stream's chunks, exactly as given
                elif schema is not None:
                    pieces.append(_char_split(text, chunks))
                else:
                    pieces.append(_split(text, chunks))

        for n, tool in enumerate(calls):
            if forced_tool and scripted_pieces is not None:
                arguments = "".join(scripted_pieces)
                try:
                    tool_input = orjson.loads(arguments)
                except orjson.JSONDecodeError:
                    tool_input = {}
                json_pieces = list(scripted_pieces)
            else:
                tool_schema = tool.get("input_schema")
                if isinstance(tool_schema, dict) and ("$defs" in tool_schema or "definitions" in tool_schema):
                    tool_input = example(tool_schema, said)  # nested models (pydantic's $defs and $refs)
                else:
                    tool_input = _example_object(tool_schema, said) if isinstance(tool_schema, dict) else {}
                arguments = orjson.dumps(tool_input).decode()
                json_pieces = _char_split(arguments, chunks) if arguments != "{}" else []
            cost = 5 + _json_tokens(tool_input)
            over = cost > budget
            if over and n > 0:
                stop_reason = "max_tokens"
                break
            budget -= cost
            tool_id = f"toolu_01{self._id_prefix}{next(self._ids):010d}"
            blocks.append({"type": "tool_use", "id": tool_id, "name": tool["name"], "input": tool_input})
            pieces.append(["", *json_pieces])  # the real API opens every tool input with an empty partial_json
            stop_reason = "max_tokens" if over else "tool_use"
            if over:
                break

        output = min(body["max_tokens"], body["max_tokens"] - budget)
        return _Answer(blocks, pieces, stop_reason, stop_sequence, max(1, output))

    async def _stream(
        self, request: web.Request, stream: Stream, message: dict[str, Any], answer: _Answer
    ) -> web.StreamResponse:
        usage = message["usage"]
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        head: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": start}),
            ("ping", {"type": "ping"}),
        ]
        body: list[tuple[str, dict[str, Any]]] = []
        for index, (block, parts) in enumerate(zip(answer.blocks, answer.pieces, strict=True)):
            kind = block["type"]
            if kind == "thinking":
                opening = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [{"type": "thinking_delta", "thinking": p} for p in parts]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif kind == "text":
                opening = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in parts]
            else:
                opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in parts]
            body.append(
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})
            )
            body.extend(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas
            )
            body.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        tail: list[tuple[str, dict[str, Any]]] = [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": answer.stop_reason, "stop_sequence": answer.stop_sequence},
                    "usage": {k: usage[k] for k in _DELTA_USAGE},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]

        chunk_delay = stream.chunk_delay or self.default_chunk_delay
        response = web.StreamResponse(headers={**_SSE_HEADERS, "request-id": self._request_id()})

        def frame(name: str, data: Mapping[str, Any]) -> bytes:
            return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

        try:
            await response.prepare(request)
            await response.write(b"".join(frame(name, data) for name, data in head))
            if stream.first_delay > 0 and not await self._wait(stream.first_delay):
                return _abort(request)
            sent = 0
            if stream.after != 0:
                for name, data in body:
                    if name == "content_block_delta" and chunk_delay > 0 and not await self._wait(chunk_delay):
                        return _abort(request)
                    await response.write(frame(name, data))
                    if name == "content_block_delta":
                        sent += 1
                        if sent == stream.after:
                            break

            then = stream.then
            if then == "done":
                await response.write(b"".join(frame(name, data) for name, data in tail))
            elif then == "error_event":
                await response.write(frame("error", stream.error if stream.error is not None else DEFAULT_STREAM_ERROR))
            elif then == "reset":
                _hard_reset(request)
                return response
            elif then == "close":
                if request.transport is not None:
                    request.transport.close()  # FIN after the buffered bytes, no chunked terminator
                return response
            elif then == "stall":
                await self._wait(None)
                return _abort(request)  # only reached when the fake closes
            await response.write_eof()
            return response
        except ConnectionResetError:  # includes aiohttp's ClientConnectionResetError on write
            self._note_disconnect()
            return response


# ------------------------------------------------------------------------------------------------
# CLI: python -m tests.fakes.anthropic_upstream --port 0
# ------------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeAnthropicUpstream(
        api_key=args.api_key or None,
        models=args.models.split(","),
        chunks=args.chunks,
        chunk_delay=args.chunk_delay,
        host=args.host,
        port=args.port,
        record=False,
    )
    if args.fail_status:
        fake.default_behaviour = AnthropicError(args.fail_status)
    url = await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake anthropic upstream listening on {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.anthropic_upstream", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="expected x-api-key ('' disables auth)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model ids")
    parser.add_argument("--chunks", type=int, default=5, help="text pieces per streamed block")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds before each streamed delta")
    parser.add_argument("--fail-status", type=int, default=0, help="answer every request with this error status")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(args))
    else:
        uvloop.run(_serve(args))


if __name__ == "__main__":
    main(sys.argv[1:])
