"""TrayIcon: menu contents by state, copying, tooltip, plain-text request lines."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, Qt  # QtGui's Qt has mightBeRichText
from PySide6.QtWidgets import QMenu

from desktop.tray import TrayIcon, describe, details, menu_text
from proxy.domain.records import RequestRecord
from tests.desktop.conftest import ACCESS_KEY, in_worker, post_chat


def texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def action(menu: QMenu, text: str):
    return next(a for a in menu.actions() if a.text() == text)


def submenu(menu: QMenu, text: str) -> QMenu:
    found = action(menu, text).menu()
    assert isinstance(found, QMenu)
    return found


def open_menu(tray: TrayIcon) -> QMenu:
    tray.menu.aboutToShow.emit()  # what Qt does right before the menu appears
    return tray.menu


def test_menu_while_starting(qtbot, bridge):
    tray = TrayIcon(bridge)
    menu = open_menu(tray)
    assert texts(menu) == [
        "Starting…",
        "Models",
        "Recent requests",
        "Open Switchboard",
        "Request log",
        "Connect a tool…",
        "Settings",
        "Quit Switchboard",
    ]
    assert not action(menu, "Starting…").isEnabled()
    assert texts(submenu(menu, "Recent requests")) == ["None yet"]
    assert tray.toolTip() == "Switchboard — starting…"


def test_menu_when_running_and_copy_endpoint(qtbot, started):
    tray = TrayIcon(started)
    tray.on_started(started.base_url)
    menu = open_menu(tray)
    endpoint = f"{started.base_url}/v1"
    status = f"Running on {started.base_url} · 0 requests today"
    assert texts(menu) == [
        status,
        f"{endpoint}\tCopy",
        "Copy access key",
        "Models",
        "Recent requests",
        "Pause gateway",
        "Open Switchboard",
        "Request log",
        "Connect a tool…",
        "Settings",
        "Quit Switchboard",
    ]
    assert not action(menu, status).isEnabled()  # a line to read, first
    action(menu, f"{endpoint}\tCopy").trigger()
    assert QGuiApplication.clipboard().text() == endpoint
    with qtbot.waitSignal(tray.page_requested) as page:
        action(menu, "Request log").trigger()
    assert page.args == ["Request log"]
    models = submenu(menu, "Models")
    assert "demo" in texts(models) and action(models, "demo").isChecked()
    with qtbot.waitSignal(started.config.answered, timeout=10000) as answer:
        action(models, "demo").trigger()  # untick: the route is turned off, as a new config version
    assert answer.args[:2] == ["config", True], answer.args
    assert not next(r for r in started.config.routes() if r.name == "demo").enabled
    default = submenu(submenu(open_menu(tray), "Models"), "Default for unknown names")
    assert [a.text() for a in default.actions()] == ["None (answer 404)", "demo-embed"]
    with qtbot.waitSignal(started.config.answered, timeout=10000):
        action(default, "demo-embed").trigger()
    assert started.config.default_route() == "demo-embed"
    with qtbot.waitSignal(started.config.answered, timeout=10000):
        action(submenu(open_menu(tray), "Models"), "demo").trigger()  # tick: on again
    assert next(r for r in started.config.routes() if r.name == "demo").enabled
    assert tray.toolTip() == f"Switchboard — {started.base_url}\n0 requests today, $0.00 spent"


def test_copy_access_key(qtbot, started):
    tray = TrayIcon(started)
    tray.on_started(started.base_url)
    with qtbot.waitSignal(started.access_keys.client_key_fetched, timeout=5000):
        action(open_menu(tray), "Copy access key").trigger()
    assert QGuiApplication.clipboard().text() == ACCESS_KEY


def test_recent_requests_and_tooltip_follow_traffic(qtbot, started):
    tray = TrayIcon(started)
    tray.on_started(started.base_url)
    with qtbot.waitSignal(started.request_finished, timeout=10000):
        worker = in_worker(post_chat, started.base_url)
    worker.join(10)
    recent = submenu(open_menu(tray), "Recent requests")
    assert len(texts(recent)) == 1
    line = texts(recent)[0]
    assert " · demo · ok · " in line and line.endswith(" ms")
    record = started.activity.recent(1)[0]
    assert (
        action(recent, line)
        .toolTip()
        .startswith(f"Request {record.id}: click to copy its ID\nRoute demo → demo/echo\n")
    )
    action(recent, line).trigger()
    assert QGuiApplication.clipboard().text() == record.id
    assert tray.toolTip().endswith("\n1 request today, $0.00 spent")
    assert texts(open_menu(tray))[0] == f"Running on {started.base_url} · 1 request today"
    priced = record.replace(id="priced-1", cost=0.25)
    started.request_logged.emit(priced)
    assert tray.toolTip().endswith("\n1 request today, $0.25 spent")


def test_menu_follows_the_state_without_being_opened(qtbot, bridge):
    """Trays that show the menu over D-Bus never ask for it to be rebuilt (no aboutToShow)."""
    tray = TrayIcon(bridge)
    assert texts(tray.menu)[0] == "Starting…"
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    tray.on_started(bridge.base_url)
    qtbot.waitUntil(
        lambda: (
            texts(tray.menu)[:2] == [f"Running on {bridge.base_url} · 0 requests today", f"{bridge.base_url}/v1\tCopy"]
        )
    )
    bridge.set_paused(True)
    qtbot.waitUntil(lambda: "Resume gateway" in texts(tray.menu))
    assert texts(tray.menu)[0] == f"Paused on {bridge.base_url} · 0 requests today"


def test_menu_rebuilds_in_place(qtbot, bridge):
    tray = TrayIcon(bridge)
    first = open_menu(tray)
    for _ in range(3):
        assert open_menu(tray) is first  # one QMenu, cleared and refilled
    assert len(texts(first)) == 8


def test_menu_after_a_failed_start(qtbot, bridge):
    tray = TrayIcon(bridge)
    tray.on_start_failed("Port 4141 on 127.0.0.1 is already in use & busy")
    menu = open_menu(tray)
    assert texts(menu)[:2] == ["Not running: Port 4141 on 127.0.0.1 is already in use && busy", "Models"]
    assert not menu.actions()[0].isEnabled() and "already in use & busy" in menu.actions()[0].toolTip()
    assert tray.toolTip().startswith("Switchboard — not running\nPort 4141")


def test_quit_action(qtbot, bridge):
    tray = TrayIcon(bridge)
    with qtbot.waitSignal(tray.quit_requested, timeout=1000):
        action(open_menu(tray), "Quit Switchboard").trigger()
    tray.set_state("stopping")
    assert not action(open_menu(tray), "Quit Switchboard").isEnabled()


def test_request_lines_are_plain_text():
    record = RequestRecord(
        id="x", started_at=0, surface="chat", status="upstream_error", http_status=502,
        requested_model="<b>A&B</b>", latency_ms=1234.5,
    )  # fmt: skip
    line = describe(record)
    assert "<b>A&B</b>" in line and "upstream_error 502" in line and line.endswith("1,234 ms")
    assert "A&&B" in menu_text(line)  # shown as "A&B", not as a mnemonic
    assert not Qt.mightBeRichText(details(record.replace(error="<b>boom</b>")))


def test_menu_text_is_one_short_line():
    assert menu_text("a\nb   c") == "a b c"
    assert menu_text("x" * 100, 10) == "x" * 9 + "…"


def test_pause_and_resume_from_the_menu(qtbot, started):
    import threading

    from tests.desktop.conftest import post_chat

    tray = TrayIcon(started)
    tray.on_started(started.base_url)
    action(open_menu(tray), "Pause gateway").trigger()
    assert started.paused and "Paused" in tray.toolTip()
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            post_chat(started.base_url)
            outcome["status"] = 200
        except Exception as exc:  # urllib raises HTTPError for 503
            outcome["status"] = getattr(exc, "code", exc)

    worker = threading.Thread(target=call)
    worker.start()
    qtbot.waitUntil(lambda: "status" in outcome, timeout=10000)
    assert outcome["status"] == 503
    action(open_menu(tray), "Resume gateway").trigger()
    assert not started.paused and "Paused" not in tray.toolTip()
    outcome.clear()
    worker = threading.Thread(target=call)
    worker.start()
    qtbot.waitUntil(lambda: "status" in outcome, timeout=10000)
    assert outcome["status"] == 200


# -- issue 22: the icon follows the panel, not the app's theme; a key that cannot be shown ---------


def test_icon_ink_follows_the_panel_not_the_app_theme(qtbot, bridge):
    from PySide6.QtGui import QColor, QPalette

    from desktop.tray import panel_is_dark

    assert panel_is_dark(QColor("#f0f0f0"), Qt.ColorScheme.Dark) is False  # a light panel read: dark ink
    assert panel_is_dark(QColor("#303030"), Qt.ColorScheme.Light) is True
    assert panel_is_dark(None, Qt.ColorScheme.Light) is False
    assert panel_is_dark(None, Qt.ColorScheme.Unknown, "linux") is True
    assert panel_is_dark(None, Qt.ColorScheme.Unknown, "win32") is False
    app = QGuiApplication.instance()
    before = app.palette()
    tray = TrayIcon(bridge)
    chosen = tray.on_dark_panel
    dark = QPalette(before)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    light = QPalette(before)
    light.setColor(QPalette.ColorRole.Window, QColor("#fafafa"))
    try:
        for palette in (dark, light):  # the app's theme changes; the panel does not
            app.setPalette(palette)
            tray.set_state("running")
            assert tray.on_dark_panel == chosen
    finally:
        app.setPalette(before)


def test_copy_access_key_after_a_restart_without_a_keychain(qtbot, make_bridge, options, monkeypatch, tmp_path):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)  # no keychain keeps the key
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SWITCHBOARD_ACCESS_KEY")
    first = make_bridge(options)
    with qtbot.waitSignal(first.started, timeout=10000):
        first.start()
    assert first.has_created_access_key
    first.stop(10, block=True)
    again = make_bridge(options)  # the next launch: the key exists, its value is gone
    with qtbot.waitSignal(again.started, timeout=10000):
        again.start()
    tray = TrayIcon(again)
    tray.on_started(again.base_url)
    shown: list[str] = []
    monkeypatch.setattr(tray, "showMessage", lambda _title, text, *_a: shown.append(text))
    with qtbot.waitSignal(tray.page_requested, timeout=5000) as page:
        action(open_menu(tray), "Copy access key").trigger()
    assert page.args == ["Settings"]
    assert shown and "Make a new one in Settings → Access keys" in shown[-1]
    assert "switchboard access-key" not in shown[-1]  # no command line
