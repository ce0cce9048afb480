"""Relaying an upstream stream to the client, event by event, in the client's API.

Streams never lie:

- **Before content**, a stream can still fall back. :func:`prime_stream` (called inside the
  attempt loop) holds back lifecycle-only events (the role-only first chunk, comments, a
  usage-only chunk, ``message_start`` ...), within a bound, until the first content event
  arrives; a failure up to that point, including an in-band error event, is an ordinary failed
  attempt.
- **A slow first content** (slow first token, retries, fallbacks) commits the 200 after
  ``COMMIT_AFTER`` seconds and sends ``: keep-alive`` comments meanwhile
  (:func:`forward_keeping_alive`); a fallback is still invisible, and a request that then fails
  ends with an in-band error event.
- **After content**, a failure is never disguised as a normal end: the client gets one in-band
  error event in its API's dialect and the stream closes without its terminal event (``[DONE]``,
  ``message_stop``, ``response.completed``); the log marks the request ``cut``. A stream that ends
  without its terminal event is cut too.

Two relays: :func:`relay_native` passes a stream in the client's own API through byte for byte,
a :class:`StreamReader` (the surface's dialect) looking at each event for usage, its end and
in-band errors; :func:`relay_translated` re-tells a Chat Completions stream in another API's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError, UpstreamError, UpstreamHTTPError, UpstreamProtocolError
from proxy.domain.events import RequestFirstByte, RequestProgress
from proxy.domain.exchange import Exchange
from proxy.domain.records import CUT, Usage
from proxy.providers.base import UpstreamReply
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent
from proxy.translate.common import TranslationError

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
MAX_CAPTURE = 1024 * 1024
HOLD_EVENTS = 64
HOLD_BYTES = 256 * 1024
PROGRESS_SECONDS = 0.1
"""At most one :class:`RequestProgress` per request this often (the GUI batches them again)."""

COMMIT_AFTER = 10.0
"""Seconds a streamed request may wait for its first content before the 200 and the SSE headers
go out anyway, followed by keep-alive comments (RELIABILITY F-01e, F-05's commit window)."""
KEEPALIVE_EVERY = 15.0
"""Seconds between two keep-alive comments while the first content is still awaited."""
KEEPALIVE = b": keep-alive\n\n"
COMMITTED: web.RequestKey[web.StreamResponse] = web.RequestKey("switchboard_committed", web.StreamResponse)
"""The response whose status and headers are already sent (while waiting, or when the relay
began); relays write to it, and after an internal error nothing else may be sent."""

Emit = Callable[[Any], None]
IsLifecycle = Callable[[SSEEvent, str], bool]
"""``(event, provider)``: does this event carry no content yet? Raises ``UpstreamError`` for an
in-band error event."""


async def forward_keeping_alive(
    request: web.Request, ex: Exchange, work: Awaitable[UpstreamReply], error_event: Callable[[ApiError], bytes]
) -> UpstreamReply | None:
    """Await the attempt loop of a streamed request (``work``), keeping the client's connection alive.

    If the first content takes longer than :data:`COMMIT_AFTER` (a slow first token, retries,
    fallbacks), the 200 and the SSE headers are sent and then ``: keep-alive`` comments every
    :data:`KEEPALIVE_EVERY` seconds, which SSE clients skip, so a client with a read timeout stays
    connected. Fallbacks stay invisible: only comments went out. If every target then fails, the
    client gets ``error_event(error)`` in its API's dialect, the stream ends without its terminal
    event, and ``None`` is returned (the response is ``request[COMMITTED]``).

    Returns:
        The reply, primed: its first content is there. ``None`` if the request failed after commit.

    Raises:
        ApiError: the request failed before anything was sent (the usual error response follows).
    """
    task = asyncio.ensure_future(work)
    try:
        timeout = COMMIT_AFTER
        while True:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if done:
                break
            response = request.get(COMMITTED)
            if response is None:
                response = web.StreamResponse(status=200, headers={**SSE_HEADERS, "x-request-id": ex.id})
                await response.prepare(request)
                request[COMMITTED] = response
            await response.write(KEEPALIVE)
            timeout = KEEPALIVE_EVERY
    except BaseException:  # the client went away (cancelled) or its socket failed: stop the attempts
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    committed = request.get(COMMITTED)
    try:
        return task.result()
    except ApiError as err:
        if committed is None:
            raise
        ex.fail(err.outcome, 200, f"{err.message} (after keep-alive comments were sent)")
        await committed.write(error_event(err))
        await committed.write_eof()
        return None


# ------------------------------------------------------------------------------------------------
# Priming: hold lifecycle events back until the first content
# ------------------------------------------------------------------------------------------------


async def prime_stream(reply: UpstreamReply, provider: str, is_lifecycle: IsLifecycle) -> UpstreamReply:
    """Hold back lifecycle events (``is_lifecycle`` says which; it raises ``UpstreamError`` for an
    in-band error) until the first content event, within a bound. Comments are held too.

    Raises:
        UpstreamError: the stream failed, ended, or reported an error before any content.
    """
    assert reply.events is not None
    upstream = reply.events
    held: list[SSEEvent] = []
    size = 0
    try:
        async for event in upstream:
            held.append(event)
            size += len(event.raw)
            if event.data is None:
                continue
            if not is_lifecycle(event, provider) or len(held) >= HOLD_EVENTS or size >= HOLD_BYTES:
                break
        else:
            raise UpstreamProtocolError(provider, "the stream ended before any content")
    except BaseException:
        await upstream.aclose()
        raise
    reply.events = chain_events(held, upstream)
    return reply


def chat_is_lifecycle(event: SSEEvent, provider: str) -> bool:
    """:data:`IsLifecycle` for Chat Completions chunks, the canonical form every upstream can speak:
    the role-only first chunk, usage-only chunks and empty deltas are lifecycle; ``data: {"error":
    ...}`` is a failure."""
    if event.data == b"[DONE]":
        raise UpstreamProtocolError(provider, "the stream ended before any content")
    try:
        chunk = orjson.loads(event.data or b"")
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(provider, "the stream sent an event that is not JSON") from None
    if isinstance(chunk, dict) and chunk.get("error"):
        raise _inband_error(provider, chunk["error"])
    return _no_content(chunk)


def _no_content(chunk: Any) -> bool:
    """A chunk that carries no content yet: role-only deltas, empty content, usage only."""
    if not isinstance(chunk, dict):
        return False
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict) or choice.get("finish_reason") is not None:
            return False
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            return False
        for key, value in delta.items():
            if key == "role" or value in (None, "", []):
                continue
            return False
    return True


