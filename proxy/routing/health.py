"""Per-target health: in-flight count, time-to-first-token average, and the circuit breaker.

A target is ``(provider, upstream model)``. After ``failures`` consecutive failures (or at once
on a 429, when the route says so) its breaker opens and the target is skipped for the cooldown;
when the cooldown is over one request is let through as a probe (half-open): success closes the
breaker, failure opens it again. Everything here runs on the gateway's event loop (no locks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from proxy.config.schema import CooldownPolicy

TargetKey = tuple[str, str]
EWMA_ALPHA = 0.2


@dataclass
class TargetHealth:
    in_flight: int = 0
    consecutive_failures: int = 0
    open_until: float = 0.0
    """Monotonic time until which the breaker is open (0 = closed)."""
    probing: bool = False
    """Half-open: a probe request is in flight."""
    ttft_ms: float | None = None
    """Moving average of time to first byte."""
    last_error: str | None = None

    @property
    def state(self) -> str:
        if self.open_until == 0.0:
            return "healthy"
        return "cooling" if time.monotonic() < self.open_until else "probing"


@dataclass
class HealthBoard:
    """Health of every target the gateway has used. ``on_change(key, state)`` fires on transitions."""

    targets: dict[TargetKey, TargetHealth] = field(default_factory=dict)
    on_change: Callable[[TargetKey, TargetHealth], None] | None = None
    clock: Callable[[], float] = time.monotonic

    def get(self, key: TargetKey) -> TargetHealth:
        health = self.targets.get(key)
        if health is None:
            health = self.targets[key] = TargetHealth()
        return health

    def available(self, key: TargetKey) -> bool:
        """May a request go to this target now? (Claims the probe slot when half-open.)"""
        health = self.get(key)
        if health.open_until == 0.0:
            return True
        if self.clock() < health.open_until or health.probing:
            return False
        health.probing = True
        return True

    def started(self, key: TargetKey) -> None:
        self.get(key).in_flight += 1

    def finished(self, key: TargetKey) -> None:
        health = self.get(key)
        health.in_flight = max(0, health.in_flight - 1)

    def succeeded(self, key: TargetKey, ttft_ms: float | None) -> None:
        health = self.get(key)
        was_open = health.open_until != 0.0
        health.consecutive_failures = 0
        health.open_until = 0.0
        health.probing = False
        health.last_error = None
        if ttft_ms is not None:
            health.ttft_ms = (
                ttft_ms if health.ttft_ms is None else (1 - EWMA_ALPHA) * health.ttft_ms + EWMA_ALPHA * ttft_ms
            )
        if was_open and self.on_change:
            self.on_change(key, health)

    def failed(
        self,
        key: TargetKey,
        policy: CooldownPolicy,
        error: str,
        *,
        rate_limited: bool = False,
        retry_after: float | None = None,
    ) -> None:
        health = self.get(key)
        health.consecutive_failures += 1
        health.last_error = error
        reopen = health.probing  # a failed probe opens the breaker again at once
        health.probing = False
        if reopen or health.consecutive_failures >= policy.failures or (rate_limited and policy.on_rate_limit):
            wait = retry_after if rate_limited and retry_after else policy.seconds
            was_open = health.open_until != 0.0 and self.clock() < health.open_until
            health.open_until = self.clock() + max(wait, 0.001)
            if not was_open and self.on_change:
                self.on_change(key, health)

    def snapshot(self) -> dict[str, dict[str, object]]:
        """For ``switchboard status`` and the event stream."""
        return {
            f"{p}/{m}": {
                "state": h.state,
                "in_flight": h.in_flight,
                "consecutive_failures": h.consecutive_failures,
                "ttft_ms": None if h.ttft_ms is None else round(h.ttft_ms, 1),
                "last_error": h.last_error,
            }
            for (p, m), h in self.targets.items()
        }
