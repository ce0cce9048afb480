"""The Grafana dashboard in packaging/team/ graphs only metrics Switchboard really exports: each
metric its queries name is declared in ``proxy.engine.metrics.EXPORTED`` and appears in a real
``/metrics`` scrape of a gateway that has served requests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp

from proxy.engine.metrics import EXPORTED
from tests.helpers import DEMO_CONFIG, gateway_context

DASHBOARD = Path(__file__).resolve().parents[2] / "packaging" / "team" / "grafana-dashboard.json"
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def queried_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    assert len(exprs) >= 10
    return {name for e in exprs for name in re.findall(r"\bswitchboard_[a-z_]+\b", e)}


def family(name: str) -> str:
    for part in _HISTOGRAM_PARTS:
        if name.endswith(part) and name.removesuffix(part) in EXPORTED:
            return name.removesuffix(part)
    return name


def test_every_query_names_a_declared_metric():
    names = queried_metrics()
    unknown = sorted(n for n in names if family(n) not in EXPORTED)
    assert not unknown, f"the dashboard queries metrics Switchboard does not export: {unknown}"
    assert family("switchboard_request_duration_seconds_bucket") == "switchboard_request_duration_seconds"
    assert family("switchboard_made_up_total") not in EXPORTED  # the check can fail


async def test_every_queried_metric_is_in_a_real_scrape(tmp_path):
    routes = [{**DEMO_CONFIG["routes"][0], "cache": {"enabled": True}, "limits": {"daily_usd": 5.0}}]
    config = {**DEMO_CONFIG, "routes": routes}
    async with gateway_context(tmp_path, config) as ctx, aiohttp.ClientSession() as s:
        body = {"model": "demo", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
            await resp.read()
        ctx.rows()
        async with s.get(f"{ctx.base_url}/metrics", headers=ctx.headers()) as resp:
            text = await resp.text()
    present = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    optional = {"switchboard_otel_spans_dropped_total", "switchboard_cost_usd_total"}  # export off; the demo is free
    missing = sorted(n for n in queried_metrics() - optional if n not in present)
    assert not missing, f"queried but not in /metrics: {missing}"
    declared = {family(n) for n in present}
    assert declared <= set(EXPORTED), f"exported but not declared in EXPORTED: {sorted(declared - set(EXPORTED))}"
