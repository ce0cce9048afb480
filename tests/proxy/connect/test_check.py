"""Check sends each tool's own request shape through a real gateway (demo provider) and says ✓, or
precisely what is wrong: no route for the tool's model names, a refused key, nothing listening."""

from __future__ import annotations

import asyncio

import pytest

from proxy.config.schema import GatewayConfig
from proxy.connect import CLAUDE_CODE_MODELS, Connection, check, claude_route_offer, setups, unanswered
from proxy.support.net import free_port
from tests.helpers import ACCESS_KEY, DEMO_CONFIG, gateway_context


def tools(conn):
    return {t.id: t for t in setups(conn, env={})}


async def test_every_tool_shape_is_answered(tmp_path):
    config = {
        **DEMO_CONFIG,
        "routes": [*DEMO_CONFIG["routes"], {"name": "claude-*", "targets": [{"provider": "demo", "model": "echo"}]}],
    }
    async with gateway_context(tmp_path, config) as gw:
        conn = Connection(gw.base_url, ACCESS_KEY, ("demo",))
        by_id = tools(conn)
        for tool_id, shape in (("claude-code", "Messages"), ("codex", "Responses"), ("aider", "Chat Completions")):
            result = await asyncio.to_thread(check, by_id[tool_id], conn)
            assert result.ok and result.message.startswith(f"✓ {by_id[tool_id].name} works: {shape}"), result
        for _ in range(100):  # the log writer writes soon after the answer
            rows = gw.rows()
            if len(rows) >= 4:
                break
            await asyncio.sleep(0.05)
        assert {r.surface for r in rows} >= {"messages", "responses", "chat"}
        assert [r.requested_model for r in rows if r.surface == "messages"] == list(CLAUDE_CODE_MODELS[::2])


async def test_what_is_wrong_is_said(tmp_path):
    async with gateway_context(tmp_path) as gw:
        conn = Connection(gw.base_url, ACCESS_KEY, ("demo",))
        missing = await asyncio.to_thread(check, tools(conn)["claude-code"], conn)
        assert not missing.ok and "404" in missing.message and "Apply offers one" in missing.message
        wrong = Connection(gw.base_url, "sb-local-not-the-key-0000000000000000", ("demo",))
        refused = await asyncio.to_thread(check, tools(wrong)["aider"], wrong)
        assert not refused.ok and "401" in refused.message and "Settings → New key" in refused.message
        assert "sb-local-not-the-key" not in refused.message
    nobody = Connection(f"http://127.0.0.1:{free_port()}", ACCESS_KEY, ("demo",))
    gone = check(tools(nobody)["aider"], nobody)
    assert not gone.ok and "is Switchboard running?" in gone.message
    nokey = Connection("http://127.0.0.1:1", "", ())
    assert "Settings → New key" in check(tools(nokey)["aider"], nokey).message  # says so, sends nothing


def test_the_claude_route_is_offered_only_when_needed():
    config = GatewayConfig.model_validate(DEMO_CONFIG)
    assert unanswered(config) == CLAUDE_CODE_MODELS
    offer = claude_route_offer(config)
    assert offer is not None and offer.target == "demo" and offer.route["name"] == "claude-*"
    data = config.model_dump(mode="json")
    offer.mutate(data)
    assert unanswered(GatewayConfig.model_validate(data)) == ()
    with pytest.raises(ValueError, match="already"):
        offer.mutate(data)
    assert claude_route_offer(GatewayConfig.model_validate({**DEMO_CONFIG, "default_route": "demo"})) is None
    haiku_only = {
        **DEMO_CONFIG,
        "routes": [
            *DEMO_CONFIG["routes"],
            {"name": "claude-*haiku*", "targets": [{"provider": "demo", "model": "echo"}]},
        ],
    }
    assert unanswered(GatewayConfig.model_validate(haiku_only)) == (
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-1-20250805",
    )
