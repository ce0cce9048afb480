"""Settings are transactional, and a gateway that cannot start is never a dead end.

A port change that cannot take effect (another program holds the port) leaves the config file, its
history, the running gateway and the form as they were. At launch, a config whose port is taken
offers a free port, the previous version, or Settings; each starts the gateway again.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.autostart import XdgAutostart
from desktop.windows.settings import SettingsPage
from desktop.windows.status import StatusWindow
from proxy.engine.gateway import GatewayOptions
from proxy.support.net import free_port


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "config.json"


def file_options(tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> GatewayOptions:
    """A gateway whose port comes from its config file (no override), as in the real app."""
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", "sb-local-desktop-tests-0123456789abcdef")
    return GatewayOptions(home=tmp_path / "home", config_path=config_file, discover_local=False)


def answers_health(base_url: str) -> bool:
    with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
        return response.status == 200


def history(bridge) -> list[str]:
    return [v.summary for v in bridge.api.history()]


def test_a_port_in_use_leaves_config_gateway_and_form_untouched(
    qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch
) -> None:
    port = free_port()
    config_file.write_text(json.dumps({"server": {"port": port}}))
    bridge = make_bridge(file_options(tmp_path, config_file, monkeypatch))
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    page = SettingsPage(bridge, XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(page)
    before_file, before_history = config_file.read_text(), history(bridge)

    page.port.setValue(busy_port)
    with qtbot.waitSignal(bridge.config.answered, timeout=10000) as answer:
        page.save_button.click()

    assert answer.args[:2] == ["config", False]
    assert f"Port {busy_port}" in page.saved.text() and "nothing was changed" in page.saved.text()
    assert "--port" not in page.saved.text()  # the command line's advice is not the app's
    assert config_file.read_text() == before_file
    assert history(bridge) == before_history
    assert bridge.base_url == f"http://127.0.0.1:{port}" and answers_health(bridge.base_url)
    assert page.port.value() == port and page.require_auth.isChecked()

    # the form still works: a change that can take effect is saved and applied
    page.retention.setValue(9)
    with qtbot.waitSignal(bridge.config.answered, timeout=10000) as answer:
        page.save_button.click()
    assert answer.args[:2] == ["config", True], answer.args
    assert json.loads(config_file.read_text())["logging"]["retention_days"] == 9


def failed_launch(qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch):
    """A launch whose config names a port in use: versions 1 (free port) then 2 (the busy one)."""
    good = free_port()
    config_file.write_text(json.dumps({"server": {"port": good}}))
    first = make_bridge(file_options(tmp_path, config_file, monkeypatch))
    with qtbot.waitSignal(first.started, timeout=30000):
        first.start()
    first.stop(10, block=True)
    config_file.write_text(json.dumps({"server": {"port": busy_port}}))  # edited by hand, say
    bridge = make_bridge(file_options(tmp_path, config_file, monkeypatch))
    window = StatusWindow(bridge, has_tray=True)
    qtbot.addWidget(window)
    with qtbot.waitSignal(bridge.start_failed, timeout=30000):
        bridge.start()
    return bridge, window, good


def test_a_failed_launch_offers_ways_out_and_a_free_port_starts_it(
    qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch
) -> None:
    bridge, window, _good = failed_launch(qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch)
    assert not window.recovery.isHidden()
    assert window.free_port_button.isEnabled() and window.previous_button.isEnabled()
    assert "version 1" in window.previous_button.toolTip()
    assert f"Port {busy_port}" in window.details.text()

    with qtbot.waitSignal(bridge.started, timeout=10000) as started:
        window.free_port_button.click()

    port = json.loads(config_file.read_text())["server"]["port"]
    assert port > busy_port and started.args[0] == f"http://127.0.0.1:{port}"
    assert answers_health(started.args[0])
    assert history(bridge)[-1] == f"port {busy_port} was in use: port {port}"
    assert window.recovery.isHidden() and not window.endpoint_row.isHidden()
    assert bridge.failed_start is None


def test_a_failed_launch_can_go_back_to_the_previous_version(
    qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch
) -> None:
    bridge, window, good = failed_launch(qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch)
    failed: list[object] = []
    bridge.start_failed.connect(lambda *args: failed.append(args))
    with qtbot.waitSignal(bridge.started, timeout=30000, raising=False) as started:
        window.previous_button.click()
    assert started.signal_triggered, f"the previous version did not start: {failed}"
    assert started.args[0] == f"http://127.0.0.1:{good}"
    assert json.loads(config_file.read_text())["server"]["port"] == good


def test_settings_after_a_failed_launch_show_the_file_and_saving_starts_the_gateway(
    qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch
) -> None:
    bridge, _window, _good = failed_launch(qtbot, make_bridge, tmp_path, config_file, busy_port, monkeypatch)
    page = SettingsPage(bridge, XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(page)
    assert page.port.value() == busy_port  # the file's values, not an empty form
    assert page.require_auth.isChecked() and page.save_button.isEnabled()

    port = free_port()
    page.port.setValue(port)
    with qtbot.waitSignal(bridge.started, timeout=10000) as started:
        page.save_button.click()

    assert started.args[0] == f"http://127.0.0.1:{port}" and answers_health(started.args[0])
    assert json.loads(config_file.read_text())["server"]["port"] == port
    assert page.saved.text() == f"Saved, and the gateway is running again on http://127.0.0.1:{port}."
    assert "Event loop" not in page.saved.text()