async def chain_events(held: list[SSEEvent], rest: AsyncGenerator[SSEEvent, None]) -> AsyncGenerator[SSEEvent, None]:
    try:
        for event in held:
            yield event
        async for event in rest:
            yield event
    finally:
        await rest.aclose()


def _inband_error(provider: str, error: Any) -> UpstreamHTTPError:
    message = error.get("message") if isinstance(error, dict) else str(error)
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else 502
    return UpstreamHTTPError(provider, status, REDACTOR.redact(str(message or error)), type="upstream_error")


def error_message(error: Any) -> str:
    """The message of an in-band ``error`` member, redacted (an upstream may echo the key it was sent)."""
    if isinstance(error, dict):
        return REDACTOR.redact(str(error.get("message") or error))
    return REDACTOR.redact(str(error))


# ------------------------------------------------------------------------------------------------
# Writing to the client
# ------------------------------------------------------------------------------------------------


class ProgressTap:
    """Collects a Chat Completions stream's answer text and sends it on as :class:`RequestProgress`
    events, batched.

    Made only when bodies are captured (see :func:`progress_tap`): the live view shows what the
    log will store, and the common path (capture off) costs one ``None`` check per event.
    """

    __slots__ = ("id", "emit", "parts", "last")

    def __init__(self, request_id: str, emit: Emit) -> None:
        self.id = request_id
        self.emit = emit
        self.parts: list[str] = []
        self.last = time.monotonic()

    def feed(self, chunk: dict[str, Any]) -> None:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            text = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(text, str) and text:
                self.parts.append(text)
        if self.parts and time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.emit(RequestProgress(self.id, REDACTOR.redact("".join(self.parts))))
            self.parts.clear()
        self.last = time.monotonic()


def progress_tap(ex: Exchange, capture: bool, emit: Emit | None) -> ProgressTap | None:
    """A tap for ``ex``'s stream when bodies are captured and events go somewhere, else ``None``."""
    return ProgressTap(ex.id, emit) if capture and emit is not None else None


class StreamWriter:
    """Writes to the client, keeping a capped copy for the log when bodies are captured."""

    __slots__ = ("response", "captured", "size", "write")

    def __init__(self, response: web.StreamResponse, capture: bool) -> None:
        self.response = response
        self.captured: list[bytes] | None = [] if capture else None
        self.size = 0
        self.write: Callable[[bytes], Awaitable[None]] = self._write_captured if capture else response.write
        """Write bytes to the client (without capture: the response's own ``write``, no detour)."""

    async def _write_captured(self, data: bytes) -> None:
        if self.captured is not None and self.size < MAX_CAPTURE:
            self.captured.append(data)
            self.size += len(data)
        await self.response.write(data)

    def text(self) -> str | None:
        if self.captured is None:
            return None
        return REDACTOR.redact(b"".join(self.captured).decode("utf-8", "replace"))


async def open_stream(request: web.Request, ex: Exchange, capture: bool, on_first_byte: Emit | None) -> StreamWriter:
    response = request.get(COMMITTED)  # already sent while waiting (keep-alive), else now
    if response is None:
        response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **ex.result_headers()})
        await response.prepare(request)
        request[COMMITTED] = response
    ttfb = ex.mark_first_byte()
    if on_first_byte is not None:
        on_first_byte(RequestFirstByte(ex.id, ttfb))
    return StreamWriter(response, capture)


