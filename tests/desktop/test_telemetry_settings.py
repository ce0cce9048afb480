"""Settings > Telemetry saves the config's telemetry section as a version (an empty endpoint is
"off"), and shows a refused value without changing anything."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.autostart import XdgAutostart
from desktop.windows.settings import SettingsPage
from proxy.engine.gateway import GatewayOptions
from proxy.support.net import free_port


def test_telemetry_fields_are_saved_as_a_config_version(qtbot, make_bridge, tmp_path: Path, monkeypatch) -> None:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"server": {"port": free_port()}}))
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", "sb-local-desktop-tests-0123456789abcdef")
    bridge = make_bridge(GatewayOptions(home=tmp_path / "home", config_path=config_file, discover_local=False))
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    page = SettingsPage(bridge, XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(page)
    box = page.telemetry
    assert box.endpoint.text() == "" and box.traces.isChecked() and not box.content.isChecked()

    box.endpoint.setText("ftp://nowhere")
    with qtbot.waitSignal(bridge.config.answered, timeout=10000) as answer:
        box.save_button.click()
    assert answer.args[:2] == ["telemetry", False] and "nothing was changed" in box.saved.text()
    assert "telemetry" not in json.loads(config_file.read_text())

    box.endpoint.setText("http://127.0.0.1:4318")
    box.content.setChecked(True)
    with qtbot.waitSignal(bridge.config.answered, timeout=10000) as answer:
        box.save_button.click()
    assert answer.args[:2] == ["telemetry", True]
    saved = json.loads(config_file.read_text())["telemetry"]
    assert saved["otlp_endpoint"] == "http://127.0.0.1:4318" and saved["capture_content"] is True
    assert bridge.api.history()[-1].summary == "telemetry settings changed in the app"

    box.endpoint.setText("")  # empty is off
    with qtbot.waitSignal(bridge.config.answered, timeout=10000) as answer:
        box.save_button.click()
    assert answer.args[:2] == ["telemetry", True]
    assert json.loads(config_file.read_text())["telemetry"].get("otlp_endpoint") is None
