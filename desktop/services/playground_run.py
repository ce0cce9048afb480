"""The playground's client (no Qt): one prompt streamed to several models through the gateway.

A :class:`PlaygroundRun` owns a worker thread with its own asyncio loop and one aiohttp session.
It sends one streamed Chat Completions request per model to the gateway's own endpoint, so each
is routed, logged and priced like any client's, and reports what happens as immutable
:class:`ColumnEvent` values through a callback (called on the worker thread; the bridge turns it
into a queued Qt signal). :meth:`PlaygroundRun.stop` cancels every stream still running.

Errors are reported in plain words per column; one model failing never affects the others.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import orjson

EventKind = Literal["started", "delta", "done", "failed", "stopped"]


@dataclass(frozen=True)
class ColumnEvent:
    """Something that happened to one model's stream.

    ``started``: the gateway answered (``request_id`` is known). ``delta``: more text (the first
    one carries ``ttft_ms``). ``done``: the stream ended (``total_ms``, tokens when the upstream
    reported usage). ``failed``: ``text`` says what went wrong, for people. ``stopped``: cancelled.
    """

    run: int
    column: int
    kind: EventKind
    text: str = ""
    request_id: str | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None


def _error_text(status: int, body: bytes) -> str:
    """The gateway's error message (written for people), or what the status means."""
    message = ""
    try:
        data = orjson.loads(body)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            message = str(err.get("message") or "")
        elif isinstance(err, str):
            message = err
    except orjson.JSONDecodeError:
        message = body.decode(errors="replace").strip()[:300]
    reason = {
        401: "The gateway refused the access key.",
        404: "No route or provider serves this model.",
        429: "A limit or budget was reached.",
        503: "The gateway is paused or the provider is unavailable.",
    }.get(status, f"The request failed (HTTP {status}).")
    return message or reason


class PlaygroundRun:
    """One Send: a stream per model, all at once, on a worker thread."""

    def __init__(
        self,
        run: int,
        base_url: str,
        access_key: Callable[[], str],
        models: Sequence[str],
        messages: list[dict[str, Any]],
        emit: Callable[[ColumnEvent], None],
        *,
        timeout: float = 300.0,
    ) -> None:
        self.run = run
        self.base_url = base_url
        self.models = list(models)
        self.messages = messages
        self._access_key = access_key
        self._emit = emit
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._stopping = False
        self._ended: set[int] = set()
        """Columns that sent their last event (done, failed or stopped)."""
        self.thread = threading.Thread(target=self._thread_main, name=f"switchboard-playground-{run}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Cancel every stream still running (any thread, never blocks); each sends ``stopped``."""
        self._stopping = True  # first: streams not started yet see it and stop at once
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(main.cancel)
            except RuntimeError:  # the loop closed in between: nothing left to cancel
                pass

    @property
    def is_running(self) -> bool:
        return self.thread.is_alive()

    def _thread_main(self) -> None:
        key = self._access_key()  # may wait for the keychain: fine here, this is a worker thread
        loop = asyncio.new_event_loop()
        try:
            self._main = loop.create_task(self._all(key))
            self._loop = loop
            loop.run_until_complete(self._main)
        except asyncio.CancelledError:
            pass
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            for column in range(len(self.models)):  # cancelled before they began: still say so
                if column not in self._ended:
                    self._report(ColumnEvent(self.run, column, "stopped"))

    def _report(self, event: ColumnEvent) -> None:
        if event.kind in ("done", "failed", "stopped"):
            self._ended.add(event.column)
        self._emit(event)

    async def _all(self, key: str) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = aiohttp.ClientTimeout(total=self._timeout, sock_connect=10)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            tasks = [asyncio.ensure_future(self._one(session, i, model)) for i, model in enumerate(self.models)]
            try:
                await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, session: aiohttp.ClientSession, column: int, model: str) -> None:
        def emit(kind: EventKind, **fields: Any) -> None:
            self._report(ColumnEvent(self.run, column, kind, **fields))

        body = {
            "model": model,
            "messages": self.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        t0 = time.monotonic()
        ttft: float | None = None
        usage: dict[str, Any] = {}
        try:
            if self._stopping:
                raise asyncio.CancelledError
            async with session.post(f"{self.base_url}/v1/chat/completions", json=body) as response:
                request_id = response.headers.get("x-request-id")
                emit("started", request_id=request_id)
                if response.status != 200:
                    emit("failed", text=_error_text(response.status, await response.read()), request_id=request_id)
                    return
                async for raw in response.content:
                    line = raw.strip()
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        break
                    chunk = orjson.loads(data)
                    if isinstance(chunk.get("error"), dict):  # an in-band error event
                        emit("failed", text=f"The stream ended with an error: {chunk['error'].get('message', '')}")
                        return
                    if isinstance(chunk.get("usage"), dict):
                        usage = chunk["usage"]
                    for choice in chunk.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            if ttft is None:
                                ttft = (time.monotonic() - t0) * 1000
                                emit("delta", text=text, ttft_ms=ttft)
                            else:
                                emit("delta", text=text)
                else:
                    emit("failed", text="The stream ended early, without its final [DONE] line.")
                    return
            emit(
                "done",
                total_ms=(time.monotonic() - t0) * 1000,
                tokens_in=usage.get("prompt_tokens"),
                tokens_out=usage.get("completion_tokens"),
            )
        except asyncio.CancelledError:
            emit("stopped", total_ms=(time.monotonic() - t0) * 1000)
        except aiohttp.ClientConnectorError:
            emit("failed", text=f"Could not connect to Switchboard at {self.base_url}. Is the gateway running?")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            emit("failed", text=f"The connection broke: {type(exc).__name__} {exc}".strip())
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            emit("failed", text="The gateway sent a stream this playground could not read.")
