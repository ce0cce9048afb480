"""A scriptable fake of an OpenAI-compatible upstream, speaking OpenAI's exact JSON and SSE.

Used by gateway tests (in-process) and benchmarks (``python -m tests.fakes.openai_upstream``).

Each request to ``/v1/chat/completions``, ``/v1/responses`` or ``/v1/embeddings`` consumes one
scripted behaviour (:meth:`FakeOpenAIUpstream.script`); with none queued it answers normally. Behaviours cover the
failure modes a gateway must survive: error statuses in OpenAI's error shape, 429 with
``Retry-After``, garbage bodies, slow or hanging upstreams, and streams that end cleanly, stop
without ``[DONE]``, reset the connection, stall, or carry an in-band error event.

Wire formats follow ``shared/specs/openai-openapi.yaml`` (``CreateChatCompletionResponse``,
``CreateChatCompletionStreamResponse``, ``CreateEmbeddingResponse``, ``ListModelsResponse``,
``ErrorResponse``; for ``/v1/responses``: ``Response`` and the ``ResponseStreamEvent`` sequence).

Order of checks for a request: record it, check auth (401), take the next scripted behaviour,
wait its delay, then answer: scripted ``Hang``/``OpenAIError``/``Reply(json|body)`` answer
as scripted whatever the body said; everything else is validated (400 malformed, 404 unknown
model) and answered normally, shaped by ``Reply(content=...)`` or ``Stream(...)``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import hashlib
import itertools
import os
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiohttp import web
from multidict import CIMultiDict

__all__ = [
    "Behaviour",
    "Delay",
    "FakeOpenAIUpstream",
    "Hang",
    "OpenAIError",
    "RecordedRequest",
    "Reply",
    "Stream",
    "rate_limited",
]

DEFAULT_MODELS = ("gpt-4o-mini", "text-embedding-3-small")
MODEL_CREATED = 1_700_000_000
SYSTEM_FINGERPRINT = "fp_fake0c0ffee"
EMBEDDING_DIMS = {"text-embedding-3-large": 3072}
DEFAULT_EMBEDDING_DIMS = 1536  # text-embedding-3-small, text-embedding-ada-002

# ------------------------------------------------------------------------------------------------
# Recorded requests
# ------------------------------------------------------------------------------------------------


class Headers(dict[str, str]):
    """A plain ``dict`` of the request headers (original spelling) with case-insensitive lookups."""

    __slots__ = ("_lower",)

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        super().__init__(items)
        self._lower = {k.lower(): v for k, v in self.items()}

    def __getitem__(self, key: str) -> str:
        return self._lower[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._lower.get(key.lower(), default)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Headers
    json: Any
    """The parsed body, or ``None`` when there was none or it was not JSON."""
    raw: bytes
    arrived_at: float
    """``time.monotonic()`` when the request reached the handler."""


# ------------------------------------------------------------------------------------------------
# Behaviours
# ------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """A custom non-stream answer.

    With ``json`` or ``body`` that exact body is sent (``body`` is raw bytes: garbage, a CDN's HTML
    page...; ``Content-Type`` is ``application/json`` unless ``headers`` say otherwise). Without
    either, a normal completion is sent with ``status``, ``headers`` and, if given, ``content`` as
    its text (a streaming request then streams that text).
    """

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content: str | None = None


@dataclass
class OpenAIError:
    """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | int | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def rate_limited(retry_after: float, *, model: str = "gpt-4o-mini") -> OpenAIError:
    """OpenAI's 429 with ``retry-after`` (seconds) and ``retry-after-ms`` headers."""
    return OpenAIError(
        429,
        f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, "
        f"Requested 1. Please try again in {retry_after:g}s. Visit https://platform.openai.com/account/rate-limits "
        "to learn more.",
        type="requests",
        code="rate_limit_exceeded",
        headers={"retry-after": f"{retry_after:g}", "retry-after-ms": f"{round(retry_after * 1000)}"},
    )


StreamEnding = Literal["done", "eof", "reset", "close", "stall", "error_event"]
_ENDINGS = frozenset(("done", "eof", "reset", "close", "stall", "error_event"))
_DEFAULT_STREAM_ERROR = {
    "error": {"message": "Upstream provider error mid-stream", "type": "server_error", "code": 502}
}


