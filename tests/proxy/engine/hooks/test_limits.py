"""The limits hook through the gateway: per access key and per route; a refused request counts
against nothing; budgets survive restarts and report 80% / 100% once."""

from __future__ import annotations

import aiohttp

from proxy.domain.events import BudgetThreshold, GatewayEvents
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context

KEY = "sk-limits-test-0000000000000000"


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
