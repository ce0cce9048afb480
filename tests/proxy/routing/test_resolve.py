"""Model resolution: exact route, provider/model, glob routes, default route."""

from __future__ import annotations

from proxy.config.schema import GatewayConfig
from proxy.routing.resolve import Resolver

CONFIG = GatewayConfig.model_validate(
    {
        "providers": [{"id": "demo", "preset": "demo"}, {"id": "off", "preset": "demo", "enabled": False}],
        "routes": [
            {"name": "fast", "targets": [{"provider": "demo", "model": "echo"}]},
            {"name": "claude-*haiku*", "targets": [{"provider": "demo", "model": "echo"}], "strategy": "round-robin"},
            {"name": "claude-*", "targets": [{"provider": "demo", "model": "big"}]},
            {"name": "dark", "targets": [{"provider": "demo", "model": "echo"}], "enabled": False},
            {"name": "catch-all", "targets": [{"provider": "demo", "model": "fallback"}]},
        ],
        "default_route": "catch-all",
    }
)


def test_order_of_rules():
    r = Resolver(CONFIG)
    assert r.resolve("fast").route == "fast"
    assert r.resolve("demo/some/model").attempts[0].model == "some/model"
    haiku = r.resolve("claude-3-5-haiku-20241022")
    assert haiku.route == "claude-*haiku*" and haiku.policy.strategy == "round-robin"
    assert r.resolve("claude-sonnet-4").attempts[0].model == "big"
    assert r.resolve("gpt-9000").route == "catch-all"
    assert r.resolve("dark").route == "catch-all", "a disabled route is not found (the default takes it)"
    assert r.resolve("off/echo").route == "catch-all", "a disabled provider is not reachable directly"


def test_without_default_unknown_is_none():
    cfg = CONFIG.model_copy(update={"default_route": None})
    assert Resolver(cfg).resolve("gpt-9000") is None
