"""A small typed observer for gateway events (no Qt).

Subscribers are plain callables. They run synchronously on the thread that emits: request
lifecycle events on the gateway's event-loop thread, :class:`RequestLogged` on the log writer
thread. Callbacks must be quick and thread-safe; the desktop bridge turns them into queued Qt
signals. A failing callback is logged and never breaks the gateway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proxy.domain.records import RequestRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerStarted:
    base_url: str


@dataclass(frozen=True, slots=True)
class ServerStopped:
    pass


@dataclass(frozen=True, slots=True)
class RequestStarted:
    id: str
    started_at: float
    surface: str
    model: str | None
    client: str | None
    stream: bool
    route: str | None = None
    """The route chosen (A/B variants resolved)."""


@dataclass(frozen=True, slots=True)
class RequestFirstByte:
    id: str
    ttfb_ms: float


@dataclass(frozen=True, slots=True)
class RequestProgress:
    """Streamed answer text of a running request, in pieces (the request log's live view).

    Sent only while body capture is on and someone listens, and batched: at most one event per
    request every :data:`proxy.server.streaming.PROGRESS_SECONDS`, plus one with the rest at the end.
    """

    id: str
    text: str
    """The text since the previous event of this request."""


@dataclass(frozen=True, slots=True)
class RequestFinished:
    """The request is over; ``record.cost`` is not computed yet (see :class:`RequestLogged`)."""

    record: RequestRecord


@dataclass(frozen=True, slots=True)
class RequestLogged:
    """The request's row is committed to the log, with its cost."""

    record: RequestRecord


@dataclass(frozen=True, slots=True)
class ConfigApplied:
    """A new config version is in force."""

    version: int | None
    author: str
    summary: str


@dataclass(frozen=True, slots=True)
class ConfigRejected:
    """An edited config was invalid; the last good one stays in force."""

    source: str
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TargetHealthChanged:
    """A target's circuit breaker opened or closed (``state``: healthy, cooling, probing)."""

    target: str
    state: str
    last_error: str | None


@dataclass(frozen=True, slots=True)
class KeyFailing:
    """A provider answered 401/403: its key is rejected."""

    provider: str
    message: str


@dataclass(frozen=True, slots=True)
class BudgetThreshold:
    """Spend crossed 80% (``fraction`` 0.8) or 100% of a budget (``scope``: ``key:NAME`` or ``route:NAME``)."""

    scope: str
    period: str
    fraction: float
    spent_usd: float


@dataclass(frozen=True, slots=True)
class StateEngineChanged:
    """Team mode: a shared state engine (``redis``, ``postgresql``) became unreachable or came back."""

    engine: str
    up: bool
    detail: str = ""


GatewayEvent = (
    ServerStarted
    | ServerStopped
    | RequestStarted
    | RequestFirstByte
    | RequestProgress
    | RequestFinished
    | RequestLogged
    | ConfigApplied
    | ConfigRejected
    | TargetHealthChanged
    | KeyFailing
    | BudgetThreshold
    | StateEngineChanged
)
Callback = Callable[[Any], None]


class GatewayEvents:
    """Connect callbacks; emit events to all of them."""

    def __init__(self) -> None:
        self._callbacks: tuple[Callback, ...] = ()
        self._lock = threading.Lock()

    @property
    def has_subscribers(self) -> bool:
        return bool(self._callbacks)

    def connect(self, callback: Callback) -> Callable[[], None]:
        """Subscribe; returns a function that unsubscribes."""
        with self._lock:
            self._callbacks = (*self._callbacks, callback)

        def disconnect() -> None:
            with self._lock:
                self._callbacks = tuple(c for c in self._callbacks if c is not callback)

        return disconnect

    def emit(self, event: GatewayEvent) -> None:
        for callback in self._callbacks:  # a tuple snapshot: safe against concurrent connects
            try:
                callback(event)
            except Exception:
                log.exception("event callback %r failed on %s", callback, type(event).__name__)
