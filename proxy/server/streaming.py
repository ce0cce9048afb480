"""Relaying an upstream Chat Completions stream to the client, event by event.

Streams never lie:

- **Before content**, a stream can still fall back. :func:`prime_chat_stream` (called inside the
  attempt loop) holds back lifecycle-only events (the role-only first chunk, comments, a
  usage-only chunk), within a bound, until the first content event arrives; a failure up to that
  point, including an in-band error event, is an ordinary failed attempt.
- **A slow first content** (slow first token, retries, fallbacks) commits the 200 after
  ``COMMIT_AFTER`` seconds and sends ``: keep-alive`` comments meanwhile
  (:func:`forward_keeping_alive`); a fallback is still invisible, and a request that then fails
  ends with an in-band error event.
- **After content**, a failure is never disguised as a normal end: the client gets one in-band
  error event (``data: {"error": {...}}``) and the stream closes without ``[DONE]``; the log marks
  the request ``cut``. A stream that ends without ``[DONE]`` is cut too.

Bytes are passed through unchanged; a parsed copy of each event is used for accounting (usage)
only. The gateway always asks the upstream for usage; the usage-only chunk (``choices: []``) is
hidden from a client that did not ask for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from proxy.cache.replay import StreamAssembler
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


async def forward_keeping_alive(
    request: web.Request, ex: Exchange, work: Awaitable[UpstreamReply], error_event: Callable[[ApiError], bytes]
) -> UpstreamReply | None:
    """Await the attempt loop of a streamed request (``work``), keeping the client's connection alive.

    If the first content takes longer than :data:`COMMIT_AFTER` (a slow first token, retries,
    fallbacks), the 200 and the SSE headers are sent and then ``: keep-alive`` comments every
    :data:`KEEPALIVE_EVERY` seconds, which SSE clients skip, so a client with a read timeout stays
    connected. Fallbacks stay invisible: only comments went out. If every target then fails, the
    client gets ``error_event(error)`` in its API's dialect, the stream ends without ``[DONE]``,
    and ``None`` is returned (the response is ``request[COMMITTED]``).

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


def error_event(message: str, type_: str, code: str | int | None) -> bytes:
    payload = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _is_lifecycle(chunk: Any) -> bool:
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


async def prime_stream(reply: UpstreamReply, provider: str, is_lifecycle: Callable[[SSEEvent], bool]) -> UpstreamReply:
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
            if not is_lifecycle(event) or len(held) >= HOLD_EVENTS or size >= HOLD_BYTES:
                break
        else:
            raise UpstreamProtocolError(provider, "the stream ended before any content")
    except BaseException:
        await upstream.aclose()  # type: ignore[attr-defined]
        raise
    reply.events = chain_events(held, upstream)
    return reply


async def prime_chat_stream(reply: UpstreamReply, provider: str) -> UpstreamReply:
    """:func:`prime_stream` for Chat Completions chunks (the role-only first chunk, usage-only
    chunks and empty deltas are lifecycle; ``data: {"error": ...}`` is a failure)."""

    def is_lifecycle(event: SSEEvent) -> bool:
        if event.data == b"[DONE]":
            raise UpstreamProtocolError(provider, "the stream ended before any content")
        try:
            chunk = orjson.loads(event.data or b"")
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError(provider, "the stream sent an event that is not JSON") from None
        if isinstance(chunk, dict) and chunk.get("error"):
            raise _inband_error(provider, chunk["error"])
        return _is_lifecycle(chunk)

    return await prime_stream(reply, provider, is_lifecycle)


async def chain_events(held: list[SSEEvent], rest: AsyncIterator[SSEEvent]) -> AsyncIterator[SSEEvent]:
    try:
        for event in held:
            yield event
        async for event in rest:
            yield event
    finally:
        await rest.aclose()  # type: ignore[attr-defined]


def _inband_error(provider: str, error: Any) -> UpstreamHTTPError:
    message = error.get("message") if isinstance(error, dict) else str(error)
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else 502
    return UpstreamHTTPError(provider, status, REDACTOR.redact(str(message or error)), type="upstream_error")