@dataclass
class Stream:
    """How to stream the answer (used when the request has ``"stream": true``).

    ``chunks``: the content pieces (default: the normal reply split into the fake's ``chunks``
    pieces); with ``tool_call`` they are the pieces of the tool call's ``arguments`` instead.
    ``first_delay``: seconds between the response headers and the first event.
    ``chunk_delay``: seconds before each content (or arguments) piece.
    ``then`` decides the ending:

    - ``"done"``: finish chunk, usage chunk (only if ``stream_options.include_usage``), ``[DONE]``
    - ``"eof"``: end the HTTP response cleanly with no ``finish_reason`` and no ``[DONE]``
    - ``"reset"``: abort the TCP connection with a RST (``SO_LINGER`` 0, then ``transport.abort()``)
    - ``"close"``: close the TCP connection (FIN) mid-body, without the chunked terminator
    - ``"stall"``: send nothing more and hold the connection open until the client goes away
    - ``"error_event"``: send ``data: {"error": {...}}`` (OpenRouter style; ``error`` overrides it), then end

    ``tool_call`` forces a streamed tool call even if the request had no ``tools``.
    A non-stream request scripted with a ``Stream`` gets a normal answer whose text is the chunks joined.
    """

    chunks: list[str] | None = None
    chunk_delay: float = 0.0
    first_delay: float = 0.0
    then: StreamEnding = "done"
    tool_call: bool = False
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.then not in _ENDINGS:
            raise ValueError(f"Stream(then={self.then!r}): expected one of {sorted(_ENDINGS)}")


@dataclass
class Hang:
    """Accept the request and never send headers, until the client goes away (recorded in ``disconnects``)."""


@dataclass
class Delay:
    """Wait ``seconds`` before any response bytes, then do ``then`` (default: the normal answer)."""

    seconds: float
    then: Reply | OpenAIError | Stream | Hang | Delay | None = None


Behaviour = Reply | OpenAIError | Stream | Hang | Delay

# ------------------------------------------------------------------------------------------------
# Wire helpers
# ------------------------------------------------------------------------------------------------

_JSON = "application/json"
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_DONE = b"data: [DONE]\n\n"
_NULL = b"null"
_OBFUSCATION = b"Zx9qLm3TbV7wKp2RnY5sHd8cJf4gAe6u" * 2


def _error_json(message: str, type_: str = "invalid_request_error", code: Any = None, param: Any = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _said(items: Any) -> str:
    """The last user text of a Responses ``input`` (a string, or items with text parts)."""
    if isinstance(items, str):
        return items
    for item in reversed(items if isinstance(items, list) else ()):
        if isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, list):
                return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
            return content if isinstance(content, str) else ""
    return ""


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", dict: "an object"}.get(type(value), "a value")


