"""Relaying an upstream Chat Completions stream to the client, event by event.

Bytes are passed through unchanged; a parsed copy of each event is used for accounting
(usage, finish reason) only. The response is committed (status + headers sent) when the first
event arrives, so an upstream failure before that still becomes a proper HTTP error.

After the commit, a failure is never disguised as a normal end: the client gets one in-band
error event (``data: {"error": {...}}``) and the stream closes without ``[DONE]``. A stream that
ends without ``[DONE]`` is reported the same way ("truncated").

The gateway always asks the upstream for usage; the usage-only chunk (``choices: []``) is
hidden from a client that did not ask for it.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from proxy.errors import UpstreamError, UpstreamProtocolError
from proxy.events import RequestFirstByte
from proxy.models import TRUNCATED, UPSTREAM_ERROR, Usage
from proxy.providers.base import UpstreamReply
from proxy.redact import REDACTOR
from proxy.server.exchange import Exchange

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
MAX_CAPTURE = 1024 * 1024


def error_event(message: str, type_: str, code: str | int | None) -> bytes:
    payload = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return b"data: " + orjson.dumps(payload) + b"\n\n"


async def relay_chat_stream(
    request: web.Request,
    ex: Exchange,
    reply: UpstreamReply,
    *,
    client_wants_usage: bool,
    headers: dict[str, str],
    capture: bool,
    on_first_byte: Any = None,
) -> web.StreamResponse:
    assert reply.events is not None
    events = reply.events
    response: web.StreamResponse | None = None
    saw_done = False
    captured: list[bytes] | None = [] if capture else None
    captured_size = 0
    try:
        try:
            async for event in events:
                data = event.data
                if data is None:  # comment or keep-alive: pass through only once committed
                    if response is None:
                        continue
                elif data == b"[DONE]":
                    saw_done = True
                else:
                    try:
                        chunk = orjson.loads(data)
                    except orjson.JSONDecodeError:
                        chunk = None
                    if isinstance(chunk, dict):
                        if "error" in chunk and chunk["error"]:
                            ex.fail(UPSTREAM_ERROR, 200, _inband_message(chunk["error"]))
                        usage = chunk.get("usage")
                        if usage:
                            ex.usage = Usage.from_openai(usage)
                            if not client_wants_usage and chunk.get("choices") == []:
                                continue  # the usage chunk we asked for on the client's behalf
                if response is None:
                    response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **headers})
                    await response.prepare(request)
                    ttfb = ex.mark_first_byte()
                    if on_first_byte is not None:
                        on_first_byte(RequestFirstByte(ex.id, ttfb))
                if captured is not None and captured_size < MAX_CAPTURE:
                    captured.append(event.raw)
                    captured_size += len(event.raw)
                await response.write(event.raw)
        except UpstreamError as exc:
            if response is None:
                raise exc.to_api_error() from None
            ex.fail(exc.outcome if exc.outcome != UPSTREAM_ERROR else TRUNCATED, 200, exc.message)
            await response.write(error_event(f"Stream interrupted: {exc.message}", "upstream_error", exc.code))
            return response
        if response is None:  # the upstream sent nothing at all
            empty = UpstreamProtocolError(ex.provider or "?", "the stream ended before sending any event")
            raise empty.to_api_error()
        if not saw_done and ex.status != UPSTREAM_ERROR:
            message = f"Provider {ex.provider!r}: the stream ended without [DONE] (truncated)"
            ex.fail(TRUNCATED, 200, message)
            await response.write(error_event(message, "upstream_error", "stream_truncated"))
        await response.write_eof()
        return response
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        if captured is not None:
            ex.response_body = REDACTOR.redact(b"".join(captured).decode("utf-8", "replace"))


def _inband_message(error: Any) -> str:
    if isinstance(error, dict):
        return REDACTOR.redact(str(error.get("message") or error))
    return REDACTOR.redact(str(error))
