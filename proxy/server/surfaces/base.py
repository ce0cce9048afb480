"""What an API surface is: a :class:`Surface` row (paths, name, error shape, auth, logging) and, for
a model API, its :class:`Dialect` (how a request and its answer are spoken).

Adding a surface is one module: a :class:`Dialect` subclass (or a handler of its own) and a row in
``surfaces/table.py``. The middlewares read the row of the route a request matched; the generic
handler (``surfaces/serve.py``) drives any dialect through the engine.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError, UpstreamError
from proxy.domain.exchange import Exchange
from proxy.domain.records import Usage
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.routing.resolve import Attempt
from proxy.server.streaming import (
    Emit,
    ProgressTap,
    Retelling,
    chat_is_lifecycle,
    prime_stream,
    relay_native,
    relay_translated,
)
from proxy.server.validation import model_name
from proxy.support.sse import SSEEvent

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def openai_error(err: ApiError) -> bytes:
    """``{"error": {"message", "type", "param", "code"}}``: OpenAI's error shape (the default)."""
    return err.body_bytes()


def bearer_or_x_api_key(request: web.Request) -> str | None:
    """The access key a client presents: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``."""
    auth = request.headers.get("Authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


class Dialect:
    """How one model API speaks, bound to one request: an instance per request.

    It checks the request, builds each attempt's upstream call (the request as it is for an
    upstream that speaks this API natively, else in the canonical chat form), primes streams, and
    turns the reply into this API's answer: as it is when the reply is in this API's ``format``,
    else re-told from Chat Completions. The instance is the engine's ``ModelRequest`` and, while a
    native stream is relayed, its ``StreamReader``.
    """

    format: ClassVar[str] = "openai"
    """The reply format that is this API (``UpstreamReply.format``); replies in any other are Chat
    Completions, re-told."""
    terminal: ClassVar[str] = "[DONE]"
    """The event that ends this API's streams."""
    captured: ClassVar[bool] = True
    """Whether its bodies go to the log when ``logging.store_bodies`` is on."""

    __slots__ = ("ex", "body", "headers", "model", "stream", "user", "cache_body", "ended", "include_cost")

    def __init__(self, ex: Exchange, body: dict[str, Any], request: web.Request) -> None:
        """Raises:
        ApiError: 400 when the request is not one this API accepts.
        """
        self.ex = ex
        self.body = body
        self.headers = request.headers
        self.model = ex.requested_model = self.model_of(body, request)  # first: a refused request's row names it
        self.stream = self.check(body, request)
        self.user: object = body.get("user")
        self.cache_body: dict[str, Any] | None = None
        self.ended = False
        self.include_cost = False
        """The client asked for the cost in ``usage`` (OpenRouter's ``"usage": {"include": true}``)."""

    def model_of(self, body: dict[str, Any], request: web.Request) -> str:
        """The model asked for (``model`` in the body; an API may name it in its path)."""
        return model_name(body)

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        """Validate the fields the gateway relies on; returns whether the request streams."""
        raise NotImplementedError

    # -- the engine's side ----------------------------------------------------------------------

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        raise NotImplementedError

    async def prime(self, reply: UpstreamReply, provider: str) -> UpstreamReply:
        lifecycle = self.is_lifecycle if reply.format == self.format else chat_is_lifecycle
        return await prime_stream(reply, provider, lifecycle)

    def is_lifecycle(self, event: SSEEvent, provider: str) -> bool:
        """Does this event of a stream in this API carry no content yet? (Raises for an in-band error.)"""
        return chat_is_lifecycle(event, provider)

    # -- answering ------------------------------------------------------------------------------

    def usage(self, usage: Any) -> Usage | None:
        """Token counts from this API's ``usage`` member."""
        return Usage.from_openai(usage)

    def from_chat(self, completion: dict[str, Any]) -> Any:
        """A ``chat.completion`` as this API's answer."""
        raise NotImplementedError

    def answer(self, reply: UpstreamReply) -> bytes:
        """The body of a non-stream answer (and its usage noted)."""
        if reply.format == self.format:
            self.ex.usage = self.usage(reply.json.get("usage"))
            return reply.body or b""
        self.ex.usage = Usage.from_openai(reply.json.get("usage"))
        return orjson.dumps(self.from_chat(reply.json))

    async def relay(
        self, request: web.Request, reply: UpstreamReply, *, capture: bool, on_first_byte: Emit | None
    ) -> web.StreamResponse:
        """Relay a stream to the client: byte for byte when it is in this API, else re-told."""
        if reply.format == self.format:
            return await relay_native(request, self.ex, reply, self, capture=capture, on_first_byte=on_first_byte)
        retelling = self.retell()
        return await relay_translated(
            request,
            self.ex,
            reply,
            retelling,
            lambda message, code: self.retold_failure(retelling, message, code),
            capture=capture,
            on_first_byte=on_first_byte,
        )

    # -- streams in this API (the StreamReader of relay_native) -----------------------------------

    def see(self, event: SSEEvent, tap: ProgressTap | None) -> bytes | None:
        raise NotImplementedError

    def interrupted(self, message: str, exc: UpstreamError) -> bytes:
        raise NotImplementedError

    def cut(self, message: str) -> bytes:
        raise NotImplementedError

    # -- Chat Completions streams, re-told --------------------------------------------------------

    def retell(self) -> Retelling:
        raise NotImplementedError

    def retold_failure(self, retelling: Retelling, message: str, code: str) -> list[bytes]:
        """The events that end a re-told stream that failed or was cut."""
        raise NotImplementedError

    # -- failing after the 200 went out ---------------------------------------------------------

    def failed_after_commit(self, err: ApiError) -> bytes:
        """The in-band error event for a stream whose attempts all failed after keep-alive comments."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Surface:
    """One row of the surface table: an endpoint (or a family of them) and the facts about it."""

    name: str
    """The request log's ``surface`` value."""
    routes: tuple[tuple[str, str], ...]
    """(method, path) pairs it answers (paths in aiohttp's syntax; ``GET`` answers ``HEAD`` too)."""
    dialect: type[Dialect] | None = None
    """A model API: the generic handler drives a request through this dialect."""
    handler: Handler | None = None
    """Otherwise: the handler that answers it."""
    error_body: Callable[[ApiError], bytes] = openai_error
    """The body of an error answered on it, in its API's shape."""
    credentials: Callable[[web.Request], str | None] = bearer_or_x_api_key
    """Where a client puts its access key here."""
    cors_headers: tuple[str, ...] = ()
    """Request headers of its API a browser may send (named in every CORS preflight answer), beyond
    ``authorization``, ``content-type`` and ``x-api-key``."""
    logged: bool = True
    """Each request gets a request-log row."""
    authenticated: bool = True
    """The local access key is required (when access keys are on)."""
    pausable: bool = False
    """POST requests are refused (503) while Switchboard is paused."""


def estimate_prompt_tokens(
    roots: list[Any], *, is_image: Callable[[dict[str, Any]], bool], image_tokens: int, skip: frozenset[str]
) -> int:
    """A count-tokens estimate without a tokenizer: about one token per 4 characters of every
    string under ``roots``, plus ``image_tokens`` per object ``is_image`` says is an image (its
    data not counted as text). Keys in ``skip`` (roles, block types) are not text the model reads."""
    chars = 0
    images = 0
    stack: list[Any] = list(roots)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            chars += len(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if is_image(item):
                images += 1
                continue
            stack.extend(v for k, v in item.items() if k not in skip)
    return max(1, math.ceil(chars / 4)) + image_tokens * images