# ------------------------------------------------------------------------------------------------
# The two relays
# ------------------------------------------------------------------------------------------------


class StreamReader(Protocol):
    """Reads a stream in the client's own API for :func:`relay_native` (a surface's dialect)."""

    @property
    def ended(self) -> bool:
        """The stream's terminal event was seen."""
        ...

    @property
    def terminal(self) -> str:
        """Its name, for the log when it is missing (``[DONE]``, ``message_stop`` ...)."""
        ...

    def see(self, event: SSEEvent, tap: ProgressTap | None) -> bytes | None:
        """The bytes to send for ``event`` (its own, a redacted in-band error, or ``None`` to hide
        it); notes usage, the end, and marks the request ``cut`` on an in-band error.

        Raises:
            UpstreamError: the event is garbage (the stream is then cut).
        """
        ...

    def interrupted(self, message: str, exc: UpstreamError) -> bytes:
        """The in-band error event for a stream that failed after content."""
        ...

    def cut(self, message: str) -> bytes:
        """The in-band error event for a stream that ended without its terminal event."""
        ...


class Retelling(Protocol):
    """Re-tells Chat Completions chunks as another API's events."""

    def start(self) -> list[bytes]: ...

    def feed(self, chunk: dict[str, Any]) -> list[bytes]: ...

    def finish(self) -> list[bytes]: ...


async def _finish(
    ex: Exchange, events: AsyncGenerator[SSEEvent, None], out: StreamWriter, tap: ProgressTap | None
) -> None:
    """After a relay, however it ended: release the upstream, send the last progress, keep the body."""
    await events.aclose()
    if tap is not None:
        tap.flush()
    ex.response_body = out.text()


async def relay_native(
    request: web.Request,
    ex: Exchange,
    reply: UpstreamReply,
    reader: StreamReader,
    *,
    capture: bool,
    on_first_byte: Emit | None = None,
) -> web.StreamResponse:
    """A stream in the client's own API, byte for byte (``reader`` may hide or rewrite events)."""
    assert reply.events is not None
    events = reply.events
    out = await open_stream(request, ex, capture, on_first_byte)
    write, see = out.write, reader.see
    tap = progress_tap(ex, capture, on_first_byte)
    try:
        try:
            async for event in events:
                data = see(event, tap)
                if data is not None:
                    await write(data)
        except UpstreamError as exc:
            ex.fail(CUT, 200, f"{exc.message} (after content was sent)")
            await write(reader.interrupted(f"Stream interrupted: {exc.message}", exc))
            return out.response
        if not reader.ended and ex.status != CUT:
            message = f"Provider {ex.provider!r}: the stream ended without {reader.terminal} (cut short)"
            ex.fail(CUT, 200, message)
            await write(reader.cut(message))
        await out.response.write_eof()
        return out.response
    finally:
        await _finish(ex, events, out, tap)


async def relay_translated(
    request: web.Request,
    ex: Exchange,
    reply: UpstreamReply,
    retelling: Retelling,
    fail: Callable[[str, str], list[bytes]],
    *,
    capture: bool,
    on_first_byte: Emit | None = None,
) -> web.StreamResponse:
    """A Chat Completions stream, re-told in another API's events (``start`` events, ``feed`` per
    chunk, ``finish`` after ``[DONE]``). Streams never lie: an in-band error, a failure, or an end
    without ``[DONE]`` after content writes ``fail(message, code)`` instead of ``finish()``, and the
    log says ``cut``."""
    assert reply.events is not None
    events = reply.events
    out = await open_stream(request, ex, capture, on_first_byte)
    provider = ex.provider or "?"
    tap = progress_tap(ex, capture, on_first_byte)

    async def cut(message: str, code: str) -> web.StreamResponse:
        ex.fail(CUT, 200, message)
        for data in fail(message, code):
            await out.write(data)
        return out.response

    saw_done = False
    try:
        try:
            for data in retelling.start():
                await out.write(data)
            async for event in events:
                if event.data is None:
                    continue
                if event.data == b"[DONE]":
                    saw_done = True
                    continue
                try:
                    chunk = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    raise UpstreamProtocolError(provider, "the stream sent an event that is not JSON") from None
                if not isinstance(chunk, dict):
                    continue
                if tap is not None:
                    tap.feed(chunk)
                if chunk.get("error"):
                    message = error_message(chunk["error"])
                    return await cut(f"Provider {provider!r} reported: {message}", "upstream_error")
                if chunk.get("usage"):
                    ex.usage = Usage.from_openai(chunk["usage"])
                for data in retelling.feed(chunk):
                    await out.write(data)
        except (UpstreamError, TranslationError) as exc:
            return await cut(f"Stream interrupted: {exc.message} (after content was sent)", "stream_interrupted")
        if not saw_done:
            return await cut(f"Provider {provider!r}: the stream ended without [DONE] (cut short)", "stream_cut")
        for data in retelling.finish():
            await out.write(data)
        await out.response.write_eof()
        return out.response
    finally:
        await _finish(ex, events, out, tap)
