"""The circuit breaker per target: open after N failures or a 429, half-open probe, close on success."""

from __future__ import annotations

from proxy.config.schema import CooldownPolicy
from proxy.routing.health import HealthBoard

KEY = ("p", "m")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_then_probes():
    clock = Clock()
    changes = []
    board = HealthBoard(on_change=lambda k, h: changes.append(h.state), clock=clock)
    policy = CooldownPolicy(failures=3, seconds=30)
    for _ in range(2):
        board.failed(KEY, policy, "boom")
    assert board.available(KEY)
    board.failed(KEY, policy, "boom")
    assert not board.available(KEY)
    clock.now += 31
    assert board.available(KEY), "cooldown over: one probe goes through"
    assert not board.available(KEY), "only one probe at a time"
    board.failed(KEY, policy, "still down")
    assert not board.available(KEY), "a failed probe opens the breaker again"
    clock.now += 31
    assert board.available(KEY)
    board.succeeded(KEY, 120.0)
    assert board.available(KEY) and board.get(KEY).consecutive_failures == 0
    assert board.snapshot()["p/m"]["state"] == "healthy"
    assert changes[0] in ("cooling", "probing") and len(changes) >= 2


def test_rate_limit_opens_at_once_for_retry_after():
    clock = Clock()
    board = HealthBoard(clock=clock)
    board.failed(KEY, CooldownPolicy(), "429", rate_limited=True, retry_after=5)
    assert not board.available(KEY)
    clock.now += 5.1
    assert board.available(KEY)


def test_ttft_moving_average_and_in_flight():
    board = HealthBoard()
    board.succeeded(KEY, 100.0)
    board.succeeded(KEY, 200.0)
    assert board.get(KEY).ttft_ms == 120.0
    board.started(KEY)
    board.started(KEY)
    board.finished(KEY)
    assert board.get(KEY).in_flight == 1
