"""Providers & keys: add a provider with a pasted key (straight to a real OS keychain, never in
the config file or the widget), test the key against a fake upstream, and delete it again."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.windows.providers import ProvidersPage
from proxy.storage.keychain import KeychainStore

GOOD_KEY = "sk-providers-page-good-key-0123456789"


@pytest.fixture
def upstream():
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", "0", "--api-key", GOOD_KEY],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    url = re.search(r"listening on (\S+)", line)
    assert url, line
    yield url.group(1)
    proc.terminate()
    proc.wait(10)


def result_of(qtbot, page: ProvidersPage, trigger) -> tuple[str, bool, str]:
    with qtbot.waitSignal(page.bridge.provider_result, timeout=20000) as answer:
        trigger()
    return tuple(answer.args)  # type: ignore[return-value]


def test_add_test_and_delete_a_provider(qtbot, secret_service, started, upstream, monkeypatch) -> None:
    page = ProvidersPage(started)
    qtbot.addWidget(page)
    page.preset.setCurrentIndex(page.preset.findData("custom"))
    page.name.setText("fake")
    page.base_url.setText(upstream)
    page.key.setText(GOOD_KEY)
    action, ok, message = result_of(qtbot, page, page.save_button.click)
    assert (action, ok) == ("save:fake", True), message
    assert GOOD_KEY not in message and page.key.text() == ""  # the key left the widget at once
    assert [page.tree.topLevelItem(i).text(0) for i in range(page.tree.topLevelItemCount())] == ["demo", "fake"]
    config = started.thread.gateway.config_path.read_text()
    assert '"fake"' in config and GOOD_KEY not in config
    assert KeychainStore().get("fake") == GOOD_KEY

    page.tree.setCurrentItem(page.tree.topLevelItem(1))
    action, ok, message = result_of(qtbot, page, page.test_button.click)
    assert action == "test:fake" and ok and "key accepted" in message

    page.key.setText("sk-providers-page-wrong-key-000000")  # replace the key with a bad one
    page.name.setText("fake")
    page.base_url.setText(upstream)
    assert result_of(qtbot, page, page.save_button.click)[1]
    qtbot.wait(700)  # the gateway rebuilds the adapter when the keys-changed marker moves (0.5 s watch)
    action, ok, message = result_of(qtbot, page, page.test_button.click)
    assert not ok and "key rejected (401)" in message and "wrong-key" not in message

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.tree.setCurrentItem(page.tree.topLevelItem(1))
    action, ok, message = result_of(qtbot, page, page.delete_button.click)
    assert (action, ok) == ("delete:fake", True), message
    assert page.tree.topLevelItemCount() == 1 and KeychainStore().get("fake") is None


def test_invalid_input_is_explained_inline(qtbot, started) -> None:
    page = ProvidersPage(started)
    qtbot.addWidget(page)
    page.preset.setCurrentIndex(page.preset.findData("custom"))
    page.name.setText("bad")
    page.base_url.setText("http://example.com/v1")  # plain http off this machine
    page.save_button.click()
    assert page.result.text().startswith("Not saved:") and "https" in page.result.text()
