"""The first-run wizard on a running gateway: "just try it" ends with a working request through the
demo; a provider key is saved, tested against a fake upstream and used by a request through the
gateway; a model server found on this computer is offered and works."""

from __future__ import annotations

from desktop.windows.first_run import FirstRunWizard
from proxy.storage.keychain import KeychainStore
from tests.desktop.conftest import in_worker, post_chat
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

        reply = chat(started.base_url, "custom/gpt-4.1")  # through the gateway to the fake
        assert reply["model"].startswith("gpt-4.1")
        last = upstream.requests[-1]
        assert last.path == "/v1/chat/completions" and last.headers["Authorization"] == f"Bearer {KEY}"
    KeychainStore().delete("custom")


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
        reply = chat(started.base_url, "ollama/llama3.2")
        assert reply["choices"][0]["message"]["content"] and ollama.requests[-1].path == "/v1/chat/completions"
