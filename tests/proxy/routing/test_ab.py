"""A/B splits: sticky per client, spread by weight, recorded per request, promoted in one command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import aiohttp

from proxy.config.schema import GatewayConfig
from proxy.routing.resolve import Resolver
from tests.helpers import gateway_context

SPLIT = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
    "routes": [
        {
            "name": "chat",
            "sticky": "user",
            "variants": [
                {"name": "a", "weight": 3, "targets": [{"provider": "demo", "model": "echo"}]},
                {"name": "b", "weight": 1, "targets": [{"provider": "demo", "model": "echo"}]},
            ],
        }
    ],
}


def test_assignment_is_sticky_and_follows_weights():
    resolution = Resolver(GatewayConfig.model_validate(SPLIT)).resolve("chat")
    picks = Counter(resolution.for_client(f"user-{i}").variant for i in range(8000))
    assert abs(picks["a"] / 8000 - 0.75) < 0.03
    assert all(resolution.for_client("same").variant == resolution.for_client("same").variant for _ in range(5))


def test_config_rules():
    import pytest

    from proxy.config.schema import parse_config
    from proxy.domain.errors import ConfigError

    bad = {**SPLIT, "routes": [{**SPLIT["routes"][0], "targets": [{"provider": "demo", "model": "echo"}]}]}
    with pytest.raises(ConfigError, match="either `targets` or `variants`"):
        parse_config(json.dumps(bad))


async def test_split_through_the_gateway_and_promote(tmp_path):
    async with gateway_context(tmp_path, SPLIT, config_file=True) as ctx:
        seen = {}
        async with aiohttp.ClientSession() as s:
            for user in ("alice", "bob", "carol", "dave", "erin", "frank", "alice", "bob"):
                body = {"model": "chat", "user": user, "messages": [{"role": "user", "content": "hi"}]}
                async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                    variant = resp.headers["x-switchboard-variant"]
                    assert seen.setdefault(user, variant) == variant, "a client stays on its variant"
        rows = ctx.rows()
        assert [r.variant for r in rows] == [
            seen[u] for u in ("alice", "bob", "carol", "dave", "erin", "frank", "alice", "bob")
        ]
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{ctx.base_url}/metrics", headers=ctx.headers()) as resp:
                metrics = await resp.text()
        for name in ("a", "b"):
            count = sum(r.variant == name for r in rows)
            labels = f'model="echo",provider="demo",route="chat",status="ok",surface="chat",variant="{name}"'
            line = f"switchboard_requests_total{{{labels}}}"
            assert f"{line} {count}.0" in metrics if count else line not in metrics
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "proxy.cli",
                "ab",
                "promote",
                "chat",
                "b",
                "--home",
                str(tmp_path),
                "--config",
                str(tmp_path / "config.json"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0 and "promote variant b of route chat" in result.stdout
        promoted = json.loads((tmp_path / "config.json").read_text())["routes"][0]
        assert "variants" not in promoted and promoted["targets"] == [{"provider": "demo", "model": "echo"}]
