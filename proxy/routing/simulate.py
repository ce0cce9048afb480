"""Simulated failures: make one route target fail on purpose for its next N calls, so a person can
watch their fallback chain work before relying on it (the routing editor's "Simulate failure";
also ``POST /switchboard/simulate``).

A simulated failure goes through the same attempt loop, log and health board as a real one:

- ``error``: the provider answers HTTP 500;
- ``429``: HTTP 429 with ``Retry-After: 1``;
- ``timeout``: no first token within the provider's first-token timeout (raised at once);
- ``cut``: the call succeeds, then the connection drops after the first content event (for a
  non-stream request: the connection drops before the answer).

Faults are consumed one per call to the target; nothing is sent upstream for the failing calls
except with ``cut`` on a stream. They live in memory only and vanish on restart.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import AsyncGenerator
from typing import Literal

from proxy.domain.errors import UpstreamConnectError, UpstreamError, UpstreamHTTPError, UpstreamTimeout
from proxy.providers.base import UpstreamReply
from proxy.support.sse import SSEEvent

Fault = Literal["error", "429", "timeout", "cut"]
FAULTS: tuple[str, ...] = ("error", "429", "timeout", "cut")
MAX_COUNT = 1000
_CONTENT_MARKS = (b'"content":"', b'"arguments":"', b"content_block_delta", b"output_text.delta")
"""What marks a content event in a chat chunk, an Anthropic stream or a Responses stream."""


class Simulator:
    """Pending simulated faults per (provider, model). Thread-safe: the GUI arms faults from its
    bridge, the gateway loop consumes them."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], deque[str]] = {}
        self._lock = threading.Lock()

    def arm(self, provider: str, model: str, fault: str, count: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        if not 1 <= count <= MAX_COUNT:
            raise ValueError(f"count must be between 1 and {MAX_COUNT}")
        with self._lock:
            self._pending.setdefault((provider, model), deque()).extend([fault] * count)

    def clear(self, provider: str | None = None, model: str | None = None) -> None:
        with self._lock:
            if provider is None:
                self._pending.clear()
            else:
                self._pending.pop((provider, model or ""), None)

    def pending(self) -> dict[str, list[str]]:
        with self._lock:
            return {f"{p}/{m}": list(q) for (p, m), q in self._pending.items() if q}

    def take(self, provider: str, model: str) -> str | None:
        if not self._pending:  # the hot path: nothing armed, no lock
            return None
        with self._lock:
            queue = self._pending.get((provider, model))
            if not queue:
                return None
            fault = queue.popleft()
            if not queue:
                del self._pending[(provider, model)]
            return fault


def failure(fault: str, provider: str, first_token_timeout: float) -> UpstreamError | None:
    """The error a fault raises before the call (``None`` for ``cut``, which strikes later)."""
    if fault == "error":
        return UpstreamHTTPError(provider, 500, "simulated failure (Switchboard)", type="server_error")
    if fault == "429":
        return UpstreamHTTPError(provider, 429, "simulated rate limit (Switchboard)", retry_after="1")
    if fault == "timeout":
        return UpstreamTimeout(provider, "first token (simulated)", first_token_timeout)
    return None


def cut_after_first_content(reply: UpstreamReply, provider: str) -> UpstreamReply:
    """Let the stream's lifecycle events and first content event through, then drop it."""
    assert reply.events is not None
    upstream = reply.events

    async def events() -> AsyncGenerator[SSEEvent, None]:
        try:
            async for event in upstream:
                yield event
                if event.data and any(m in event.data for m in _CONTENT_MARKS) and b'"content":""' not in event.data:
                    raise UpstreamConnectError(provider, "stream interrupted: simulated connection drop")
        finally:
            await upstream.aclose()

    reply.events = events()
    return reply
