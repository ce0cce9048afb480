"""Desktop notifications: what deserves one, and how they are held back so they never spam."""

from __future__ import annotations

import json
import threading

from desktop.notify import WARNING, Notifier
from proxy.domain.events import BudgetThreshold, ConfigRejected, KeyFailing, RequestFinished
from proxy.domain.records import RequestRecord
from proxy.engine.gateway import GatewayOptions
from tests.desktop.conftest import post_chat


def finished(attempts: int, status: str = "ok") -> RequestFinished:
    record = RequestRecord(
        "r", 0.0, "chat", status, 200, route="chain", provider="two", upstream_model="m", attempts=attempts
    )
    return RequestFinished(record)


def test_fallback_notices_are_rate_limited_and_counted() -> None:
    now = [0.0]
    notifier = Notifier(quiet_seconds=300, clock=lambda: now[0])
    assert notifier.on_event(finished(1)) is None  # no fallback
    first = notifier.on_event(finished(2))
    assert first is not None and "two/m" in first.message
    for _ in range(5):
        now[0] += 10
        assert notifier.on_event(finished(3)) is None  # held back
    now[0] += 300
    later = notifier.on_event(finished(2))
    assert later is not None and "6 fallbacks" in later.message
    assert notifier.on_event(finished(2, status="upstream_error")) is None


def test_key_budget_and_config_notices() -> None:
    notifier = Notifier(quiet_seconds=300, clock=lambda: 0.0)
    key = notifier.on_event(KeyFailing("openai", "401"))
    assert key is not None and key.level == WARNING and "switchboard keys test openai" in key.message
    assert notifier.on_event(KeyFailing("openai", "401")) is None  # once per provider per quiet period
    assert notifier.on_event(KeyFailing("groq", "403")) is not None
    budget = notifier.on_event(BudgetThreshold("route:fast", "day", 0.8, 4.0))
    assert budget is not None and "80%" in budget.title and budget.level != WARNING
    assert notifier.on_event(BudgetThreshold("route:fast", "day", 1.0, 5.0)).level == WARNING  # type: ignore[union-attr]
    rejected = notifier.on_event(ConfigRejected("config.json", ("routes[0].name: required", "x")))
    assert rejected is not None and "(+1 more)" in rejected.message


def test_a_real_fallback_shows_a_notification(qtbot, tmp_path, monkeypatch) -> None:
    from desktop.app import TrayApp

    config = {
        "providers": [
            {"id": "gone", "preset": "custom", "base_url": "http://127.0.0.1:9/v1"},
            {"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}},
        ],
        "routes": [
            {
                "name": "chain",
                "targets": [{"provider": "gone", "model": "x"}, {"provider": "demo", "model": "echo"}],
                "retries": {"max_retries": 0},
            }
        ],
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", "sb-local-desktop-tests-0123456789abcdef")
    options = GatewayOptions(home=tmp_path / "home", config_path=path, port=0, discover_local=False)
    tray_app = TrayApp(options, has_tray=True)
    qtbot.addWidget(tray_app.window)
    qtbot.addWidget(tray_app.main)
    with qtbot.waitSignal(tray_app.bridge.started, timeout=10000) as started:
        tray_app.start()
    done = threading.Event()
    threading.Thread(target=lambda: (post_chat(started.args[0], model="chain"), done.set()), daemon=True).start()
    qtbot.waitUntil(lambda: tray_app.last_notice is not None, timeout=10000)
    assert tray_app.last_notice.title == "Switchboard used a fallback"
    assert "demo/echo" in tray_app.last_notice.message
    assert done.wait(10)
    with qtbot.waitSignal(tray_app.finished, timeout=15000):
        tray_app.quit()
