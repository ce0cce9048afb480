"""The "Connect a tool" page with real widgets and a real gateway: snippets follow a port change,
an applied tool is marked out of date and Update shows its diff, Apply shows the diff and (for
Claude Code) the route before writing, Check sends Claude Code's request through the gateway to a
fake upstream, and without an access key the page says what is missing instead of waiting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.autostart import XdgAutostart
from desktop.windows.connect import NO_KEY, ConnectPage
from desktop.windows.settings import SettingsPage
from proxy.engine.gateway import GatewayOptions
from proxy.support.net import free_port
from tests.desktop.conftest import ACCESS_KEY
from tests.desktop.upstreams import running_fake


def start(qtbot, make_bridge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict):
    """A gateway whose port comes from its config file (as in the real app), and the page on it."""
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", ACCESS_KEY)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    bridge = make_bridge(GatewayOptions(home=tmp_path / "home", config_path=path, discover_local=False))
    (tmp_path / "user").mkdir()
    bridge.connect_tools.home = tmp_path / "user"
    bridge.connect_tools.env = {}
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    page = ConnectPage(bridge)
    qtbot.addWidget(page)
    with qtbot.waitSignal(bridge.access_keys.client_key_fetched, timeout=10000):
        bridge.access_keys.fetch_client_key()
    return bridge, page


def select(page: ConnectPage, tool_id: str) -> None:
    page.list.setCurrentRow([t.id for t in page.tools].index(tool_id))


def apply_through_the_dialog(qtbot, page: ConnectPage) -> str:
    """Click Apply (or Update), wait for the diff, press Write; returns the diff that was shown."""
    page.dialog = None
    page.apply_button.click()
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=10000)
    assert page.dialog is not None
    shown = page.dialog.diff.toPlainText()
    page.dialog.write_button.click()
    return shown


def test_a_port_change_updates_snippets_and_marks_applied_tools_out_of_date(qtbot, make_bridge, tmp_path, monkeypatch):
    first, second = free_port(), free_port()
    bridge, page = start(qtbot, make_bridge, tmp_path, monkeypatch, {"server": {"port": first}})
    settings = SettingsPage(bridge, XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(settings)
    aider = tmp_path / "user" / ".aider.conf.yml"
    aider.write_text("# my aider settings\ndark-mode: true  # keep\n")
    select(page, "aider")
    assert f"openai-api-base: http://127.0.0.1:{first}/v1" in page.snippet.toPlainText()
    assert ACCESS_KEY not in page.snippet.toPlainText()  # masked until "Show key"

    page.apply_button.click()  # the diff first; Cancel writes nothing
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=10000)
    assert page.dialog is not None and ACCESS_KEY not in page.dialog.diff.toPlainText()
    page.dialog.reject()
    assert aider.read_text() == "# my aider settings\ndark-mode: true  # keep\n"

    shown = apply_through_the_dialog(qtbot, page)
    assert f"+openai-api-base: http://127.0.0.1:{first}/v1" in shown and "+model: openai/demo" in shown
    qtbot.waitUntil(lambda: "Wrote" in page.status.text(), timeout=10000)
    assert aider.read_text().startswith("# my aider settings\ndark-mode: true  # keep\n")
    qtbot.waitUntil(lambda: page.restore_button.isEnabled(), timeout=5000)

    def move(data: dict) -> None:
        data.setdefault("server", {})["port"] = second

    with qtbot.waitSignal(bridge.config_applied, timeout=15000):
        bridge.config.update("port", move)
    qtbot.waitUntil(lambda: f"127.0.0.1:{second}/v1" in page.snippet.toPlainText(), timeout=5000)  # no restart
    assert settings.endpoint.text() == f"http://127.0.0.1:{second}/v1"
    qtbot.waitUntil(lambda: page.list.currentItem().text() == "aider — out of date", timeout=5000)
    assert page.apply_button.text() == "Update…" and f"to http://127.0.0.1:{second}" in page.status.text()

    shown = apply_through_the_dialog(qtbot, page)
    assert f"-openai-api-base: http://127.0.0.1:{first}/v1" in shown
    assert f"+openai-api-base: http://127.0.0.1:{second}/v1" in shown
    qtbot.waitUntil(lambda: page.list.currentItem().text() == "aider", timeout=10000)
    assert f"127.0.0.1:{second}/v1" in aider.read_text() and page.apply_button.text() == "Apply…"

    page.restore_button.click()
    qtbot.waitUntil(lambda: "exactly as it was" in page.status.text(), timeout=10000)
    assert aider.read_text() == "# my aider settings\ndark-mode: true  # keep\n"


def test_claude_code_gets_its_route_and_check_answers_through_the_gateway(qtbot, make_bridge, tmp_path, monkeypatch):
    with running_fake(api_key=None, models=["gpt-4o-mini", "gpt-4.1"]) as fake:
        config = {
            "server": {"port": free_port()},
            "providers": [{"id": "local", "preset": "custom", "base_url": fake.base_url}],
            "routes": [
                {"name": "fast", "targets": [{"provider": "local", "model": "gpt-4o-mini"}]},
                {"name": "mine", "targets": [{"provider": "local", "model": "gpt-4.1"}]},
            ],
        }
        bridge, page = start(qtbot, make_bridge, tmp_path, monkeypatch, config)
        select(page, "claude-code")
        page.check_button.click()  # before Apply, the gateway does not know Claude Code's names
        qtbot.waitUntil(lambda: page.status.text().startswith("✗"), timeout=15000)  # off the GUI thread
        assert "404" in page.status.text() and "claude-sonnet-4-5-20250929" in page.status.text()

        page.apply_button.click()
        qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=10000)
        dialog = page.dialog
        assert dialog is not None and dialog.route.isVisible() and dialog.route.isChecked()
        assert "claude-sonnet-4-5-20250929" in dialog.route_note.text()
        assert dialog.route_target.currentText() == "fast"  # the default model
        dialog.route_target.setCurrentText("mine")  # the user's choice
        assert dialog.route_note.text().endswith("sending them to mine?")
        assert '+    "ANTHROPIC_BASE_URL": "http://127.0.0.1:' in dialog.diff.toPlainText()
        dialog.write_button.click()
        settings = tmp_path / "user" / ".claude" / "settings.json"
        qtbot.waitUntil(lambda: "Route:" in page.status.text() and "Wrote" in page.status.text(), timeout=15000)
        assert json.loads(settings.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == ACCESS_KEY
        routes = {r.name: r for r in bridge.config.routes()}
        assert [t.model for t in routes["claude-*"].targets] == ["gpt-4.1"]

        before = len(fake.requests)
        page.check_button.click()
        done = lambda: page.check_button.isEnabled() and not page.status.text().startswith("Checking")  # noqa: E731
        qtbot.waitUntil(done, timeout=15000)
        assert page.status.text().startswith("✓ Claude Code works"), page.status.text()
        sent = [r.json["model"] for r in fake.requests[before:]]
        assert sent == ["gpt-4.1", "gpt-4.1"]  # sonnet (main) and haiku (background), both to the chosen route


def test_without_an_access_key_the_page_says_so_and_links_to_settings(qtbot, make_bridge, tmp_path, monkeypatch):
    bridge, page = start(qtbot, make_bridge, tmp_path, monkeypatch, {"server": {"port": free_port()}})
    bridge.access_keys.client_key_fetched.emit("")  # what the bridge says when no key can be shown
    select(page, "aider")
    assert page.no_key.isVisibleTo(page) and page.new_key_button.isVisibleTo(page)
    assert "<your access key>" in page.snippet.toPlainText()
    page.apply_button.click()
    assert page.status.text() == NO_KEY and page.dialog is None  # at once: nothing to wait for
    page.check_button.click()
    assert page.status.text() == NO_KEY
    assert not (tmp_path / "user" / ".aider.conf.yml").exists()
    with qtbot.waitSignal(page.settings_requested):
        page.new_key_button.click()
    with qtbot.waitSignal(bridge.access_keys.created, timeout=10000):  # Settings → New key
        bridge.access_keys.create("laptop")
    qtbot.waitUntil(lambda: bool(page.key), timeout=5000)
    assert not page.no_key.isVisibleTo(page) and "<your access key>" not in page.snippet.toPlainText()


def test_a_key_change_marks_an_applied_tool_out_of_date(qtbot, secret_service, make_bridge, tmp_path, monkeypatch):
    bridge, page = start(qtbot, make_bridge, tmp_path, monkeypatch, {"server": {"port": free_port()}})
    monkeypatch.delenv("SWITCHBOARD_ACCESS_KEY")  # from now on the stored keys are the ones shown
    for name in ("laptop", "desk"):
        with qtbot.waitSignal(bridge.access_keys.created, timeout=15000):
            bridge.access_keys.create(name)
    with qtbot.waitSignal(bridge.access_keys.client_key_fetched, timeout=10000) as fetched:
        bridge.access_keys.fetch_client_key()
    first = fetched.args[0]
    assert first and first != ACCESS_KEY
    qtbot.waitUntil(lambda: page.key == first, timeout=5000)
    select(page, "aider")
    apply_through_the_dialog(qtbot, page)
    qtbot.waitUntil(lambda: "Wrote" in page.status.text(), timeout=10000)
    qtbot.waitUntil(page.restore_button.isEnabled, timeout=5000)
    assert page.list.currentItem().text() == "aider"
    with qtbot.waitSignal(bridge.access_keys.revoked, timeout=15000):  # the key Connect wrote is revoked
        bridge.access_keys.revoke("laptop")
    qtbot.waitUntil(lambda: page.key not in ("", first), timeout=10000)  # the page took the other key
    qtbot.waitUntil(lambda: page.list.currentItem().text() == "aider — out of date", timeout=5000)
    assert "the access key changed" in page.status.text() and page.apply_button.text() == "Update…"
