"""GatewayBridge and the tray against a real gateway (offscreen Qt, real widgets)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request

import pytest
from PySide6.QtGui import QGuiApplication

from desktop.bridge import GatewayBridge
from desktop.single_instance import SingleInstance
from desktop.tray import TrayIcon, describe
from proxy.gateway import GatewayOptions
from tests.helpers import ACCESS_KEY

DEMO = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}


@pytest.fixture
def bridge(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", ACCESS_KEY)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(DEMO))
    b = GatewayBridge(GatewayOptions(home=tmp_path, config_path=config, port=0, discover_local=False))
    yield b
    b.stop(10)


def post_chat(url: str) -> None:
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps({"model": "demo", "messages": [{"role": "user", "content": "tray"}]}).encode(),
        headers={"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).read()


def test_bridge_starts_and_reports_requests(qtbot, bridge):
    with qtbot.waitSignal(bridge.started, timeout=10000) as started:
        bridge.start()
    url = started.args[0]
    assert url.startswith("http://127.0.0.1:") and bridge.base_url == url
    with qtbot.waitSignal(bridge.request_finished, timeout=10000) as finished:
        threading.Thread(target=post_chat, args=(url,), daemon=True).start()  # never block the GUI thread
    record = finished.args[0]
    assert (record.requested_model, record.status) == ("demo", "ok")
    with qtbot.waitSignal(bridge.request_logged, timeout=10000):
        pass
    qtbot.waitUntil(lambda: bridge.recent(5) != [], timeout=5000)
    assert bridge.route_names() == [("demo", True)]
    with qtbot.waitSignal(bridge.stopped, timeout=15000):
        bridge.stop_async()


def test_start_failure_names_the_port(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", ACCESS_KEY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        config = tmp_path / "config.json"
        config.write_text(json.dumps(DEMO))
        b = GatewayBridge(GatewayOptions(home=tmp_path, config_path=config, port=port, discover_local=False))
        with qtbot.waitSignal(b.start_failed, timeout=10000) as failed:
            b.start()
        assert f"Port {port} on 127.0.0.1 is already in use" in failed.args[0]
        tray = TrayIcon(b)
        tray.on_start_failed(failed.args[0])
        tray.rebuild_menu()
        texts = [a.text() for a in tray.menu.actions()]
        assert any(t.startswith("Not running: Port") for t in texts)
        with qtbot.waitSignal(b.stopped, timeout=5000):
            b.stop_async()


def test_tray_menu_and_copy_endpoint(qtbot, bridge):
    tray = TrayIcon(bridge)
    assert [a.text() for a in tray.menu.actions() if a.text()][0] == "Starting…"
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    tray.rebuild_menu()
    texts = [a.text() for a in tray.menu.actions() if a.text()]
    assert texts[0] == f"Copy endpoint  {bridge.base_url}/v1"
    assert texts[1:] == ["Copy access key", "Models", "Recent requests", "Quit Switchboard"]
    tray.menu.actions()[0].trigger()
    assert QGuiApplication.clipboard().text() == f"{bridge.base_url}/v1"
    assert tray.toolTip().startswith(f"Switchboard — {bridge.base_url}")
    models = next(a.menu() for a in tray.menu.actions() if a.text() == "Models")
    assert [(a.text(), a.isChecked()) for a in models.actions()] == [("demo", True)]
    with qtbot.waitSignal(tray.quit_requested, timeout=1000):
        tray.menu.actions()[-1].trigger()


def test_describe_is_plain_text():
    from proxy.models import RequestRecord

    record = RequestRecord(
        id="x",
        started_at=0,
        surface="chat",
        status="ok",
        http_status=200,
        requested_model="<b>bold</b>",
        latency_ms=12.3,
    )
    assert "<b>bold</b>" in describe(record) and "12 ms" in describe(record)


def test_single_instance(qtbot, tmp_path):
    first = SingleInstance(tmp_path)
    assert first.acquire()
    second = SingleInstance(tmp_path)
    with qtbot.waitSignal(first.activated, timeout=5000):
        assert not second.acquire()
    first.release()
    third = SingleInstance(tmp_path)
    assert third.acquire()
    third.release()
