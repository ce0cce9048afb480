"""The attempt loop: the one place a request is tried against its targets.

For each request: the route's strategy orders the candidates; targets whose breaker is open are
skipped (if every target is cooling down, they are tried anyway rather than failing outright);
each target gets up to ``1 + retries.max_retries`` tries, with exponential backoff and full
jitter, honouring ``Retry-After`` up to a cap, all within the route's time budget. What a failure
does is decided by :func:`decide`:

=================================  =====================================================
failure                            action (when its trigger is on; otherwise: return it)
=================================  =====================================================
refused / reset / unusable answer  retry the same target, then next target
timeout                            next target
missing key                        next target
request this provider cannot take  next target (else its 400 is returned)
429                                retry after Retry-After if within the cap, else next
408, 409, 5xx (529 included)       retry the same target, then next target
401, 403                           next target (the key is reported as failing)
400 "context length"               next target (one with a larger window)
any other 4xx                      returned to the client as it is
=================================  =====================================================

For streams, an attempt counts as successful only once the first content event has arrived
(the engine's ``send`` primes the stream, holding back lifecycle-only events), so an error right
after the response head still falls back. After that, nothing is retried: see ``server/streaming.py``.

The loop knows no HTTP and no engine: it is given one ``send`` (try this target once) and reports
what it did to an :class:`AttemptReport` (the request's ``Exchange`` is one). The health of the
targets is kept in a :class:`HealthStore` (in-process: ``routing.health.HealthBoard``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from proxy.config.schema import CooldownPolicy, RouteConfig
from proxy.domain.errors import (
    ApiError,
    KeyUnavailable,
    UpstreamConnectError,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnsupported,
)
from proxy.domain.exchange import AttemptRecord
from proxy.providers.base import UpstreamReply
from proxy.routing.resolve import Attempt, Resolution
from proxy.routing.strategies import STRATEGIES, Candidate

log = logging.getLogger(__name__)

RETURN, RETRY, NEXT = "return", "retry", "next"
_CONTEXT_HINTS = ("context_length", "context length", "maximum context", "too many tokens", "prompt is too long")

Send = Callable[[Attempt], Awaitable[UpstreamReply]]
"""One try against one target: the reply (a stream primed to its first content), or ``UpstreamError``."""


class AttemptReport(Protocol):
    """Where the loop reports the attempts of one request (``proxy.domain.exchange.Exchange`` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def attempts(self) -> int:
        """Attempts so far."""
        ...

    def attempt_began(self, provider: str, model: str) -> None:
        """One more attempt, at this target."""

    def attempted(self, attempt: AttemptRecord) -> None:
        """How one attempt ended."""

    def hold(self, release: Callable[[], None]) -> None:
        """Call ``release`` when the request (and its stream) is over."""

    def let_go(self, release: Callable[[], None]) -> None:
        """Call ``release`` now instead (a target given up before the request ended)."""


class TargetState(Protocol):
    @property
    def in_flight(self) -> int: ...

    @property
    def ttft_ms(self) -> float | None: ...


class HealthStore(Protocol):
    """Per-target health the loop reads and updates: in-flight counts, latency, the circuit breaker.

    In-process: ``routing.health.HealthBoard``. The calls are synchronous on purpose: they happen per
    attempt, so a shared store (Redis) would keep a local view and replicate it in the background
    rather than make a round trip per call."""

    def get(self, key: tuple[str, str]) -> TargetState: ...

    def available(self, key: tuple[str, str]) -> bool: ...

    def started(self, key: tuple[str, str]) -> None: ...

    def finished(self, key: tuple[str, str]) -> None: ...

    def succeeded(self, key: tuple[str, str], ttft_ms: float | None) -> None: ...

    def failed(
        self,
        key: tuple[str, str],
        policy: CooldownPolicy,
        error: str,
        *,
        rate_limited: bool = False,
        retry_after: float | None = None,
    ) -> None: ...


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or HTTP-date); ``None`` if unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds or seconds < 0 or seconds > 86400:  # NaN, negative, absurd
        return None
    return seconds


def is_context_length_error(exc: UpstreamHTTPError) -> bool:
    text = f"{exc.code or ''} {exc.upstream_message}".lower()
    return exc.status in (400, 413, 422) and any(h in text for h in _CONTEXT_HINTS)


def decide(exc: UpstreamError, route: RouteConfig) -> str:
    """What to do after ``exc``: return it, retry the same target, or go to the next one."""
    t = route.triggers
    if isinstance(exc, UpstreamUnsupported):
        return NEXT  # another target may take it; the last one's 400 is returned
    if isinstance(exc, KeyUnavailable):
        return NEXT if t.missing_key else RETURN
    if isinstance(exc, UpstreamTimeout):
        return NEXT if t.timeouts else RETURN
    if isinstance(exc, (UpstreamConnectError, UpstreamProtocolError)):
        return RETRY if t.connection_errors else RETURN
    if isinstance(exc, UpstreamHTTPError):
        if exc.status == 429:
            return RETRY if t.rate_limits else RETURN
        if exc.status in (408, 409) or exc.status >= 500:
            return RETRY if t.server_errors else RETURN
        if exc.status in (401, 403):
            return NEXT if t.auth_errors else RETURN
        if is_context_length_error(exc):
            return NEXT if t.context_length else RETURN
        return RETURN
    return NEXT if t.connection_errors else RETURN


