"""Settings → Access keys on a running gateway (real HTTP, real test keychain): a new key is shown
once and works at once; a revoked key gets 401 at once; values appear only right after creation."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from desktop.autostart import XdgAutostart
from desktop.windows.settings import SettingsPage
from proxy.storage.access_keys import keychain_entry
from proxy.storage.keychain import KeychainStore
from proxy.support.paths import Home
from tests.desktop.conftest import in_worker


def status_with(base_url: str, key: str) -> int:
    """POST a chat completion with ``key``; the HTTP status (blocking: call it from a worker)."""
    request = urllib.request.Request(
        f"{base_url}/v1/chat/completions",
        data=json.dumps({"model": "demo", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def status_of(base_url: str, key: str) -> int:
    statuses: list[int] = []
    in_worker(lambda: statuses.append(status_with(base_url, key))).join(15)
    return statuses[0]


def names(tree) -> list[str]:
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


def test_new_key_works_at_once_and_a_revoked_one_gets_401(
    qtbot, secret_service, options, make_bridge, monkeypatch, tmp_path, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("SWITCHBOARD_ACCESS_KEY")  # the stored keys are in force, not the test's fixed one
    bridge = make_bridge(options)
    with qtbot.waitSignal(bridge.access_keys.listed, timeout=15000):  # the page lists the keys once started
        page = SettingsPage(bridge, XdgAutostart(config_home=tmp_path / "xdg"))
        qtbot.addWidget(page)
        bridge.start()
    box = page.access_keys
    # the signal reaches waitSignal on the emitting thread; the page's slot runs on the GUI thread
    qtbot.waitUntil(lambda: names(box.tree) == ["default"], timeout=5000)
    assert box.tree.topLevelItem(0).text(3) == "never"
    assert not box.env_note.isVisibleTo(page) and box.new_key_dialog is None

    box.name.setText("ci-tool")
    with qtbot.waitSignal(bridge.access_keys.created, timeout=15000) as created:
        box.new_button.click()
    assert created.args[:2] == ["ci-tool", True]
    qtbot.waitUntil(lambda: box.new_key_dialog is not None and box.new_key_dialog.isVisible())
    dialog = box.new_key_dialog
    assert dialog is not None and dialog.isModal()  # in view, in front, whatever the page's scroll
    value = dialog.secret.text()
    assert value.startswith("sb-local-") and "only this once" in dialog.warning.text()
    assert "ci-tool" in dialog.warning.text() and value not in box.status.text()
    qtbot.waitUntil(lambda: names(box.tree) == ["default", "ci-tool"], timeout=10000)
    row = box.tree.topLevelItem(1)
    assert value not in "".join(row.text(c) for c in range(4)) and row.text(1).startswith("sb-local-")
    index = Home.resolve(options.home).access_keys_index.read_text()
    assert "ci-tool" in index and value not in index

    with qtbot.waitSignal(bridge.request_logged, timeout=15000):
        assert status_of(bridge.base_url, value) == 200  # in force at once, no file check awaited
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == value
    left: list[str] = []
    dialog.finished.connect(lambda _result: left.append(dialog.secret.text()))  # after the dialog's own slot
    dialog.done_button.click()
    assert box.new_key_dialog is None and left == [""]  # closing forgets the value

    bridge.access_keys.load()  # last used, from the request log
    qtbot.waitUntil(lambda: box.tree.topLevelItem(1).text(3) != "never", timeout=10000)

    asked: list[str] = []

    def confirm(_parent, _title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", confirm)
    box.tree.setCurrentItem(box.tree.topLevelItem(1))
    with qtbot.waitSignal(bridge.access_keys.revoked, timeout=15000) as revoked:
        box.revoke_button.click()
    assert revoked.args[:2] == ["ci-tool", True] and "ci-tool" in asked[0]
    qtbot.waitUntil(lambda: box.status.text().startswith("Revoked ci-tool"))
    assert status_of(bridge.base_url, value) == 401  # refused at once
    qtbot.waitUntil(lambda: names(box.tree) == ["default"], timeout=10000)
    assert KeychainStore().get(keychain_entry("ci-tool")) is None
    default = KeychainStore().get(keychain_entry("default"))
    assert default and status_of(bridge.base_url, default) == 200  # the other key still works
    assert caplog.records and not [r for r in caplog.records if value in r.getMessage()]  # never logged


def test_a_bad_name_is_explained(qtbot, started, tmp_path) -> None:
    page = SettingsPage(started, XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(page)
    box = page.access_keys
    assert box.env_note.isVisibleTo(page)  # the tests' fixed key is in force: the page says so
    box.new_button.click()
    assert box.status.text().startswith("Type a name")
    box.name.setText("My Tool!")
    box.new_button.click()
    qtbot.waitUntil(lambda: box.status.text().startswith("No key made: A key name uses lowercase letters"))
    assert box.new_key_dialog is None
