"""Gateway lifecycle: draining on stop, config swaps that leave requests in flight alone."""

from __future__ import annotations

import asyncio

import aiohttp

from proxy.config.schema import GatewayConfig
from tests.helpers import gateway_context

SLOW_DEMO = {
    "server": {"drain_timeout": 5},
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 40}}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}
BODY = {"model": "demo", "stream": True, "messages": [{"role": "user", "content": "one two three four five six"}]}


async def stream_text(ctx, started: asyncio.Event | None = None) -> bytes:
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=BODY, headers=ctx.headers()) as resp:
            assert resp.status == 200
            out = b""
            async for chunk in resp.content.iter_any():
                out += chunk
                if started is not None:
                    started.set()
            return out


async def test_stop_drains_in_flight_streams(tmp_path):
    async with gateway_context(tmp_path, SLOW_DEMO) as ctx:
        started = asyncio.Event()
        task = asyncio.create_task(stream_text(ctx, started))
        await started.wait()
        await ctx.gateway.stop()
        body = await task
        assert body.endswith(b"data: [DONE]\n\n"), body[-200:]
        assert ctx.gateway.in_flight == 0


async def test_apply_config_keeps_in_flight_requests_on_their_snapshot(tmp_path):
    async with gateway_context(tmp_path, SLOW_DEMO) as ctx:
        started = asyncio.Event()
        task = asyncio.create_task(stream_text(ctx, started))
        await started.wait()
        old_adapter = ctx.gateway.snapshot.adapters["demo"]
        disabled = {**SLOW_DEMO, "routes": [{**SLOW_DEMO["routes"][0], "enabled": False}]}
        await ctx.gateway.apply_config(GatewayConfig.model_validate(disabled))
        assert ctx.gateway.snapshot.adapters["demo"] is old_adapter, "unchanged providers keep their adapter"
        assert (await task).endswith(b"data: [DONE]\n\n")
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{ctx.base_url}/v1/chat/completions", json=BODY, headers=ctx.headers()) as resp:
                assert resp.status == 404, "new requests see the new config"


async def test_zero_config_discovers_local_servers(tmp_path, monkeypatch):
    import dataclasses

    from proxy.domain.presets import PRESETS
    from proxy.engine.gateway import GatewayOptions
    from proxy.providers import discovery
    from proxy.server.app import new_gateway
    from tests.fakes.openai_upstream import FakeOpenAIUpstream

    async with FakeOpenAIUpstream(api_key=None, models=["llama3.2"]) as fake:
        monkeypatch.setitem(PRESETS, "ollama", dataclasses.replace(PRESETS["ollama"], base_url=fake.base_url))
        monkeypatch.setitem(
            PRESETS, "lmstudio", dataclasses.replace(PRESETS["lmstudio"], base_url="http://127.0.0.1:9/v1")
        )
        assert await discovery.discover_local_servers() == ("ollama",)
        monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", "sb-local-test-access-key-0123456789abcdef")
        gateway = new_gateway(GatewayOptions(home=tmp_path, port=0))
        await gateway.start()
        try:
            assert [p.id for p in gateway.snapshot.config.providers] == ["demo", "ollama"]
            async with aiohttp.ClientSession() as s:
                headers = {"Authorization": "Bearer sb-local-test-access-key-0123456789abcdef"}
                async with s.get(f"{gateway.base_url}/v1/models", headers=headers) as resp:
                    ids = [m["id"] for m in (await resp.json())["data"]]
            assert "ollama/llama3.2" in ids and "demo" in ids
        finally:
            await gateway.stop()


async def test_startup_refuses_to_serve_when_the_host_guard_lets_a_foreign_host_in(tmp_path, monkeypatch):
    import pytest

    from proxy.domain.errors import GatewayStartError
    from proxy.engine.gateway import GatewayOptions
    from proxy.server.app import HttpServer, new_gateway
    from proxy.server.gates import Gates

    original = HttpServer._build_gates

    def broken(self, config):  # simulate a guard that lets everything through
        gates = original(self, config)
        return Gates(
            frozenset({*gates.allowed_hosts, f"rebind-probe.invalid:{self.port}"}),
            gates.allowed_origins,
            gates.access_keys,
            gates.max_body_bytes,
        )

    monkeypatch.setattr(HttpServer, "_build_gates", broken)
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", "sb-local-test-access-key-0123456789abcdef")
    gateway = new_gateway(
        GatewayOptions(home=tmp_path, port=0, discover_local=False), config=GatewayConfig.model_validate(SLOW_DEMO)
    )
    with pytest.raises(GatewayStartError, match="DNS-rebinding guard is not working"):
        await gateway.start()
    await gateway.stop()