class AttemptLoop:
    """Tries a resolved request against its targets; keeps per-route round-robin turns."""

    def __init__(
        self,
        health: HealthStore,
        *,
        rng: random.Random | None = None,
        prices: Callable[[Attempt], float | None] | None = None,
        on_key_failing: Callable[[str, str], None] | None = None,
    ) -> None:
        self.health = health
        self.rng = rng or random.Random()
        self.prices = prices or (lambda _a: None)
        self.on_key_failing = on_key_failing
        self._turns: dict[str, itertools.count[int]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}

    def order(self, resolution: Resolution) -> list[Attempt]:
        route = resolution.policy
        if route.strategy == "fallback" or len(resolution.attempts) == 1:
            return list(resolution.attempts)  # the common case needs no candidates built
        by_key = {(a.provider, a.model): a for a in resolution.attempts}
        candidates = []
        for a in resolution.attempts:
            h = self.health.get((a.provider, a.model))
            candidates.append(Candidate(a.provider, a.model, a.weight, h.in_flight, h.ttft_ms, self.prices(a)))
        turn = next(self._turns.setdefault(resolution.route or "", itertools.count()))
        ordered = STRATEGIES[route.strategy](candidates, rng=self.rng, turn=turn)
        return [by_key[(c.provider, c.model)] for c in ordered]

    async def run(self, ex: AttemptReport, resolution: Resolution, send: Send) -> tuple[Attempt, UpstreamReply]:
        """The target that answered first and its primed reply; each try is ``send(attempt)``.

        Raises:
            ApiError: every target failed (the last failure, in OpenAI's shape), or the failure
                is the client's own mistake.
        """
        route = resolution.policy
        policy = route.retries
        deadline = time.monotonic() + policy.budget
        order = self.order(resolution)
        open_ = [a for a in order if self.health.available((a.provider, a.model))]
        targets = open_ or order  # all cooling down: try them anyway rather than refuse

        async def one(attempt: Attempt) -> UpstreamReply:
            return await self._one_try(ex, attempt, route, send)

        last: _Failed | None = None
        if route.hedge_after_ms is not None and len(targets) >= 2 and self._free(targets[0]):
            hedged = await self._hedge(ex, targets[0], targets[1], route.hedge_after_ms / 1000, one)
            if isinstance(hedged, tuple):
                return hedged
            last, targets = hedged, targets[2:] if hedged.both else targets[1:]
        for index, attempt in enumerate(targets):
            has_next = index + 1 < len(targets)
            slot = self._slot(attempt)
            if slot is not None:
                if slot.locked() and has_next:
                    ex.attempted(
                        AttemptRecord(attempt.provider, attempt.model, 0, "skipped: at its concurrency limit", 0.0)
                    )
                    continue
                try:
                    await asyncio.wait_for(slot.acquire(), attempt.queue_timeout)
                except TimeoutError:
                    raise ApiError(
                        429,
                        f"Every target of this route is busy: {attempt.provider}/{attempt.model} is limited to "
                        f"{attempt.max_concurrent} requests at once. Try again shortly.",
                        "rate_limit_error",
                        code="targets_busy",
                        headers={"Retry-After": "1"},
                    ) from None
                ex.hold(slot.release)  # held until the request (and its stream) is over
            for try_no in range(1 + policy.max_retries):
                try:
                    return attempt, await one(attempt)
                except _Failed as failed:
                    last = failed
                    if failed.action == RETURN:
                        raise failed.error.to_api_error() from None
                    if failed.action == NEXT or try_no == policy.max_retries:
                        break
                    wait = self._backoff(try_no, policy.backoff_base, policy.backoff_max)
                    if failed.retry_after is not None:
                        if failed.retry_after > policy.retry_after_cap:
                            break  # too long: move on, or return the 429 with its Retry-After
                        wait = failed.retry_after
                    if time.monotonic() + wait > deadline:
                        break
                    await asyncio.sleep(wait)
            if slot is not None:  # this target is done with: give its slot back now
                ex.let_go(slot.release)
            if time.monotonic() > deadline and has_next:
                log.info("request %s: attempt budget of %gs spent", ex.id, policy.budget)
                break
        assert last is not None
        raise last.error.to_api_error()

    async def _one_try(self, ex: AttemptReport, attempt: Attempt, route: RouteConfig, send: Send) -> UpstreamReply:
        """One try against one target, recorded in the log, the health board and the events.

        Raises:
            _Failed: with the decided action.
        """
        key = (attempt.provider, attempt.model)
        started = time.monotonic()
        ex.attempt_began(attempt.provider, attempt.model)
        self.health.started(key)
        try:
            reply = await send(attempt)
        except UpstreamError as exc:
            elapsed = (time.monotonic() - started) * 1000
            ex.attempted(AttemptRecord(attempt.provider, attempt.model, exc.status, exc.message, elapsed))
            action = decide(exc, route)
            retry_after = retry_after_seconds(getattr(exc, "retry_after", None))
            rate_limited = isinstance(exc, UpstreamHTTPError) and exc.status == 429
            if action != RETURN and not isinstance(exc, UpstreamUnsupported):  # the request's fault, not the target's
                self.health.failed(key, route.cooldown, exc.message, rate_limited=rate_limited, retry_after=retry_after)
            if isinstance(exc, UpstreamHTTPError) and exc.status in (401, 403) and self.on_key_failing:
                self.on_key_failing(attempt.provider, exc.message)
            log.info("request %s attempt %d (%s/%s): %s -> %s", ex.id, ex.attempts, *key, exc.message, action)
            raise _Failed(exc, action, retry_after) from None
        except asyncio.CancelledError:
            elapsed = (time.monotonic() - started) * 1000
            ex.attempted(AttemptRecord(attempt.provider, attempt.model, 0, "cancelled", elapsed))
            raise
        finally:
            self.health.finished(key)
        elapsed = (time.monotonic() - started) * 1000
        self.health.succeeded(key, elapsed)
        ex.attempted(AttemptRecord(attempt.provider, attempt.model, reply.status, None, elapsed, reply.headers))
        return reply

    def _free(self, attempt: Attempt) -> bool:
        slot = self._slot(attempt)
        return slot is None or not slot.locked()

    async def _hedge(
        self,
        ex: AttemptReport,
        first: Attempt,
        second: Attempt,
        after: float,
        one: Callable[[Attempt], Awaitable[UpstreamReply]],
    ) -> tuple[Attempt, UpstreamReply] | _Failed:
        """Start ``first``; if it has not answered within ``after`` seconds, start ``second`` too and
        keep whichever answers first (the other is cancelled). A failure of the first before the
        hedge fires goes back to the normal loop (``both`` false); if both fail, ``both`` is true.

        Concurrency caps hold: each side takes its target's slot (``first``'s is free when this is
        called); the hedge does not start while ``second`` is at its cap. The winner keeps its slot
        until the request ends; the loser's is given back at once."""
        slots: list[tuple[Attempt, asyncio.Semaphore]] = []

        async def take(attempt: Attempt) -> None:
            slot = self._slot(attempt)
            if slot is not None:
                await slot.acquire()  # free (checked just before): returns at once
                slots.append((attempt, slot))

        await take(first)
        tasks: dict[asyncio.Task[UpstreamReply], Attempt] = {asyncio.ensure_future(one(first)): first}
        failed: _Failed | None = None
        chosen: asyncio.Task[UpstreamReply] | None = None
        try:
            done, _ = await asyncio.wait(tasks, timeout=after)
            if not done and not self._free(second):  # no room for a hedge: wait for the first alone
                done, _ = await asyncio.wait(tasks)
            if done:
                task = next(iter(done))
                if task.exception() is None:
                    chosen = task
                    return first, task.result()
                failed = task.exception()  # type: ignore[assignment]  # None was ruled out just above
                assert isinstance(failed, _Failed)
                if failed.action == RETURN:
                    raise failed.error.to_api_error() from None
                return failed
            await take(second)
            tasks[asyncio.ensure_future(one(second))] = second
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = task.exception()
                    if error is None:
                        chosen = task
                        return tasks[task], task.result()
                    assert isinstance(error, _Failed)
                    failed = error
            assert failed is not None
            failed.both = True
            return failed
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            for task in tasks:  # let the losers close their connections; close a reply that raced in
                if task is chosen:
                    continue
                with contextlib.suppress(asyncio.CancelledError, _Failed):
                    reply = await task
                    if reply.events is not None:
                        await reply.events.aclose()
            for attempt, slot in slots:
                if chosen is not None and tasks[chosen] is attempt:
                    ex.hold(slot.release)  # held until the request (and its stream) is over
                else:
                    slot.release()

    def _slot(self, attempt: Attempt) -> asyncio.Semaphore | None:
        if attempt.max_concurrent is None:
            return None
        key = (attempt.provider, attempt.model, attempt.max_concurrent)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = asyncio.Semaphore(attempt.max_concurrent)
        return slot

    def _backoff(self, try_no: int, base: float, cap: float) -> float:
        """Exponential backoff with full jitter."""
        return self.rng.uniform(0, min(cap, base * (2**try_no)))


class _Failed(Exception):
    """A failed try and what to do about it."""

    def __init__(self, error: UpstreamError, action: str, retry_after: float | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.action = action
        self.retry_after = retry_after
        self.both = False


def no_route_error(model: str) -> ApiError:
    return ApiError(
        404,
        f"The model '{model}' does not exist or is disabled. List available models with GET /v1/models.",
        param="model",
        code="model_not_found",
    )
