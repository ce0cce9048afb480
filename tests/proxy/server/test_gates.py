"""The Host gate on the default ports: on 80 (and 443) clients send ``Host: 127.0.0.1`` without the
port, and that is this server; on any other port the port is required; foreign names are refused
on every port."""

from __future__ import annotations

import aiohttp
import pytest

from proxy.config.schema import GatewayConfig
from proxy.server.app import HttpServer
from proxy.server.gates import build_gates
from tests.helpers import ACCESS_KEY, DEMO_CONFIG, gateway_context

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}


def config(port: int, allowed_hosts: list[str] | None = None) -> GatewayConfig:
    data = {**DEMO_CONFIG, "server": {**DEMO_CONFIG.get("server", {}), "port": port}}
    if allowed_hosts is not None:
        data["server"]["allowed_hosts"] = allowed_hosts
    return GatewayConfig.model_validate(data)


@pytest.mark.parametrize("port", [80, 443])
def test_the_default_port_may_be_left_out(port):
    hosts = build_gates(config(port, ["switchboard.lan"]), port, None).allowed_hosts
    for name in ("127.0.0.1", "localhost", "[::1]", "switchboard.lan"):
        assert name in hosts and f"{name}:{port}" in hosts
    for foreign in ("evil.example", "evil.example:80", "127.0.0.1.nip.io", "localhost.", "127.1", ""):
        assert foreign not in hosts
    assert "127.0.0.1:4141" not in hosts


def test_another_port_must_be_named():
    hosts = build_gates(config(4141), 4141, None).allowed_hosts
    assert "127.0.0.1:4141" in hosts
    assert "127.0.0.1" not in hosts and "localhost" not in hosts and "127.0.0.1:80" not in hosts


def test_the_gates_follow_the_bound_port_not_the_configured_one():
    """Configured 80 but bound elsewhere (an override or port 0): the bare name is not this server."""
    hosts = build_gates(config(80), 50123, None).allowed_hosts
    assert "127.0.0.1:50123" in hosts and "127.0.0.1" not in hosts
    assert "127.0.0.1" in build_gates(config(8080), 80, None).allowed_hosts  # bound on 80 by an override


async def post(url: str, host: str) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json", "Host": host}
    async with aiohttp.ClientSession() as s, s.post(f"{url}/v1/chat/completions", json=CHAT, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_a_request_without_the_default_port_is_answered(tmp_path):
    """A real request through the middleware. The gateway is configured for port 80 and listens on
    a free port (the test cannot own port 80); its gates are then set as the server sets them once
    bound on 80, and a client's ``Host: 127.0.0.1`` is answered while a foreign name is still refused."""
    cfg = config(80)
    async with gateway_context(tmp_path, cfg) as ctx:
        server = ctx.gateway.listener
        assert isinstance(server, HttpServer)
        status, _ = await post(ctx.base_url, "127.0.0.1")
        assert status == 403  # bound on a free port: the bare name is not this server
        server.gates.current = build_gates(cfg, 80, ctx.gateway.access_keys_for(cfg))
        status, body = await post(ctx.base_url, "127.0.0.1")
        assert status == 200, body
        status, _ = await post(ctx.base_url, "localhost")
        assert status == 200
        for foreign in ("evil.example", "evil.example:80", "127.0.0.1.nip.io"):
            status, body = await post(ctx.base_url, foreign)
            assert status == 403 and body["error"]["code"] == "forbidden_host", foreign
