"""The interface every upstream adapter implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from proxy.domain.errors import UpstreamProtocolError
from proxy.support.sse import SSEEvent


@dataclass(slots=True)
class UpstreamCall:
    """One request to send upstream, already in the upstream's OpenAI-compatible shape."""

    endpoint: str
    """Path below the base URL: ``chat/completions`` or ``embeddings`` (every adapter), or a native
    path of the upstream's own API (``messages``, ``messages/count_tokens``, ``responses``) for an
    adapter whose ``native`` set names it."""
    body: dict[str, Any]
    stream: bool = False
    headers: dict[str, str] | None = None
    """Extra request headers (e.g. a client's ``anthropic-beta`` on a native Anthropic call)."""
    prompt_caching: bool = True
    """Let an adapter that translates to an API with explicit prompt caching (Anthropic) mark cache
    breakpoints; the route's ``prompt_caching`` switch."""


@dataclass(slots=True)
class UpstreamReply:
    """A successful (2xx) upstream answer: a JSON body, or a stream of SSE events."""

    status: int
    body: bytes | None = None
    json: Any = None
    """The parsed ``body`` (non-stream only)."""
    events: AsyncGenerator[SSEEvent, None] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    format: str = "openai"
    """``openai`` (Chat Completions, what every adapter answers by default), ``anthropic`` (a
    native Messages answer) or ``responses`` (a native Responses API answer)."""


class ProviderAdapter(Protocol):
    """Calls one provider. Errors are raised as :class:`~proxy.domain.errors.UpstreamError` subclasses.

    For a stream, ``call`` returns once the upstream has answered with a success status; the
    events iterator applies the first-token and idle timeouts and raises ``UpstreamError``
    subclasses mid-stream. Closing the iterator (``aclose``) releases the upstream connection.
    """

    id: str
    native: frozenset[str]
    """Endpoints of the upstream's own API this adapter passes through untranslated."""
    supports_stream_usage: bool
    """Accepts ``stream_options.include_usage`` (else usage comes unasked, or not at all)."""

    async def call(self, call: UpstreamCall) -> UpstreamReply: ...

    async def list_models(self) -> list[str]: ...

    async def close(self) -> None: ...


def event_object(event: SSEEvent, provider: str) -> dict[str, Any] | None:
    """The JSON object an upstream stream event carries (``None`` for a comment-only event), as
    the adapters that translate a stream read it.

    Raises:
        UpstreamProtocolError: the event is not JSON, or not a JSON object.
    """
    if event.data is None:
        return None
    try:
        data = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(provider, "the stream sent an event that is not JSON") from None
    if not isinstance(data, dict):
        raise UpstreamProtocolError(provider, "the stream sent an event that is not a JSON object")
    return data


def chunk_event(chunk: Mapping[str, Any]) -> SSEEvent:
    """A Chat Completions chunk as the ``data:`` event a relay passes on."""
    payload = orjson.dumps(chunk)
    return SSEEvent(b"data: " + payload + b"\n\n", payload)
