"""The first-run wizard on a running gateway: "just try it" ends with a working request through the
demo; a provider key is saved, tested against a fake upstream and used by a request through the
gateway; a model server found on this computer is offered and works."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWizard

from desktop.tray import TrayIcon
from desktop.windows.first_run import FirstRunWizard
from proxy.storage.keychain import KeychainStore
from tests.desktop.conftest import ACCESS_KEY, in_worker, post_chat
from tests.desktop.upstreams import running_fake

KEY = "sk-first-run-provider-key-0123456789"


def test_just_try_it_reaches_the_endpoint_and_connect_a_tool(qtbot, started) -> None:
    wizard = FirstRunWizard(started)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()  # welcome -> provider
    assert wizard.currentPage() is wizard.provider_page and wizard.provider_page.isComplete()
    started.config.answered.emit("save:openai", True, "Added openai")  # another page's answer: not ours
    assert wizard.currentPage() is wizard.provider_page and wizard.provider_page.saved is None
    wizard.next()  # the demo needs nothing saved
    assert wizard.currentPage() is wizard.model_page
    assert wizard.model_page.model.currentText() == "demo"
    wizard.next()
    assert wizard.currentPage() is wizard.done_page
    assert wizard.done_page.endpoint.text() == f"{started.base_url}/v1"
    assert '"demo"' in wizard.done_page.summary.text()
    assert proved(qtbot, wizard).startswith("✓")
    with qtbot.waitSignal(wizard.connect_requested):
        wizard.done_page.connect_button.click()


def test_a_provider_needs_its_key_before_next(qtbot, started) -> None:
    wizard = FirstRunWizard(started)
    qtbot.addWidget(wizard)
    wizard.next()
    page = wizard.provider_page
    page.real.setChecked(True)
    assert not page.isComplete()
    page.key.setText("sk-first-run-key-0123456789abcdef")
    assert page.isComplete()


def proved(qtbot, wizard: FirstRunWizard) -> str:
    """The last page's answer to its own test request (wait for it: it runs on a worker)."""
    answer = wizard.done_page.answer
    qtbot.waitUntil(lambda: answer.text().startswith(("✓", "✗")), timeout=15000)
    return answer.text()


def chat(base_url: str, model: str) -> dict:
    replies: list[dict] = []
    in_worker(lambda: replies.append(post_chat(base_url, model))).join(15)
    assert replies, f"no answer for {model}"
    return replies[0]


def test_just_try_it_ends_with_a_working_request(qtbot, started) -> None:
    wizard = FirstRunWizard(started)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.done_page
    model = wizard.model_page.model.currentText()
    endpoint = wizard.done_page.endpoint.text().removesuffix("/v1")
    reply = chat(endpoint, model)  # what the last page tells the user to use, as a tool would
    assert reply["model"] and "hello from the tray" in reply["choices"][0]["message"]["content"]
    assert proved(qtbot, wizard).startswith("✓")


def test_a_provider_key_is_saved_tested_and_used(qtbot, secret_service, started) -> None:
    with running_fake(api_key=KEY, models=["gpt-4o-mini", "gpt-4.1"]) as upstream:
        wizard = FirstRunWizard(started)
        qtbot.addWidget(wizard)
        wizard.show()
        wizard.next()
        page = wizard.provider_page
        page.real.setChecked(True)
        page.preset.setCurrentIndex(page.preset.findData("custom"))
        assert page.base_url.isVisibleTo(wizard) and not page.isComplete()  # a custom server needs its address
        page.base_url.setText(upstream.base_url)
        page.key.setText(KEY)
        assert page.isComplete()
        wizard.next()  # saves (key to the keychain), tests the key, then moves on by itself
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.model_page, timeout=20000)
        assert page.key.text() == "" and "key accepted" in page.status.text()
        assert upstream.requests[-1].headers["Authorization"] == f"Bearer {KEY}"  # the key test reached the fake
        assert KEY not in started.api.paths.config_file.read_text()
        qtbot.waitUntil(lambda: wizard.model_page.model.findText("custom/gpt-4.1") >= 0, timeout=20000)
        assert wizard.model_page.status.text() == "Custom OpenAI-compatible server offers 2 models."
        wizard.model_page.model.setCurrentText("custom/gpt-4.1")
        wizard.next()
        assert '"custom/gpt-4.1"' in wizard.done_page.summary.text()
        assert proved(qtbot, wizard).startswith("✓ custom/gpt-4.1 answered in ")

        reply = chat(started.base_url, "custom/gpt-4.1")  # through the gateway to the fake
        assert reply["model"].startswith("gpt-4.1")
        last = upstream.requests[-1]
        assert last.path == "/v1/chat/completions" and last.headers["Authorization"] == f"Bearer {KEY}"
    KeychainStore().delete("custom")