def _tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def _split(text: str, pieces: int) -> list[str]:
    """``text`` in ``pieces`` word-aligned parts (fewer if it has fewer words) that join back to ``text``."""
    if not text:
        return []
    words = text.split(" ")
    count = max(1, min(pieces, len(words)))
    bounds = [len(words) * i // count for i in range(count + 1)]
    parts = [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return [part + " " for part in parts[:-1]] + parts[-1:]


def _example_value(schema: Any, said: str, depth: int = 0) -> Any:
    """A value that fits a (simple) JSON schema: strings are the user's text."""
    if not isinstance(schema, dict) or depth > 4:
        return said
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _example_value(schema[key][0], said, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return _example_object(schema, said, depth + 1)
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "null": None}.get(kind, said)


def _example_object(schema: dict[str, Any], said: str, depth: int = 0) -> dict[str, Any]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    names = schema.get("required") or list(props)
    return {name: _example_value(props.get(name), said, depth) for name in names if isinstance(name, str)}


@functools.lru_cache(maxsize=4096)
def _embedding(key: bytes, dims: int) -> tuple[list[float], str]:
    """A deterministic unit vector for ``key`` as float32 values, and as base64 of little-endian float32."""
    raw = hashlib.shake_256(key).digest(2 * dims)
    ints = struct.unpack(f"<{dims}H", raw)
    vec = [i / 32767.5 - 1.0 for i in ints]
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    packed = struct.pack(f"<{dims}f", *(v / norm for v in vec))
    return list(struct.unpack(f"<{dims}f", packed)), base64.b64encode(packed).decode()


def _mask(key: str) -> str:
    """Mask a presented key the way OpenAI does: a few leading and the last 4 characters."""
    if len(key) < 12:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _hard_reset(request: web.BaseRequest) -> None:
    """Abort the connection; with ``SO_LINGER`` 0 the kernel sends a RST instead of a FIN."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError, ValueError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _abort(request: web.BaseRequest) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=503)  # never reaches the client: the connection is gone


def _unwrap(behaviour: Behaviour | None) -> tuple[float, Reply | OpenAIError | Stream | Hang | None]:
    """Total delay before the response starts, and the behaviour that then answers."""
    delay = 0.0
    while isinstance(behaviour, Delay):
        delay += behaviour.seconds
        behaviour = behaviour.then
    if isinstance(behaviour, (Reply, OpenAIError)):
        delay += behaviour.delay
    return delay, behaviour


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


class FakeOpenAIUpstream:
    """The fake server. ``async with FakeOpenAIUpstream() as fake: ... fake.base_url ...``

    ``chunks``/``chunk_delay``: how a default stream is split and paced. ``tool_chunks``/``tool_chunk_delay``:
    the same for the arguments of a streamed chat tool call (default: ``chunks``/``chunk_delay``), so a benchmark
    can stream long, paced tool calls next to short text streams. ``record=False`` keeps ``requests`` empty (long
    benchmark runs: flat memory). ``port=0`` picks a free port.
    """

    def __init__(
        self,
        *,
        api_key: str | None = "sk-fake-upstream",
        models: Sequence[str] = DEFAULT_MODELS,
        chunks: int = 5,
        chunk_delay: float = 0.0,
        tool_chunks: int | None = None,
        tool_chunk_delay: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
        ssl_context: Any = None,
    ) -> None:
        self.ssl_context = ssl_context
        """An ``ssl.SSLContext`` (server side): serve HTTPS with it (``base_url`` is then https)."""
        self.api_key = api_key
        self.models: list[str] = list(models)
        self.default_chunks = chunks
        self.default_chunk_delay = chunk_delay
        self.default_tool_chunks = chunks if tool_chunks is None else tool_chunks
        self.default_tool_chunk_delay = chunk_delay if tool_chunk_delay is None else tool_chunk_delay
        self.host = host
        self.port = port
        self.record = record
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[float] = []
        self._script: deque[Behaviour] = deque()
        self.default_behaviour: Behaviour | None = None
        """Used when no scripted behaviour is queued (``None``: answer normally)."""
        self._disconnect_seen = 0
        self._disconnect_event = asyncio.Event()
        self._waiters: set[asyncio.Future[bool]] = set()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._auth = f"Bearer {api_key}" if api_key is not None else None
        self._id_prefix = os.urandom(8).hex()[:15]
        self._ids = itertools.count(1)

    # -- control ---------------------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours; each chat/responses/embeddings request takes the next one (none left: normal answers)."""
        self._script.extend(behaviours)

    @property
    def queued(self) -> int:
        """How many scripted behaviours are still waiting for a request."""
        return len(self._script)

    def clear(self) -> None:
        """Forget the script, the recorded requests and the recorded disconnects."""
        self._script.clear()
        self.requests.clear()
        self.disconnects.clear()
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
        app.router.add_post("/v1/chat/completions", self._guarded(self._chat))
        app.router.add_post("/v1/embeddings", self._guarded(self._embeddings))
        app.router.add_post("/v1/responses", self._guarded(self._responses))
        app.router.add_post("/v1/completions", self._guarded(self._completions))
        # Azure OpenAI's URL shape: the deployment in the path, `api-version` in the query
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._guarded(self._chat))
        app.router.add_post("/openai/deployments/{deployment}/embeddings", self._guarded(self._embeddings))
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model}", self._get_model)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._closing = False
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        scheme = "https" if self.ssl_context is not None else "http"
        self.base_url = f"{scheme}://{self.host}:{self.port}/v1"
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

    async def __aenter__(self) -> FakeOpenAIUpstream:
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
        """Sleep ``seconds`` (``None``: until the client goes away). ``False`` if the fake is closing.

        A client disconnect cancels the handler here (``handler_cancellation=True``); :meth:`_guarded` records it.
        """
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
        if self._auth is not None:
            if request.path.startswith("/openai/deployments/"):  # Azure OpenAI: `api-key` header, api-version
                auth = "Bearer " + request.headers.get("api-key", "")
                if "api-version" not in request.query:
                    return (
                        parsed,
                        raw,
                        web.Response(
                            status=404, body=_error_json("Resource not found", code="404"), content_type=_JSON
                        ),
                    )
            else:
                auth = request.headers.get("Authorization", "")
            if auth != self._auth:
                return parsed, raw, self._unauthorized(auth)
        return parsed, raw, None

    @staticmethod
    def _unauthorized(auth: str) -> web.Response:
        presented = auth[7:].strip() if auth[:7].lower() == "bearer " else auth.strip()
        if not presented:
            body = _error_json(
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) "
                "if you're accessing the API from your browser and are prompted for a username and password. You "
                "can obtain an API key from https://platform.openai.com/account/api-keys."
            )
        else:
            body = _error_json(
                f"Incorrect API key provided: {_mask(presented)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        return web.Response(status=401, body=body, content_type=_JSON)

    def _json_response(self, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        h = CIMultiDict({"Content-Type": _JSON, "x-request-id": f"req_{self._id_prefix}{next(self._ids)}"})
        if headers:
            h.update(headers)
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return web.Response(status=status, body=body, headers=h)

    def _invalid(self, message: str, *, param: str | None = None, code: str | None = None) -> web.Response:
        return self._json_response(_error_json(message, param=param, code=code), status=400)

    def _model_not_found(self, model: str) -> web.Response:
        message = f"The model `{model}` does not exist or you do not have access to it."
        return self._json_response(_error_json(message, code="model_not_found"), status=404)

    def _check_body(self, parsed: Any, raw: bytes) -> web.Response | dict[str, Any]:
        """The request body as a dict, or a 400 (OpenAI's wording) / 404 for an unknown model."""
        if not isinstance(parsed, dict):
            if raw and parsed is None:
                return self._invalid(
                    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
                    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
                    "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
                    "help center at help.openai.com.)"
                )
            if not raw:
                return self._invalid("you must provide a model parameter")
            return self._invalid(f"Invalid type for body: expected an object, but got {type(parsed).__name__}.")
        model = parsed.get("model")
        if not model:
            return self._invalid("you must provide a model parameter")
        if not isinstance(model, str):
            return self._invalid("Invalid type for 'model': expected a string.", param="model", code="invalid_type")
        if model not in self.models:
            return self._model_not_found(model)
        return parsed

    async def _scripted(
        self, request: web.Request
    ) -> tuple[Reply | OpenAIError | Stream | None, web.StreamResponse | None]:
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
        if isinstance(behaviour, OpenAIError):
            error = _error_json(behaviour.message, behaviour.type, behaviour.code, behaviour.param)
            return None, self._json_response(error, behaviour.status, behaviour.headers)
        if isinstance(behaviour, Reply) and (behaviour.json is not None or behaviour.body is not None):
            body = behaviour.body if behaviour.body is not None else orjson.dumps(behaviour.json)
            return None, self._json_response(body, behaviour.status, behaviour.headers)
        return behaviour, None

    # -- endpoints -------------------------------------------------------------------------------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await _legacy_completions(self, request)

    async def _not_found(self, request: web.Request) -> web.Response:
        _, _, refused = await self._intake(request)
        if refused is not None:
            return refused
        message = f"Invalid URL ({request.method} {request.path})"
        return self._json_response(_error_json(message), status=404)

    def _model_object(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": MODEL_CREATED, "owned_by": "openai"}

    async def _list_models(self, request: web.Request) -> web.Response:
        _, _, refused = await self._intake(request)
        if refused is not None:
            return refused
        return self._json_response({"object": "list", "data": [self._model_object(m) for m in self.models]})

    async def _get_model(self, request: web.Request) -> web.Response:
        _, _, refused = await self._intake(request)
        if refused is not None:
            return refused
        model = request.match_info["model"]
        if model not in self.models:
            return self._model_not_found(model)
        return self._json_response(self._model_object(model))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        parsed, raw, refused = await self._intake(request)
        if refused is not None:
            return refused
        behaviour, answered = await self._scripted(request)
        if answered is not None:
            return answered
        body = self._check_body(parsed, raw)
        if isinstance(body, web.Response):
            return body
        messages = body.get("messages")
        if not isinstance(messages, list):
            if messages is None:
                return self._invalid(
                    "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
                )
            return self._invalid("Invalid type for 'messages': expected an array.", param="messages")

        said = ""
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                said = _text_of(message.get("content"))
                break
        content = f"Hello from fake upstream! You said: {said}"
        if isinstance(behaviour, Reply) and behaviour.content is not None:
            content = behaviour.content
        elif isinstance(behaviour, Stream) and behaviour.chunks is not None and not behaviour.tool_call:
            content = "".join(behaviour.chunks)

        tools = body.get("tools")
        tool_choice = body.get("tool_choice")
        tool: tuple[str, str] | None = None  # (name, arguments JSON)
        if (tools and tool_choice != "none") or (isinstance(behaviour, Stream) and behaviour.tool_call):
            tool = self._pick_tool(tools, tool_choice, said)

        finish = "tool_calls" if tool else "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if tool is None and isinstance(limit, int) and limit > 0 and _tokens(content) > limit:
            content = " ".join(content.split()[:limit])
            finish = "length"

        n = body.get("n")
        n = n if isinstance(n, int) and 1 <= n <= 128 else 1
        prompt_tokens = 3 + sum(4 + _tokens(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
        model = body["model"]

        if body.get("stream"):
            stream = behaviour if isinstance(behaviour, Stream) else Stream()
            return await self._stream_chat(request, body, stream, model, content, tool, finish, n, prompt_tokens)

        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
        completion_tokens = _tokens(content)
        if tool is not None:
            message["content"] = None
            message["tool_calls"] = [self._tool_call_object(*tool)]
            completion_tokens = _tokens(tool[1]) + 5
        completion = {
            "id": self._completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": i, "message": message, "logprobs": None, "finish_reason": finish} for i in range(n)],
            "usage": _usage(prompt_tokens, completion_tokens * n),
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        if isinstance(behaviour, Reply):
            return self._json_response(completion, behaviour.status, behaviour.headers)
        return self._json_response(completion)

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        """OpenAI's Responses API, as much as a gateway passing it through needs (``CreateResponse``,
        ``Response``, ``ResponseStreamEvent``): a text answer, or a tool call when a tool is required
        (``tool_choice`` ``"required"`` or naming it), the input says "use tool", or a
        ``Stream(tool_call=True)`` is scripted; ``function_call`` for a function tool,
        ``custom_tool_call`` for a custom (freeform) one. ``max_output_tokens`` shorter than the text
        makes it ``incomplete``. Scripted behaviours apply as for chat; a ``Stream`` shapes the event
        sequence (its ``chunks`` are the text deltas, or the arguments/input deltas of the call) and
        its ending: ``"done"`` sends ``response.completed``, ``"eof"`` ends before it,
        ``"error_event"`` sends an ``error`` event (``Stream.error``: its ``message``/``code``, or
        those of its ``error`` object), ``"reset"``/``"close"``/``"stall"`` as for chat."""
        parsed, raw, refused = await self._intake(request)
        if refused is not None:
            return refused
        behaviour, answered = await self._scripted(request)
        if answered is not None:
            return answered
        body = self._check_body(parsed, raw)
        if isinstance(body, web.Response):
            return body
        items = body.get("input")
        if items is not None and not isinstance(items, (str, list)):
            return self._invalid(
                "Invalid type for 'input': expected one of a string or array of input items, but got "
                f"{_type_name(items)} instead.",
                param="input",
                code="invalid_type",
            )
        said = _said(items)
        stream = behaviour if isinstance(behaviour, Stream) else None
        rid = f"resp_{self._id_prefix}{next(self._ids):09d}"
        tool = self._pick_response_tool(body, said, forced=stream is not None and stream.tool_call)
        status, incomplete = "completed", None
        if tool is not None:
            name, kind, value = tool
            if kind == "custom":
                item: dict[str, Any] = {
                    "id": f"ctc_{rid[5:]}",
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": f"call_{rid[5:]}",
                    "name": name,
                    "input": value,
                }
            else:
                item = {
                    "id": f"fc_{rid[5:]}",
                    "type": "function_call",
                    "status": "completed",
                    "arguments": value,
                    "call_id": f"call_{rid[5:]}",
                    "name": name,
                }
            if stream is not None and stream.chunks is not None:
                pieces = list(stream.chunks)
            else:
                pieces = _split(value, 2) or [value]
            output_tokens = _tokens(value) + 5
        else:
            text = f"Hello from fake OpenAI Responses! You said: {said}"
            if isinstance(behaviour, Reply) and behaviour.content is not None:
                text = behaviour.content
            elif stream is not None and stream.chunks is not None:
                text = "".join(stream.chunks)
            limit = body.get("max_output_tokens")
            if isinstance(limit, int) and limit > 0 and _tokens(text) > limit:
                text = " ".join(text.split()[:limit])
                status, incomplete = "incomplete", {"reason": "max_output_tokens"}
            if stream is not None and stream.chunks is not None and status == "completed":
                pieces = list(stream.chunks)
            else:
                pieces = _split(text, self.default_chunks)
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            item = {
                "id": f"msg_{rid[5:]}",
                "type": "message",
                "status": status,
                "content": [part],
                "role": "assistant",
            }
            output_tokens = _tokens(text)
        input_tokens = 3 + _tokens(orjson.dumps(items).decode())
        now = int(time.time())
        response = self._response_object(body, rid, now, status, incomplete, [item])
        response["usage"] = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }
        if not body.get("stream"):
            if isinstance(behaviour, Reply):
                return self._json_response(response, behaviour.status, behaviour.headers)
            return self._json_response(response)
        return await self._stream_responses(request, stream or Stream(), response, item, pieces)

    @staticmethod
    def _pick_response_tool(body: dict[str, Any], said: str, *, forced: bool) -> tuple[str, str, str] | None:
        """``(name, "function" | "custom", arguments JSON | custom input)`` if the answer is a tool call."""
        tools = [t for t in body.get("tools") or () if isinstance(t, dict) and t.get("type") in ("function", "custom")]
        choice = body.get("tool_choice")
        if choice == "none":
            return None
        named = choice.get("name") if isinstance(choice, dict) else None
        if not (forced or choice == "required" or named or "use tool" in said.lower()):
            return None
        chosen = next((t for t in tools if t.get("name") == named), tools[0] if tools else None)
        if chosen is None:
            return ("tool", "function", orjson.dumps({"q": said}).decode()) if forced else None
        name = str(chosen.get("name") or "tool")
        if chosen["type"] == "custom":
            return name, "custom", said
        params = chosen.get("parameters")
        arguments = _example_object(params, said) if isinstance(params, dict) else {}
        return name, "function", orjson.dumps(arguments).decode()

    @staticmethod
    def _response_object(
        body: dict[str, Any],
        rid: str,
        created: int,
        status: str,
        incomplete: dict[str, str] | None,
        output: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """The ``response`` object as OpenAI returns it: the request's settings repeated, defaults filled in."""
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
        text = body.get("text") if isinstance(body.get("text"), dict) else {}
        tools = []
        for tool in body.get("tools") or ():
            if isinstance(tool, dict) and tool.get("type") == "function":
                tool = {"description": None, "parameters": None, "strict": True, **tool}
            tools.append(tool)
        return {
            "id": rid,
            "object": "response",
            "created_at": created,
            "status": status,
            "background": False,
            "completed_at": created if status == "completed" else None,
            "error": None,
            "incomplete_details": incomplete,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": body["model"],
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "safety_identifier": body.get("safety_identifier"),
            "service_tier": "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity", "medium")},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": tools,
            "top_logprobs": body.get("top_logprobs", 0),
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }

    async def _stream_responses(
        self,
        request: web.Request,
        stream: Stream,
        response: dict[str, Any],
        item: dict[str, Any],
        pieces: list[str],
    ) -> web.StreamResponse:
        """The Responses event sequence for one output item, paced and ended as ``stream`` says."""
        resp = web.StreamResponse(headers={**_SSE_HEADERS, "x-request-id": f"req_{self._id_prefix}{next(self._ids)}"})
        seq = itertools.count()

        def event(kind: str, **fields: Any) -> bytes:
            payload = orjson.dumps({"type": kind, "sequence_number": next(seq), **fields})
            return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"

        chunk_delay = stream.chunk_delay or self.default_chunk_delay
        at = {"item_id": item["id"], "output_index": 0}
        try:
            await resp.prepare(request)
            if stream.first_delay > 0 and not await self._wait(stream.first_delay):
                return _abort(request)
            opening = {**response, "status": "in_progress", "completed_at": None, "output": [], "usage": None}
            opening["incomplete_details"] = None
            await resp.write(
                event("response.created", response=opening) + event("response.in_progress", response=opening)
            )
            kind = item["type"]
            if kind == "message":
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                added = {**item, "status": "in_progress", "content": []}
                await resp.write(
                    event("response.output_item.added", output_index=0, item=added)
                    + event("response.content_part.added", **at, content_index=0, part=empty)
                )
            elif kind == "function_call":
                added = {**item, "status": "in_progress", "arguments": ""}
                await resp.write(event("response.output_item.added", output_index=0, item=added))
            else:
                added = {**item, "status": "in_progress", "input": ""}
                await resp.write(event("response.output_item.added", output_index=0, item=added))
            delta_kind = {
                "message": "response.output_text.delta",
                "function_call": "response.function_call_arguments.delta",
                "custom_tool_call": "response.custom_tool_call_input.delta",
            }[kind]
            extra: dict[str, Any] = {"content_index": 0, "logprobs": []} if kind == "message" else {}
            for piece in pieces:
                if chunk_delay > 0 and not await self._wait(chunk_delay):
                    return _abort(request)
                await resp.write(event(delta_kind, **at, **extra, delta=piece))

            then = stream.then
            if then == "done":
                if kind == "message":
                    part = item["content"][0]
                    tail = event("response.output_text.done", **at, content_index=0, text=part["text"], logprobs=[])
                    tail += event("response.content_part.done", **at, content_index=0, part=part)
                elif kind == "function_call":
                    tail = event(
                        "response.function_call_arguments.done", **at, name=item["name"], arguments=item["arguments"]
                    )
                else:
                    tail = event("response.custom_tool_call_input.done", **at, input=item["input"])
                tail += event("response.output_item.done", output_index=0, item=item)
                final = "response.completed" if response["status"] == "completed" else "response.incomplete"
                await resp.write(tail + event(final, response=response))
            elif then == "error_event":
                error = stream.error if stream.error is not None else _DEFAULT_STREAM_ERROR
                error = error.get("error") if isinstance(error.get("error"), dict) else error
                code = error.get("code")
                await resp.write(
                    event(
                        "error",
                        code=str(code) if code is not None else "server_error",
                        message=str(error.get("message", "")),
                        param=error.get("param"),
                    )
                )
            elif then == "reset":
                _hard_reset(request)
                return resp
            elif then == "close":
                if request.transport is not None:
                    request.transport.close()
                return resp
            elif then == "stall":
                await self._wait(None)
                return _abort(request)  # only reached when the fake closes
            await resp.write_eof()  # "done", "error_event", and "eof" (no response.completed)
            return resp
        except ConnectionResetError:
            self._note_disconnect()
            return resp

    def _completion_id(self) -> str:
        return f"chatcmpl-{self._id_prefix}{next(self._ids):014d}"

    def _tool_call_object(self, name: str, arguments: str) -> dict[str, Any]:
        return {
            "id": f"call_{self._id_prefix}{next(self._ids):09d}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }

    @staticmethod
    def _pick_tool(tools: Any, tool_choice: Any, said: str) -> tuple[str, str]:
        """The tool to call (``tool_choice`` if it names one, else the first) and arguments fitting its schema."""
        functions = [t["function"] for t in tools or () if isinstance(t, dict) and isinstance(t.get("function"), dict)]
        chosen: dict[str, Any] | None = functions[0] if functions else None
        if isinstance(tool_choice, dict):
            wanted = (tool_choice.get("function") or {}).get("name")
            chosen = next((f for f in functions if f.get("name") == wanted), chosen)
            if chosen is None and wanted:
                chosen = {"name": wanted}
        if chosen is None:
            return "tool", orjson.dumps({"q": said}).decode()
        params = chosen.get("parameters")
        args = _example_object(params, said) if isinstance(params, dict) else {}
        return str(chosen.get("name", "tool")), orjson.dumps(args).decode()

    async def _stream_chat(
        self,
        request: web.Request,
        body: dict[str, Any],
        stream: Stream,
        model: str,
        content: str,
        tool: tuple[str, str] | None,
        finish: str,
        n: int,
        prompt_tokens: int,
    ) -> web.StreamResponse:
        options = body.get("stream_options")
        options = options if isinstance(options, dict) else {}
        include_usage = options.get("include_usage") is True
        obfuscate = options.get("include_obfuscation") is not False
        # Every chunk shares id/created/model: serialise that head once, splice each chunk's choices in.
        head = orjson.dumps(
            {
                "id": self._completion_id(),
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "service_tier": "default",
                "system_fingerprint": SYSTEM_FINGERPRINT,
            }
        )
        prefix = b"data: " + head[:-1] + b',"choices":'

        def event(choices: list[dict[str, Any]], usage: bytes = _NULL) -> bytes:
            data = orjson.dumps(choices)
            out = prefix + data
            if include_usage:
                out += b',"usage":' + usage
            if obfuscate:
                out += b',"obfuscation":"' + _OBFUSCATION[: 2 + (-len(data)) % 16] + b'"'
            return out + b"}\n\n"

        def deltas(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            """One event per choice (with ``n`` > 1 the real API interleaves single-choice chunks)."""
            if n == 1:
                return event([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
            return b"".join(
                event([{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
                for i in range(n)
            )

        chunk_delay = stream.chunk_delay or self.default_chunk_delay
        response = web.StreamResponse(
            headers={**_SSE_HEADERS, "x-request-id": f"req_{self._id_prefix}{next(self._ids)}"}
        )
        try:
            await response.prepare(request)
            if stream.first_delay > 0 and not await self._wait(stream.first_delay):
                return _abort(request)
            if tool is not None:
                name, arguments = tool
                call = self._tool_call_object(name, "")
                pieces = stream.chunks if stream.chunks is not None else _split(arguments, self.default_tool_chunks)
                if not pieces and stream.chunks is None:
                    pieces = [arguments]
                tool_delay = stream.chunk_delay or self.default_tool_chunk_delay
                await response.write(
                    deltas(
                        {"role": "assistant", "content": None, "tool_calls": [{"index": 0, **call}], "refusal": None}
                    )
                )
                for piece in pieces:
                    if tool_delay > 0 and not await self._wait(tool_delay):
                        return _abort(request)
                    await response.write(deltas({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
                completion_tokens = _tokens("".join(pieces)) + 5
            else:
                pieces = stream.chunks if stream.chunks is not None else _split(content, self.default_chunks)
                await response.write(deltas({"role": "assistant", "content": "", "refusal": None}))
                for piece in pieces:
                    if chunk_delay > 0 and not await self._wait(chunk_delay):
                        return _abort(request)
                    await response.write(deltas({"content": piece}))
                completion_tokens = _tokens("".join(pieces))

            then = stream.then
            if then == "done":
                await response.write(deltas({}, finish))
                if include_usage:
                    await response.write(event([], orjson.dumps(_usage(prompt_tokens, completion_tokens * n))))
                await response.write(_DONE)
            elif then == "error_event":
                payload = stream.error if stream.error is not None else _DEFAULT_STREAM_ERROR
                await response.write(b"data: " + orjson.dumps(payload) + b"\n\n")
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

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        parsed, raw, refused = await self._intake(request)
        if refused is not None:
            return refused
        _, answered = await self._scripted(request)
        if answered is not None:
            return answered
        body = self._check_body(parsed, raw)
        if isinstance(body, web.Response):
            return body
        raw_input = body.get("input")
        if raw_input is None:
            return self._invalid(
                "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
            )
        if isinstance(raw_input, str) or (isinstance(raw_input, list) and raw_input and isinstance(raw_input[0], int)):
            items: list[Any] = [raw_input]
        elif isinstance(raw_input, list) and raw_input:
            items = raw_input
        else:
            return self._invalid("'$.input' is invalid. Please check the API reference.", param="input")
        dims = body.get("dimensions")
        if dims is None:
            dims = EMBEDDING_DIMS.get(body["model"], DEFAULT_EMBEDDING_DIMS)
        elif not isinstance(dims, int) or dims < 1:
            return self._invalid(
                f"Invalid value for 'dimensions' = {dims}. Must be a positive integer.", param="dimensions"
            )
        use_base64 = body.get("encoding_format") == "base64"
        data, tokens = [], 0
        for index, item in enumerate(items):
            if isinstance(item, str):
                key, count = item.encode(), max(1, _tokens(item))
            elif isinstance(item, list) and all(isinstance(t, int) for t in item):
                key, count = orjson.dumps(item), max(1, len(item))
            else:
                return self._invalid("'$.input' is invalid. Please check the API reference.", param="input")
            floats, b64 = _embedding(key, dims)
            tokens += count
            data.append({"object": "embedding", "index": index, "embedding": b64 if use_base64 else floats})
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return self._json_response({"object": "list", "data": data, "model": body["model"], "usage": usage})


def _resolve(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(True)


# ------------------------------------------------------------------------------------------------
# Legacy text completions (CreateCompletionResponse; streamed as text_completion chunks)
# ------------------------------------------------------------------------------------------------


async def _legacy_completions(fake: FakeOpenAIUpstream, request: web.Request) -> web.StreamResponse:
    parsed, raw, refused = await fake._intake(request)
    if refused is not None:
        return refused
    _, answered = await fake._scripted(request)
    if answered is not None:
        return answered
    body = fake._check_body(parsed, raw)
    if isinstance(body, web.Response):
        return body
    prompt = body.get("prompt")
    if prompt is None:
        return fake._invalid("Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
    text = f"completion of {prompt!r}" + (f" before {body['suffix']!r}" if body.get("suffix") else "")
    head = {"id": f"cmpl-{fake._id_prefix}{next(fake._ids)}", "object": "text_completion", "created": MODEL_CREATED}
    head |= {"model": body["model"], "system_fingerprint": SYSTEM_FINGERPRINT}
    usage = _usage(_tokens(str(prompt)), _tokens(text))
    if not body.get("stream"):
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}
        return fake._json_response({**head, "choices": [choice], "usage": usage})
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    pieces = _split(text, fake.default_chunks)
    for i, piece in enumerate(pieces):
        finish = "stop" if i == len(pieces) - 1 else None
        chunk = {**head, "choices": [{"text": piece, "index": 0, "logprobs": None, "finish_reason": finish}]}
        await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        await resp.write(b"data: " + orjson.dumps({**head, "choices": [], "usage": usage}) + b"\n\n")
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


# ------------------------------------------------------------------------------------------------
# CLI: python -m tests.fakes.openai_upstream --port 0
# ------------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeOpenAIUpstream(
        api_key=args.api_key or None,
        models=args.models.split(","),
        chunks=args.chunks,
        chunk_delay=args.chunk_delay,
        tool_chunks=args.tool_chunks,
        tool_chunk_delay=args.tool_chunk_delay,
        host=args.host,
        port=args.port,
        record=False,
    )
    if args.fail_status:
        fake.default_behaviour = OpenAIError(
            args.fail_status, "The server is overloaded (benchmark).", type="server_error"
        )
    url = await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake upstream listening on {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.openai_upstream", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="sk-fake-upstream", help="expected Bearer key ('' disables auth)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model ids")
    parser.add_argument("--chunks", type=int, default=5, help="content pieces per streamed reply")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds before each streamed piece")
    parser.add_argument(
        "--tool-chunks",
        type=int,
        default=None,
        help="pieces of a streamed chat tool call's arguments (default: --chunks)",
    )
    parser.add_argument(
        "--tool-chunk-delay",
        type=float,
        default=None,
        help="seconds before each piece of a streamed chat tool call's arguments (default: --chunk-delay)",
    )
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
