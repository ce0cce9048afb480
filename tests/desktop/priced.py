"""A gateway with a priced route, for the dashboard and playground tests.

``priced`` starts the fake OpenAI upstream (a subprocess speaking OpenAI's JSON and SSE) and a
gateway whose config has the demo provider (streaming, free) and an ``openai`` provider pointing
at the fake, so ``gpt-4o-mini`` requests are priced by genai-prices like the real model. The
``gpt-4o-mini`` route has daily and monthly budgets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from desktop.services import GatewayBridge
from proxy.engine.gateway import GatewayOptions
from tests.desktop.upstreams import fake_in_subprocess

UPSTREAM_KEY = "sk-dash-play-fake-upstream-0123456789"
DAILY_USD = 0.0002
MONTHLY_USD = 0.001


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_in_subprocess(UPSTREAM_KEY) as url:
        yield url


def priced_config(upstream: str, pace_ms: float = 10.0) -> dict[str, object]:
    return {
        "providers": [
            {"id": "demo", "preset": "demo", "demo": {"pace_ms": pace_ms}},
            {"id": "openai", "preset": "openai", "base_url": upstream, "key": {"env": "DASH_PLAY_UPSTREAM_KEY"}},
        ],
        "routes": [
            {"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]},
            {
                "name": "gpt-4o-mini",
                "targets": [{"provider": "openai", "model": "gpt-4o-mini"}],
                "limits": {"daily_usd": DAILY_USD, "monthly_usd": MONTHLY_USD},
            },
        ],
    }


@pytest.fixture
def priced(qtbot, make_bridge, options, upstream, tmp_path, monkeypatch) -> GatewayBridge:
    """A running bridge on the priced config."""
    monkeypatch.setenv("DASH_PLAY_UPSTREAM_KEY", UPSTREAM_KEY)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(priced_config(upstream)))
    bridge = make_bridge(GatewayOptions(home=options.home, config_path=config, port=0, discover_local=False))
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    return bridge