async def relay_chat_stream(
    request: web.Request,
    ex: Exchange,
    reply: UpstreamReply,
    *,
    client_wants_usage: bool,
    headers: dict[str, str],
    capture: bool,
    on_first_byte: Any = None,
    assembler: StreamAssembler | None = None,
) -> web.StreamResponse:
    """Relay ``reply``'s events; ``assembler`` (for the cache) gets every parsed chunk."""
    assert reply.events is not None
    events = reply.events
    response = request.get(COMMITTED)  # already sent while waiting (keep-alive), else now
    if response is None:
        response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **headers})
        await response.prepare(request)
        request[COMMITTED] = response
    ttfb = ex.mark_first_byte()
    if on_first_byte is not None:
        on_first_byte(RequestFirstByte(ex.id, ttfb))
    saw_done = False
    captured: list[bytes] | None = [] if capture else None
    captured_size = 0
    tap = progress_tap(ex, capture, on_first_byte)
    try:
        try:
            async for event in events:
                data = event.data
                if data == b"[DONE]":
                    saw_done = True
                elif data is not None:
                    try:
                        chunk = orjson.loads(data)
                    except orjson.JSONDecodeError:  # garbage mid-stream: never passed on as if it were data
                        raise UpstreamProtocolError(
                            ex.provider or "?", "the stream sent an event that is not JSON"
                        ) from None
                    if isinstance(chunk, dict):
                        if assembler is not None:
                            assembler.feed(chunk)
                        if tap is not None:
                            tap.feed(chunk)
                        if chunk.get(
                            "error"
                        ):  # an in-band error after content: pass it on (redacted), it ends the stream
                            message = _message(chunk["error"])
                            ex.fail(CUT, 200, f"Provider {ex.provider!r} reported: {message}")
                            error = chunk["error"] if isinstance(chunk["error"], dict) else {}
                            code = error.get("code") if isinstance(error.get("code"), (str, int)) else None
                            raw = error_event(message, str(error.get("type") or "upstream_error"), code)
                            if captured is not None:
                                captured.append(raw)
                            await response.write(raw)
                            continue
                        usage = chunk.get("usage")
                        if usage:
                            ex.usage = Usage.from_openai(usage)
                            if not client_wants_usage and chunk.get("choices") == []:
                                continue  # the usage chunk we asked for on the client's behalf
                if captured is not None and captured_size < MAX_CAPTURE:
                    captured.append(event.raw)
                    captured_size += len(event.raw)
                await response.write(event.raw)
        except UpstreamError as exc:
            ex.fail(CUT, 200, f"{exc.message} (after content was sent)")
            await response.write(error_event(f"Stream interrupted: {exc.message}", "upstream_error", exc.code))
            return response
        if not saw_done and ex.status != CUT:
            message = f"Provider {ex.provider!r}: the stream ended without [DONE] (cut short)"
            ex.fail(CUT, 200, message)
            await response.write(error_event(message, "upstream_error", "stream_cut"))
        await response.write_eof()
        return response
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        if tap is not None:
            tap.flush()
        if captured is not None:
            ex.response_body = REDACTOR.redact(b"".join(captured).decode("utf-8", "replace"))


class ProgressTap:
    """Collects a stream's answer text and sends it on as :class:`RequestProgress` events, batched.

    Made only when bodies are captured (see :func:`progress_tap`): the live view shows what the
    log will store, and the common path (capture off) costs one ``None`` check per event.
    """

    __slots__ = ("id", "emit", "parts", "last")

    def __init__(self, request_id: str, emit: Callable[[Any], None]) -> None:
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


def progress_tap(ex: Exchange, capture: bool, emit: Callable[[Any], None] | None) -> ProgressTap | None:
    """A tap for ``ex``'s stream when bodies are captured and events go somewhere, else ``None``."""
    return ProgressTap(ex.id, emit) if capture and emit is not None else None


def _message(error: Any) -> str:
    if isinstance(error, dict):
        return REDACTOR.redact(str(error.get("message") or error))
    return REDACTOR.redact(str(error))


class StreamWriter:
    """Writes to the client, keeping a capped copy for the log when bodies are captured."""

    def __init__(self, response: web.StreamResponse, capture: bool) -> None:
        self.response = response
        self.captured: list[bytes] | None = [] if capture else None
        self.size = 0

    async def write(self, data: bytes) -> None:
        if self.captured is not None and self.size < MAX_CAPTURE:
            self.captured.append(data)
            self.size += len(data)
        await self.response.write(data)

    def text(self) -> str | None:
        if self.captured is None:
            return None
        return REDACTOR.redact(b"".join(self.captured).decode("utf-8", "replace"))


async def open_stream(request: web.Request, ex: Exchange, capture: bool, on_first_byte: Any) -> StreamWriter:
    response = request.get(COMMITTED)  # already sent while waiting (keep-alive), else now
    if response is None:
        response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **ex.result_headers()})
        await response.prepare(request)
        request[COMMITTED] = response
    ttfb = ex.mark_first_byte()
    if on_first_byte is not None:
        on_first_byte(RequestFirstByte(ex.id, ttfb))
    return StreamWriter(response, capture)


async def relay_translated(
    request: web.Request,
    ex: Exchange,
    reply: UpstreamReply,
    *,
    start: list[bytes],
    feed: Callable[[dict[str, Any]], list[bytes]],
    finish: Callable[[], list[bytes]],
    fail: Callable[[str, str], list[bytes]],
    capture: bool,
    on_first_byte: Any = None,
) -> web.StreamResponse:
    """A Chat Completions stream, re-told in another API's events by a translator (``start``
    events, ``feed`` per chunk, ``finish`` after ``[DONE]``). Streams never lie: an in-band error,
    a failure, or an end without ``[DONE]`` after content writes ``fail(message, code)`` instead
    of ``finish()``, and the log says ``cut``."""
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
            for data in start:
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
                    return await cut(f"Provider {provider!r} reported: {_message(chunk['error'])}", "upstream_error")
                if chunk.get("usage"):
                    ex.usage = Usage.from_openai(chunk["usage"])
                for data in feed(chunk):
                    await out.write(data)
        except (UpstreamError, TranslationError) as exc:
            return await cut(f"Stream interrupted: {exc.message} (after content was sent)", "stream_interrupted")
        if not saw_done:
            return await cut(f"Provider {provider!r}: the stream ended without [DONE] (cut short)", "stream_cut")
        for data in finish():
            await out.write(data)
        await out.response.write_eof()
        return out.response
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        if tap is not None:
            tap.flush()
        ex.response_body = out.text()
