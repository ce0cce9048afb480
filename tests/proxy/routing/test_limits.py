"""Limits and budgets: per access key and per route; over a limit is a 429 that says which limit
and when it resets; budgets survive restarts and report 80% / 100% once."""

from __future__ import annotations

import aiohttp
import pytest

from proxy.config.schema import Limits
from proxy.domain.errors import ApiError
from proxy.domain.events import BudgetThreshold, GatewayEvents
from proxy.routing.limits import LimitKeeper, seconds_to_next_day, seconds_to_next_month
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context

KEY = "sk-limits-test-0000000000000000"


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


async def test_limits_through_the_gateway_and_after_a_restart(tmp_path):
    async with FakeOpenAIUpstream(api_key=KEY) as upstream:
        config = {
            "providers": [
                {"id": "oa", "preset": "openai", "base_url": upstream.base_url, "key": {"env": "SB_LIM_KEY"}}
            ],
            "routes": [
                {
                    "name": "paid",
                    "targets": [{"provider": "oa", "model": "gpt-4o-mini"}],
                    "limits": {"daily_usd": 0.000001},
                },
                {"name": "free", "targets": [{"provider": "oa", "model": "gpt-4o-mini"}]},
            ],
            "key_limits": {"env": {"requests_per_minute": 5}},
        }
        events = GatewayEvents()
        seen = []
        events.connect(lambda e: seen.append(e) if isinstance(e, BudgetThreshold) else None)
        body = {"model": "paid", "messages": [{"role": "user", "content": "spend a little"}]}
        async with gateway_context(tmp_path, config, env={"SB_LIM_KEY": KEY}, events=events) as ctx:
            async with aiohttp.ClientSession() as s:
                url = f"{ctx.base_url}/v1/chat/completions"
                async with s.post(url, json=body, headers=ctx.headers()) as resp:
                    assert resp.status == 200
                ctx.rows()  # the writer prices the request and counts its spend
                async with s.post(url, json=body, headers=ctx.headers()) as resp:
                    assert resp.status == 429
                    err = (await resp.json())["error"]
                    assert err["code"] == "switchboard_limit" and "route 'paid'" in err["message"]
                    assert int(resp.headers["Retry-After"]) > 0
                for _ in range(4):  # the refused request did not count against the key
                    async with s.post(url, json={**body, "model": "free"}, headers=ctx.headers()) as resp:
                        assert resp.status == 200
                async with s.post(url, json={**body, "model": "free"}, headers=ctx.headers()) as resp:
                    assert resp.status == 429
                    assert (
                        "access key 'env' is limited to 5 requests per minute"
                        in (await resp.json())["error"]["message"]
                    )
            assert [(e.scope, e.fraction) for e in seen] == [("route:paid", 0.8), ("route:paid", 1.0)]
        async with gateway_context(tmp_path, config, env={"SB_LIM_KEY": KEY}) as ctx:
            async with aiohttp.ClientSession() as s:
                async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                    assert resp.status == 429, "the day's spend is read back from the log after a restart"


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
