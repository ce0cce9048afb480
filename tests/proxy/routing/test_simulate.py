"""Simulated failures ("Simulate failure" in the routing editor, ``/switchboard/simulate``): a
target fails on purpose for its next N calls, through the real attempt loop, log and health."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from tests.helpers import gateway_context
from tests.proxy.routing.test_fallback_chain import KEY, MESSAGES, attempts, chain_config, pair  # noqa: F401

pytestmark = pytest.mark.usefixtures("pair")


async def arm(http: aiohttp.ClientSession, ctx, **body) -> tuple[int, dict]:
    async with http.post(f"{ctx.base_url}/switchboard/simulate", json=body, headers=ctx.headers()) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize("fault", ["error", "429", "timeout"])
async def test_armed_faults_send_the_next_calls_to_the_fallback(tmp_path, pair, fault) -> None:  # noqa: F811
    one, two = pair
    config = chain_config(one.base_url, two.base_url, retries={"max_retries": 0})
    async with gateway_context(tmp_path, config, env={"SB_CHAIN_KEY": KEY}) as ctx, aiohttp.ClientSession() as http:
        status, body = await arm(http, ctx, target="one/gpt-4o-mini", fault=fault, count=2)
        assert status == 200 and body["pending"] == {"one/gpt-4o-mini": [fault, fault]}
        client = ctx.openai()
        served = []
        for _ in range(3):
            raw = await client.chat.completions.with_raw_response.create(model="chain", messages=MESSAGES)
            served.append(raw.headers["x-switchboard-provider"])
        # two simulated failures, then the real thing; a 429 also cools the target down for its
        # Retry-After (1 s), exactly as a real one would
        assert served == ["two", "two", "two" if fault == "429" else "one"]
        assert len(one.requests) == (0 if fault == "429" else 1)  # nothing was sent for the simulated ones
        rows = [r for r in ctx.rows() if r.surface == "chat"]
        assert [a[0] for a in attempts(rows[0])] == ["one", "two"]
        assert "simulated" in orjson.loads(rows[0].attempt_log)[0]["error"]


async def test_cut_fault_drops_a_stream_after_its_first_content(tmp_path, pair) -> None:  # noqa: F811
    one, two = pair
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        async with aiohttp.ClientSession() as http:
            await arm(http, ctx, target="one/gpt-4o-mini", fault="cut")
            body = {"model": "chain", "messages": MESSAGES, "stream": True}
            async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                raw = await resp.read()
        assert b'"error"' in raw and b"[DONE]" not in raw and b"simulated" in raw
        assert ctx.rows()[-1].status == "cut" and len(two.requests) == 0


async def test_simulate_endpoint_lists_clears_and_refuses_nonsense(tmp_path, pair) -> None:  # noqa: F811
    one, two = pair
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        async with aiohttp.ClientSession() as http:
            assert (await arm(http, ctx, target="nope/x", fault="error"))[0] == 400
            assert (await arm(http, ctx, target="one/gpt-4o-mini", fault="explode"))[0] == 400
            assert (await arm(http, ctx, target="one/gpt-4o-mini", fault="error", count=0))[0] == 400
            await arm(http, ctx, target="two/gpt-4o-mini", fault="429", count=3)
            async with http.get(f"{ctx.base_url}/switchboard/simulate", headers=ctx.headers()) as resp:
                assert (await resp.json())["pending"] == {"two/gpt-4o-mini": ["429"] * 3}
            async with http.delete(f"{ctx.base_url}/switchboard/simulate", headers=ctx.headers()) as resp:
                assert (await resp.json())["pending"] == {}
            async with http.get(f"{ctx.base_url}/switchboard/simulate") as resp:
                assert resp.status == 401  # like every management endpoint, it needs the access key
