"""The limit counts (LimitKeeper): over a limit is a 429 that says which limit and when it
resets; budgets report 80% / 100% once. Through the gateway: ``tests/proxy/engine/hooks/test_limits.py``."""

from __future__ import annotations

import pytest

from proxy.config.schema import Limits
from proxy.domain.errors import ApiError
from proxy.routing.limits import (
    LIMIT_FIELDS,
    LimitKeeper,
    is_unlimited,
    seconds_to_next_day,
    seconds_to_next_month,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_window():
    clock = Clock()
    keeper = LimitKeeper(clock=clock)
    limits = Limits(requests_per_minute=2)
    keeper.check(("key:a", limits))
    keeper.check(("key:a", limits))
    with pytest.raises(ApiError) as err:
        keeper.check(("key:a", limits))
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "60"
    assert "access key 'a' is limited to 2 requests per minute" in err.value.message
    keeper.check(("key:b", limits))  # scopes are separate
    clock.now += 60.5
    keeper.check(("key:a", limits))


def test_tokens_per_minute():
    clock = Clock()
    keeper = LimitKeeper(clock=clock)
    limits = Limits(tokens_per_minute=100)
    keeper.check(("route:r", limits))
    keeper.add_tokens("route:r", 150)
    with pytest.raises(ApiError, match="route 'r' is limited to 100 tokens per minute"):
        keeper.check(("route:r", limits))


def test_budgets_and_thresholds():
    clock = Clock()
    seen = []
    keeper = LimitKeeper(on_threshold=lambda *a: seen.append(a), clock=clock)
    limits = Limits(daily_usd=1.0, monthly_usd=10.0)
    keeper.add_spend("key:a", 0.5, limits)
    keeper.check(("key:a", limits))
    keeper.add_spend("key:a", 0.35, limits)
    assert seen == [("key:a", "day", 0.8, pytest.approx(0.85))]
    keeper.add_spend("key:a", 0.2, limits)
    assert seen[-1][:3] == ("key:a", "day", 1.0)
    with pytest.raises(ApiError, match=r"daily budget of \$1 \(\$1.0500 spent\)") as err:
        keeper.check(("key:a", limits))
    assert int(err.value.headers["Retry-After"]) == int(seconds_to_next_day(clock.now) + 0.999)
    keeper.add_spend("key:a", 0.01, limits)
    assert len(seen) == 2, "each threshold is reported once per period"
    assert seconds_to_next_month(clock.now) >= seconds_to_next_day(clock.now)


def test_a_refused_request_counts_against_no_scope():
    keeper = LimitKeeper(clock=Clock())
    key, route = ("key:a", Limits(requests_per_minute=1)), ("route:r", Limits(requests_per_minute=1))
    keeper.check(route)
    with pytest.raises(ApiError, match="route 'r'"):
        keeper.check(key, route)
    keeper.check(key)  # the key's window is still empty


def test_token_window_does_not_grow_without_limits():
    clock = Clock()
    keeper = LimitKeeper(clock=clock)
    for _ in range(1000):
        keeper.add_tokens("route:r", 10)
        clock.now += 1
    assert len(keeper._usage("route:r").tokens) <= 61


def test_unlimited_means_every_field_unset():
    assert tuple(Limits.model_fields) == LIMIT_FIELDS, "is_unlimited must read every field of Limits"
    assert is_unlimited(Limits())
    for field, value in zip(LIMIT_FIELDS, (1, 1, 0.5, 0.5), strict=True):
        assert not is_unlimited(Limits(**{field: value})), field