def test_a_providers_model_becomes_the_default_route(qtbot, secret_service, started) -> None:
    with running_fake(api_key=KEY, models=["gpt-4.1"]) as upstream:
        wizard = FirstRunWizard(started)
        qtbot.addWidget(wizard)
        wizard.show()
        wizard.next()
        page = wizard.provider_page
        page.real.setChecked(True)
        page.preset.setCurrentIndex(page.preset.findData("custom"))
        page.base_url.setText(upstream.base_url)
        page.key.setText(KEY)
        wizard.next()
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.model_page, timeout=20000)
        qtbot.waitUntil(lambda: wizard.model_page.model.findText("custom/gpt-4.1") >= 0, timeout=20000)
        wizard.model_page.model.setCurrentText("custom/gpt-4.1")
        with qtbot.waitSignal(started.config.answered, timeout=10000) as saved:
            wizard.next()
        assert saved.args[:2] == ["wizard-default", True], saved.args
        qtbot.waitUntil(lambda: any(r.name == "default" for r in started.config.routes()), timeout=5000)
        route = next(r for r in started.config.routes() if r.name == "default")
        assert [(t.provider, t.model) for t in route.targets] == [("custom", "gpt-4.1")]
        assert started.config.default_route() == "default"
        qtbot.waitUntil(lambda: wizard.done_page.answer.text().startswith("✓"), timeout=15000)
        assert "custom/gpt-4.1 answered in" in wizard.done_page.answer.text()
        assert upstream.requests[-1].path == "/v1/chat/completions"
        tray = TrayIcon(started)
        tray.menu.aboutToShow.emit()
        models = next(a.menu() for a in tray.menu.actions() if a.text() == "Models")
        assert "default" in [a.text() for a in models.actions()]
        default = next(a.menu() for a in models.actions() if a.text() == "Default for unknown names")
        assert [a.text() for a in default.actions() if a.isChecked()] == ["default"]
    KeychainStore().delete("custom")


