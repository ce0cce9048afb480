"""``/metrics``, cleaned: the model label, the opt-in access-key label, gauges of the gateway's
state, counters as counters, no ``_created`` series, and scrapes that never touch the request log."""

from __future__ import annotations

import aiohttp

from tests.helpers import DEMO_CONFIG, gateway_context

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}


def config(**extra) -> dict:
    routes = [{**DEMO_CONFIG["routes"][0], "cache": {"enabled": True}, "limits": {"daily_usd": 5.0}}]
    return {**DEMO_CONFIG, "routes": routes, "key_limits": {"env": {"monthly_usd": 20.0}}, **extra}


def value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in /metrics:\n{text}")


async def scrape(ctx, s: aiohttp.ClientSession) -> str:
    async with s.get(f"{ctx.base_url}/metrics", headers=ctx.headers()) as resp:
        assert resp.status == 200
        return await resp.text()


async def test_scrapes_are_counted_not_logged(tmp_path):
    async with gateway_context(tmp_path, config()) as ctx, aiohttp.ClientSession() as s:
        for _ in range(3):
            await scrape(ctx, s)
            async with s.get(f"{ctx.base_url}/switchboard/status", headers=ctx.headers()) as resp:
                assert resp.status == 200
            async with s.get(f"{ctx.base_url}/health") as resp:
                assert resp.status == 200
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=CHAT, headers=ctx.headers()) as resp:
            assert resp.status == 200
        text = await scrape(ctx, s)  # at once: counted when the request ended, not when it was logged
        assert (
            value(
                text,
                'switchboard_requests_total{model="echo",provider="demo",route="demo",status="ok",'
                'surface="chat",variant=""}',
            )
            == 1
        )
        rows = ctx.rows()
    assert [r.surface for r in rows] == ["chat"], "scrapes and status polls leave the log untouched"
    assert value(text, 'switchboard_unlogged_requests_total{endpoint="metrics"}') == 4  # this one included
    assert value(text, 'switchboard_unlogged_requests_total{endpoint="status"}') == 3
    assert value(text, 'switchboard_unlogged_requests_total{endpoint="health"}') >= 3
    assert "_created" not in text
    assert "# TYPE switchboard_log_rows_dropped_total counter" in text
    assert value(text, "switchboard_log_rows_dropped_total") == 0


async def test_state_gauges(tmp_path):
    async with gateway_context(tmp_path, config()) as ctx, aiohttp.ClientSession() as s:
        for _ in range(2):  # a miss, then a hit
            async with s.post(f"{ctx.base_url}/v1/chat/completions", json=CHAT, headers=ctx.headers()) as resp:
                assert resp.status == 200
        text = await scrape(ctx, s)
    assert value(text, "switchboard_cache_entries") == 1
    assert value(text, 'switchboard_budget_limit_usd{period="day",scope="route:demo"}') == 5.0
    assert value(text, 'switchboard_budget_used_usd{period="day",scope="route:demo"}') == 0.0
    assert value(text, 'switchboard_budget_limit_usd{period="month",scope="key:env"}') == 20.0
    assert value(text, 'switchboard_target_in_flight{model="echo",provider="demo"}') == 0
    assert value(text, 'switchboard_target_breaker_state{model="echo",provider="demo"}') == 0
    assert value(text, "switchboard_in_flight") == 0  # a scrape is not a logged request
    assert "switchboard_otel_spans_dropped_total" not in text, "export is off"


async def test_access_key_label_is_opt_in(tmp_path):
    async with gateway_context(tmp_path, config()) as ctx, aiohttp.ClientSession() as s:
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=CHAT, headers=ctx.headers()) as resp:
            assert resp.status == 200
        assert 'client="' not in await scrape(ctx, s)
    on = config(telemetry={"prometheus_client_label": True})
    async with gateway_context(tmp_path / "on", on) as ctx, aiohttp.ClientSession() as s:
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=CHAT, headers=ctx.headers()) as resp:
            assert resp.status == 200
        text = await scrape(ctx, s)
    assert 'client="env"' in text
