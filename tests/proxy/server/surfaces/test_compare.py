"""Fan-out compare: one request, several models, answers side by side, each logged."""

from __future__ import annotations

import aiohttp

from tests.helpers import gateway_context

CONFIG = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
    "routes": [
        {"name": "a", "targets": [{"provider": "demo", "model": "echo"}]},
        {"name": "b", "targets": [{"provider": "demo", "model": "echo"}]},
    ],
}


async def test_compare_side_by_side(tmp_path):
    async with gateway_context(tmp_path, CONFIG) as ctx:
        body = {"models": ["a", "b", "nope"], "messages": [{"role": "user", "content": "compare me"}]}
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{ctx.base_url}/switchboard/compare", json=body, headers=ctx.headers()) as resp:
                assert resp.status == 200
                data = await resp.json()
            bad = {"models": ["a"], "messages": body["messages"]}
            async with s.post(f"{ctx.base_url}/switchboard/compare", json=bad, headers=ctx.headers()) as resp:
                assert resp.status == 400 and (await resp.json())["error"]["param"] == "models"
        a, b, nope = data["results"]
        assert [r["model"] for r in data["results"]] == ["a", "b", "nope"]
        assert a["status"] == 200 and "compare me" in a["content"] and a["cost_usd"] == 0.0 and a["usage"]
        assert b["route"] == "b" and b["latency_ms"] >= 0
        assert nope["status"] == 404 and nope["error"]["code"] == "model_not_found"
        rows = ctx.rows()
        inner = sorted((r.requested_model, r.status) for r in rows if r.surface == "compare")
        assert inner == [("a", "ok"), ("b", "ok"), ("nope", "rejected")], "each model is its own log row"
        batches = [(r.requested_model, r.http_status) for r in rows if r.surface == "compare-batch"]
        assert batches == [("a,b,nope", 200), (None, 400)]