@pytest.fixture
def no_keychain(monkeypatch, tmp_path):
    """No Secret Service reachable (as on a desktop without a keychain): before the gateway starts."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def test_a_server_on_this_computer_is_offered(qtbot, started) -> None:
    with running_fake(api_key=None, models=["llama3.2"]) as ollama:
        started.api.local_server_addresses = {"ollama": ollama.base_url, "lmstudio": "http://127.0.0.1:9/v1"}
        wizard = FirstRunWizard(started)
        qtbot.addWidget(wizard)
        wizard.show()
        wizard.next()
        page = wizard.provider_page
        qtbot.waitUntil(lambda: len(page.local) == 1, timeout=10000)
        choice, server = page.local[0]
        assert choice.text() == "Ollama, running on this computer (1 model, no key)"
        choice.setChecked(True)
        assert page.isComplete()
        wizard.next()
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.model_page, timeout=20000)
        qtbot.waitUntil(lambda: wizard.model_page.model.currentText() == "ollama/llama3.2", timeout=20000)
        wizard.next()
        assert proved(qtbot, wizard).startswith("✓ ollama/llama3.2 answered in ")
        reply = chat(started.base_url, "ollama/llama3.2")
        assert reply["choices"][0]["message"]["content"] and ollama.requests[-1].path == "/v1/chat/completions"


# -- issue 22: proof on the last page, the default model, no keychain -----------------------------


def test_the_last_page_proves_it_and_finish_opens_connect(qtbot, started) -> None:
    wizard = FirstRunWizard(started)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    wizard.next()
    with qtbot.waitSignal(started.config.answered, timeout=10000) as saved:
        wizard.next()
    assert saved.args[:2] == ["wizard-default", True], saved.args
    page = wizard.done_page
    qtbot.waitUntil(lambda: page.answer.text().startswith("✓"), timeout=15000)
    assert page.answer.text().startswith("✓ demo/echo answered in ") and " ms: “" in page.answer.text()
    assert started.activity.requests_today >= 1 or started.activity.recent(1)  # a real request, logged
    assert started.config.default_route() == "demo"  # saved as a config version, in force
    qtbot.waitUntil(lambda: "default model" in page.default_note.text(), timeout=5000)
    qtbot.waitUntil(lambda: page.copy_key.isEnabled(), timeout=5000)
    assert page.access_key.text() != ACCESS_KEY and ACCESS_KEY[-4:] in page.access_key.text()  # masked
    assert "only time" in page.key_warning.text() and "Settings → Access keys" in page.key_warning.text()
    page.copy_key.click()
    assert QGuiApplication.clipboard().text() == ACCESS_KEY
    with qtbot.waitSignal(wizard.connect_requested):
        wizard.button(QWizard.WizardButton.FinishButton).click()  # Finish opens "Connect a tool"


def test_without_a_keychain_the_key_goes_to_an_environment_variable(qtbot, no_keychain, started, monkeypatch) -> None:
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with running_fake(api_key=KEY, models=["gpt-4o-mini"]) as upstream:
        wizard = FirstRunWizard(started)
        qtbot.addWidget(wizard)
        wizard.show()
        wizard.next()
        page = wizard.provider_page
        page.real.setChecked(True)
        page.preset.setCurrentIndex(page.preset.findData("custom"))
        page.base_url.setText(upstream.base_url)
        page.key.setText(KEY)
        with qtbot.waitSignal(started.config.answered, timeout=10000):
            wizard.next()  # the keychain is missing: offered the environment instead
        qtbot.waitUntil(lambda: page.use_env.isChecked(), timeout=5000)
        assert wizard.currentPage() is page
        assert page.key.text() == KEY  # the pasted key is kept, not cleared in silence
        assert "no OS keychain" in page.status.text()
        assert page.env_name.isVisibleTo(wizard) and page.env_name.text() == "CUSTOM_API_KEY"
        assert page.env_line.text().startswith("set -Ux CUSTOM_API_KEY '") and KEY not in page.env_line.text()
        page.copy_line.click()
        assert QGuiApplication.clipboard().text() == f"set -Ux CUSTOM_API_KEY '{KEY}'"
        wizard.next()  # saved with {"env": ...}, this run reads it from its own environment
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.model_page, timeout=20000)
        assert upstream.requests[-1].headers["Authorization"] == f"Bearer {KEY}"
        text = started.api.paths.config_file.read_text()
        assert '"env": "CUSTOM_API_KEY"' in text and KEY not in text
        monkeypatch.delenv("CUSTOM_API_KEY", raising=False)


def test_a_refused_key_shows_the_providers_words(qtbot, secret_service, started) -> None:
    with running_fake(api_key=KEY, models=["gpt-4o-mini"]) as upstream:
        wizard = FirstRunWizard(started)
        qtbot.addWidget(wizard)
        wizard.show()
        wizard.next()
        page = wizard.provider_page
        page.real.setChecked(True)
        page.preset.setCurrentIndex(page.preset.findData("custom"))
        page.base_url.setText(upstream.base_url)
        page.key.setText("sk-first-run-wrong-key-000000000")
        with qtbot.waitSignal(started.providers.key_tested, timeout=20000):
            wizard.next()
        qtbot.waitUntil(lambda: "did not accept" in page.status.text(), timeout=5000)
        text = page.status.text()
        assert "{" not in text and "(HTTP 401)" in text and "wrong-key" not in text
        assert page.key.text() == "sk-first-run-wrong-key-000000000"  # kept to fix, not cleared
    KeychainStore().delete("custom")
