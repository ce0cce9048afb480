"""Feature hooks: the shape of a gateway feature (cache, limits, failure simulator, metrics ...).

A feature is one class that defines the hook points it needs, and nothing else (mitmproxy's addons
are the model); the gateway calls them in the order of its hook list. Every point is optional:
:class:`Hooks` collects the subscribers of each point once, so a point nobody subscribes to costs
one loop over an empty tuple.

Points, in the order a request meets them:

``on_request(ex, snap, resolution, request)``
    The request is resolved, before any attempt. Return ``None`` to let it pass, or an awaitable
    that refuses it (raises ``ApiError``: a limit) or answers it (returns an ``UpstreamReply``: a
    cache hit; later hooks are then skipped). Declining synchronously keeps the hot path free of
    coroutines.
``on_attempt(snap, attempt, adapter, call)``
    Before one upstream call. Return ``None`` to let it go upstream, or an awaitable that stands in
    for it (returns a reply or raises ``UpstreamError``: a simulated failure).
``on_attempted(ex, record)``
    One attempt ended (an ``AttemptRecord``: target, status, error, time), as the attempt loop
    reports it; e.g. a span per attempt. With no subscriber the loop reports to the ``Exchange``
    directly.
``on_response(ex, resolution, request, reply)``
    A forwarded reply (not an early answer), before it is relayed; returns it or a replacement
    (e.g. a stream wrapped to watch its events).
``on_ended(ex, record)``
    The request is over; its record is about to be logged (on the event loop).
``on_logged(record)``
    The record is priced and written, on the log writer thread (off the hot path).

Lifecycle: ``async start(config)`` when the gateway starts (before it serves), ``async stop()``
after it stopped serving.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from proxy.config.schema import GatewayConfig
from proxy.domain.exchange import AttemptRecord, Exchange
from proxy.domain.records import RequestRecord
from proxy.engine.snapshot import Snapshot
from proxy.providers.base import ProviderAdapter, UpstreamCall, UpstreamReply
from proxy.routing.resolve import Attempt, Resolution


class ModelRequest(Protocol):
    """One model request as the engine sees it, whichever API the client spoke (the server's
    surface dialects implement this)."""

    @property
    def model(self) -> str: ...

    @property
    def stream(self) -> bool: ...

    @property
    def user(self) -> object:
        """Who the client says the end user is (sticky A/B assignment by user)."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The client's request headers (sticky A/B by header, cache bypass)."""
        ...

    @property
    def cache_body(self) -> dict[str, Any] | None:
        """The request in the canonical chat form, for the cache to key on; ``None``: never cached."""
        ...

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        """The upstream call for ``attempt``, given the endpoints its adapter serves natively and
        whether it accepts ``stream_options.include_usage``."""
        ...

    async def prime(self, reply: UpstreamReply, provider: str) -> UpstreamReply:
        """Hold a stream's lifecycle events back until its first content (raises ``UpstreamError``
        for a stream that fails before it)."""
        ...


OnRequest = Callable[[Exchange, Snapshot, Resolution, ModelRequest], Awaitable[UpstreamReply | None] | None]
OnAttempt = Callable[[Snapshot, Attempt, ProviderAdapter, UpstreamCall], Awaitable[UpstreamReply] | None]
OnAttempted = Callable[[Exchange, AttemptRecord], None]
OnResponse = Callable[[Exchange, Resolution, ModelRequest, UpstreamReply], UpstreamReply]
OnEnded = Callable[[Exchange, RequestRecord], None]
OnLogged = Callable[[RequestRecord], None]
Start = Callable[[GatewayConfig], Awaitable[None]]
Stop = Callable[[], Awaitable[None]]


class Hooks:
    """The gateway's hooks in order, and the subscribers of each point (bound methods, found once)."""

    __slots__ = ("all", "request", "attempt", "attempted", "response", "ended", "logged", "start", "stop")

    def __init__(self, hooks: Sequence[object]) -> None:
        self.all = tuple(hooks)
        self.request: tuple[OnRequest, ...] = self._subscribers("on_request")
        self.attempt: tuple[OnAttempt, ...] = self._subscribers("on_attempt")
        self.attempted: tuple[OnAttempted, ...] = self._subscribers("on_attempted")
        self.response: tuple[OnResponse, ...] = self._subscribers("on_response")
        self.ended: tuple[OnEnded, ...] = self._subscribers("on_ended")
        self.logged: tuple[OnLogged, ...] = self._subscribers("on_logged")
        self.start: tuple[Start, ...] = self._subscribers("start")
        self.stop: tuple[Stop, ...] = self._subscribers("stop")

    def _subscribers(self, point: str) -> tuple[Any, ...]:
        return tuple(getattr(hook, point) for hook in self.all if callable(getattr(hook, point, None)))


class ReportingAttempts:
    """The ``AttemptReport`` the attempt loop gets when hooks watch attempts: the ``Exchange``'s,
    each ended attempt also passed to the ``on_attempted`` hooks."""

    __slots__ = ("ex", "hooks")

    def __init__(self, ex: Exchange, hooks: tuple[OnAttempted, ...]) -> None:
        self.ex = ex
        self.hooks = hooks

    @property
    def id(self) -> str:
        return self.ex.id

    @property
    def attempts(self) -> int:
        return self.ex.attempts

    def attempt_began(self, provider: str, model: str) -> None:
        self.ex.attempt_began(provider, model)

    def attempted(self, attempt: AttemptRecord) -> None:
        self.ex.attempted(attempt)
        for hook in self.hooks:
            hook(self.ex, attempt)

    def hold(self, release: Callable[[], None]) -> None:
        self.ex.hold(release)

    def let_go(self, release: Callable[[], None]) -> None:
        self.ex.let_go(release)
