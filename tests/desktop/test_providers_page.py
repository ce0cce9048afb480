"""Providers & keys: add a provider with a pasted key (straight to a real OS keychain, never in
the config file or the widget), test the key against a fake upstream, and delete it again; a local
server found and added with one click; a provider's model list fetched with its keychain key; a
provider turned off and on in the running gateway."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.windows.providers import ProvidersPage
from proxy.api import KeyOutcome, KeyTestResult
from proxy.storage.keychain import KeychainStore
from tests.desktop.conftest import in_worker, post_chat
from tests.desktop.upstreams import fake_in_subprocess, running_fake

GOOD_KEY = "sk-providers-page-good-key-0123456789"


@pytest.fixture
def upstream():
    with fake_in_subprocess(GOOD_KEY) as url:
        yield url


def result_of(qtbot, page: ProvidersPage, trigger) -> tuple[str, bool, str]:
    with qtbot.waitSignal(page.bridge.config.answered, timeout=20000) as answer:
        trigger()
    # waitSignal hears the signal on the emitting worker thread; let the page's queued slot run too
    QApplication.processEvents()
    return tuple(answer.args)  # type: ignore[return-value]


def key_test_of(qtbot, page: ProvidersPage) -> tuple[str, KeyTestResult]:
    with qtbot.waitSignal(page.bridge.providers.key_tested, timeout=20000) as answer:
        page.test_button.click()
    QApplication.processEvents()
    return answer.args[0], answer.args[1]


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
    config = started.api.paths.config_file.read_text()
    assert '"fake"' in config and GOOD_KEY not in config
    assert KeychainStore().get("fake") == GOOD_KEY

    page.tree.setCurrentItem(page.tree.topLevelItem(1))
    provider, result = key_test_of(qtbot, page)
    assert provider == "fake" and result.outcome is KeyOutcome.ACCEPTED and "key accepted" in result.message
    assert page.result.text() == f"fake: {result.message}"

    page.key.setText("sk-providers-page-wrong-key-000000")  # replace the key with a bad one
    page.name.setText("fake")
    page.base_url.setText(upstream)
    asked: list[str] = []

    def answer(reply):
        return lambda _parent, title, question, *a, **k: asked.append(f"{title}: {question}") or reply

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    page.save_button.click()  # the same name: asked first, and No keeps the provider as it was
    assert asked and asked[0].startswith("Replace provider: There is already a provider named “fake”")
    assert page.result.text().startswith("Not saved: “fake” is kept as it was")
    assert page.key.text() == "sk-providers-page-wrong-key-000000"  # not cleared: nothing was saved
    assert KeychainStore().get("fake") == GOOD_KEY
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    assert result_of(qtbot, page, page.save_button.click)[1]
    qtbot.wait(700)  # the gateway rebuilds the adapter when the keys-changed marker moves (0.5 s watch)
    provider, result = key_test_of(qtbot, page)
    assert result.outcome is KeyOutcome.REJECTED and not result.ok
    assert "key rejected (401)" in result.message and "wrong-key" not in result.message
    assert "paste a new key" in page.result.text()  # the advice follows the outcome, not the wording
    assert "{" not in page.result.text() and "(HTTP 401)" in page.result.text()  # the provider's words, not JSON

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


def test_an_empty_or_bad_name_is_explained_in_words(qtbot, started) -> None:
    page = ProvidersPage(started)
    qtbot.addWidget(page)
    page.preset.setCurrentIndex(page.preset.findData("custom"))
    page.base_url.setText("https://api.example.com/v1")
    page.save_button.click()  # no name
    assert page.result.text() == "Not saved: “Name” cannot be empty."
    page.name.setText("my provider")
    page.save_button.click()
    text = page.result.text()
    assert text == (  # no regex, no field path
        "Not saved: “Name” is not valid: use lowercase letters, digits, dots, dashes or underscores (up to 64), "
        "starting with a letter or digit."
    )


# -- local servers, model lists, enable/disable ---------------------------------------------------


def test_a_local_server_is_offered_and_added_with_one_click(qtbot, started) -> None:
    with running_fake(api_key=None, models=["llama3.2", "qwen2.5"]) as ollama:
        # where an Ollama would answer, without binding 11434 (port 9: nothing listens there)
        started.api.local_server_addresses = {"ollama": ollama.base_url, "lmstudio": "http://127.0.0.1:9/v1"}
        page = ProvidersPage(started)
        qtbot.addWidget(page)
        page.show()  # showing the page looks for local servers (on the gateway loop)
        qtbot.waitUntil(lambda: len(page.offer_buttons()) == 1, timeout=10000)
        [offer] = page.offer_buttons()
        text = offer.parent().text.text()
        assert text.startswith("Ollama is running on this computer (2 models)")
        assert offer.accessibleName() == "Add Ollama as a provider"

        action, ok, message = result_of(qtbot, page, offer.click)
        assert (action, ok) == ("save:ollama", True), message
        rows = {
            page.tree.topLevelItem(i).text(0): page.tree.topLevelItem(i) for i in range(page.tree.topLevelItemCount())
        }
        assert rows["ollama"].text(2) == ollama.base_url and rows["ollama"].text(3) == "not needed"
        assert page.offer_buttons() == []  # added: no longer offered

        replies: list[dict] = []
        in_worker(lambda: replies.append(post_chat(started.base_url, "ollama/llama3.2"))).join(15)
        assert replies and replies[0]["choices"][0]["message"]["content"]
        assert [r.path for r in ollama.requests][-1] == "/v1/chat/completions"
        assert "Authorization" not in ollama.requests[-1].headers  # no key for a local server


def test_fetch_models_asks_the_provider_with_its_keychain_key(qtbot, secret_service, started) -> None:
    with running_fake(api_key=GOOD_KEY, models=["gpt-4o-mini", "gpt-4.1"]) as upstream:
        page = ProvidersPage(started)
        qtbot.addWidget(page)
        page.preset.setCurrentIndex(page.preset.findData("custom"))
        page.name.setText("listed")
        page.base_url.setText(upstream.base_url)
        page.key.setText(GOOD_KEY)
        assert result_of(qtbot, page, page.save_button.click)[:2] == ("save:listed", True)
        page.tree.setCurrentItem(page.tree.findItems("listed", Qt.MatchFlag.MatchExactly)[0])
        assert page.models_title.text() == "Models of listed"

        with qtbot.waitSignal(started.providers.models_fetched, timeout=20000) as answer:
            page.models_button.click()
        QApplication.processEvents()
        assert answer.args[:3] == ["listed", True, ("gpt-4.1", "gpt-4o-mini")]
        assert [page.models.item(i).text() for i in range(page.models.count())] == ["gpt-4.1", "gpt-4o-mini"]
        assert "2 models" in page.models_note.text() and "listed/MODEL" in page.models_note.text()
        asked = upstream.requests[-1]
        assert (asked.method, asked.path) == ("GET", "/v1/models")
        assert asked.headers["Authorization"] == f"Bearer {GOOD_KEY}"  # read from the real test keychain
        assert GOOD_KEY not in page.models_note.text() + page.result.text()

    KeychainStore().delete("listed")


def test_disabling_a_provider_sends_its_routes_to_their_other_targets(qtbot, started) -> None:
    with running_fake(api_key=None, models=["gpt-4o-mini"]) as upstream:

        def add_route(data: dict) -> None:
            data["providers"].append({"id": "first", "preset": "custom", "base_url": upstream.base_url})
            data["routes"].append(
                {
                    "name": "smart",
                    "targets": [{"provider": "first", "model": "gpt-4o-mini"}, {"provider": "demo", "model": "echo"}],
                }
            )

        with qtbot.waitSignal(started.config.answered, timeout=10000):
            started.config.update("add a route with a fallback", add_route)
        page = ProvidersPage(started)
        qtbot.addWidget(page)
        page.tree.setCurrentItem(page.tree.findItems("first", Qt.MatchFlag.MatchExactly)[0])

        def chats() -> int:
            return sum(r.path == "/v1/chat/completions" for r in upstream.requests)

        def ask() -> dict:
            replies: list[dict] = []
            in_worker(lambda: replies.append(post_chat(started.base_url, "smart"))).join(15)
            return replies[0]

        ask()
        assert chats() == 1
        assert page.enable_button.text() == "Disable"
        assert result_of(qtbot, page, page.enable_button.click) == ("enable:first", True, "Disable provider first")
        assert page.tree.currentItem().text(4) == "Disabled" and page.enable_button.text() == "Enable"
        assert started.config.current.provider("first").enabled is False
        saved = json.loads(started.api.paths.config_file.read_text())
        assert next(p for p in saved["providers"] if p["id"] == "first")["enabled"] is False
        reply = ask()  # the fallback target answers; the disabled provider is never called
        assert chats() == 1 and "hello from the tray" in reply["choices"][0]["message"]["content"]

        assert result_of(qtbot, page, page.enable_button.click) == ("enable:first", True, "Enable provider first")
        assert page.tree.currentItem().text(4) == "Enabled"
        ask()
        assert chats() == 2
