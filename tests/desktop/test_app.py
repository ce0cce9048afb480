"""TrayApp: no-tray fallback window, failed start, quitting in stages, signals."""

from __future__ import annotations

import signal
import socket

from desktop.app import TrayApp, quit_on_signals
from proxy.engine.gateway import GatewayOptions


def make_app(qtbot, options: GatewayOptions, *, has_tray: bool) -> TrayApp:
    tray_app = TrayApp(options, has_tray=has_tray)
    qtbot.addWidget(tray_app.window)
    return tray_app


def quit_and_wait(qtbot, tray_app: TrayApp) -> int:
    with qtbot.waitSignal(tray_app.finished, timeout=15000) as finished:
        tray_app.quit()
    return finished.args[0]


def test_without_a_tray_the_window_says_why(qtbot, options):
    tray_app = make_app(qtbot, options, has_tray=False)
    with qtbot.waitSignal(tray_app.bridge.started, timeout=10000) as started:
        tray_app.start()
    window = tray_app.window
    assert window.isVisible() and window.note.isVisible()
    assert "no system tray" in window.note.text()
    assert window.endpoint.text() == f"{started.args[0]}/v1" and window.copy_button.isEnabled()
    assert quit_and_wait(qtbot, tray_app) == 0
    assert not window.isVisible() and not tray_app.tray.isVisible()


def test_with_a_tray_only_the_icon_shows(qtbot, options):
    tray_app = make_app(qtbot, options, has_tray=True)
    with qtbot.waitSignal(tray_app.bridge.started, timeout=10000):
        tray_app.start()
    assert tray_app.tray.isVisible() and not tray_app.window.isVisible()
    tray_app.show_window()  # what a second launch asks for
    assert tray_app.window.isVisible() and not tray_app.window.note.isVisible()
    tray_app.window.close()  # with a tray, closing only hides
    assert not tray_app.is_quitting
    assert quit_and_wait(qtbot, tray_app) == 0


def test_failed_start_shows_the_error_and_quits_with_1(qtbot, options):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        tray_app = make_app(qtbot, GatewayOptions(home=options.home, port=port, discover_local=False), has_tray=True)
        with qtbot.waitSignal(tray_app.bridge.start_failed, timeout=10000):
            tray_app.start()
    window = tray_app.window
    assert window.isVisible() and window.details.isVisible() and str(port) in window.details.text()
    assert not window.endpoint_row.isVisible()
    assert tray_app.tray.state == "error"
    assert quit_and_wait(qtbot, tray_app) == 1


def test_quit_goes_through_stopping(qtbot, options):
    tray_app = make_app(qtbot, options, has_tray=True)
    with qtbot.waitSignal(tray_app.bridge.started, timeout=10000):
        tray_app.start()
    with qtbot.waitSignal(tray_app.finished, timeout=15000):
        tray_app.quit()
        assert tray_app.tray.state == "stopping"  # shown before the gateway has stopped
        assert tray_app.tray.toolTip() == "Switchboard — stopping…"
        tray_app.quit()  # a second Quit while stopping is ignored


def test_closing_the_window_without_a_tray_quits(qtbot, options, monkeypatch):
    monkeypatch.setattr("desktop.windows.status.QSystemTrayIcon.isSystemTrayAvailable", lambda: False)
    tray_app = make_app(qtbot, options, has_tray=False)
    with qtbot.waitSignal(tray_app.bridge.started, timeout=10000):
        tray_app.start()
    with qtbot.waitSignal(tray_app.finished, timeout=15000):
        tray_app.window.close()


def test_sigterm_quits_through_the_event_loop(qtbot):
    calls: list[str] = []
    restore = quit_on_signals(lambda: calls.append("quit"))
    try:
        signal.raise_signal(signal.SIGTERM)
        qtbot.waitUntil(lambda: calls == ["quit"], timeout=2000)
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
