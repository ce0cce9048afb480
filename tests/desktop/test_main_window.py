"""The main window: pages in the sidebar, Connect a tool with the live endpoint and a masked key,
Apply/Restore on a worker thread, Settings' start at login, and the tray opening pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from desktop.autostart import XdgAutostart
from desktop.windows.connect import ConnectPage
from desktop.windows.main import PAGES, MainWindow
from desktop.windows.settings import SettingsPage
from proxy.support.redact import mask
from tests.desktop.conftest import ACCESS_KEY


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tools' config files go to a throwaway HOME."""
    fake = tmp_path / "user-home"
    fake.mkdir()
    monkeypatch.setenv("HOME", str(fake))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    return fake


def test_pages_switch_and_closing_only_hides(qtbot, started, home, tmp_path) -> None:
    window = MainWindow(started, starter=XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(window)
    window.show()
    assert [window.sidebar.item(i).text() for i in range(window.sidebar.count())] == list(PAGES)
    for name in (*PAGES[1:], PAGES[0]):  # the first page is showing already
        with qtbot.waitSignal(window.page_shown) as shown:
            window.sidebar.setCurrentRow(PAGES.index(name))
        assert shown.args == [name] and window.current_page() is window.pages[name]
        assert window.pages[name].isVisibleTo(window)
    providers = window.pages["Providers & keys"].tree
    assert providers.topLevelItem(0).text(0) == "demo"
    window.close()
    assert not window.isVisible()  # hidden, not destroyed
    window.show_page("Settings")
    assert window.isVisible() and window.current_page() is window.pages["Settings"]


def test_connect_a_tool_shows_the_live_setup_with_the_key_masked(qtbot, started, home) -> None:
    page = ConnectPage(started)
    qtbot.addWidget(page)
    with qtbot.waitSignal(started.access_keys.client_key_fetched, timeout=10000):
        started.access_keys.fetch_client_key()  # on a worker thread
    names = [page.list.item(i).text() for i in range(page.list.count())]
    assert "Claude Code" in names and "Codex CLI" in names and "Cursor" in names
    page.list.setCurrentRow(names.index("Python (openai SDK)"))
    text = page.snippet.toPlainText()
    assert f"{started.base_url}/v1" in text and ACCESS_KEY not in text and mask(ACCESS_KEY) in text
    page.show_key.setChecked(True)
    assert ACCESS_KEY in page.snippet.toPlainText()
    page.copy()
    assert ACCESS_KEY in QGuiApplication.clipboard().text()


def test_apply_and_restore_run_off_the_gui_thread(qtbot, started, home) -> None:
    page = ConnectPage(started)
    qtbot.addWidget(page)
    with qtbot.waitSignal(started.access_keys.client_key_fetched, timeout=10000):
        started.access_keys.fetch_client_key()
    page.list.setCurrentRow([t.id for t in page.tools].index("aider"))
    assert page.apply_button.isVisible() is False or page.apply_button.isVisibleTo(page)
    service = started.connect_tools
    page.apply_button.click()  # the diff is read on a worker, then shown before anything is written
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=10000)
    with qtbot.waitSignal(service.applied, timeout=10000) as done:
        page.dialog.write_button.click()
    assert done.args[1] is True
    config = home / ".aider.conf.yml"
    assert ACCESS_KEY in config.read_text()
    qtbot.waitUntil(page.restore_button.isEnabled, timeout=5000)  # what was applied is read off-thread
    with qtbot.waitSignal(service.restored, timeout=10000) as done:
        page.restore_button.click()
    assert done.args[1] is True and not config.exists()


def test_settings_toggle_start_at_login(qtbot, started, tmp_path) -> None:
    starter = XdgAutostart(config_home=tmp_path / "xdg")
    page = SettingsPage(started, starter)
    qtbot.addWidget(page)
    qtbot.waitUntil(page.login.isEnabled, timeout=5000)
    assert not page.login.isChecked()
    with qtbot.waitSignal(page.autostart_done, timeout=5000):
        page.login.setChecked(True)
    assert starter.path.exists() and page.login.isChecked()
    with qtbot.waitSignal(page.autostart_done, timeout=5000):
        page.login.setChecked(False)
    assert not starter.path.exists()


def test_the_tray_opens_pages_of_the_main_window(qtbot, options) -> None:
    from desktop.app import TrayApp

    tray_app = TrayApp(options, has_tray=True)
    qtbot.addWidget(tray_app.window)
    qtbot.addWidget(tray_app.main)
    tray_app.tray.page_requested.emit("Connect a tool")
    assert tray_app.main.isVisible()
    assert tray_app.main.current_page() is tray_app.main.pages["Connect a tool"]
    tray_app.main.hide()


def test_settings_save_the_gateway_options_as_a_config_version(qtbot, started, tmp_path) -> None:
    page = SettingsPage(started, XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(page)
    assert page.require_auth.isChecked() and not page.store_bodies.isChecked()
    page.store_bodies.setChecked(True)
    page.retention.setValue(7)
    with qtbot.waitSignal(started.config.answered, timeout=10000) as answer:
        page.save_button.click()
    assert answer.args[:2] == ["config", True], answer.args
    config = started.config.current
    assert config.logging.store_bodies and config.logging.retention_days == 7
    assert '"retention_days": 7' in started.api.paths.config_file.read_text()
    assert page.saved.text().startswith("Saved and applied")
