"""The first-run wizard on a running gateway: the "just try it" path to a working endpoint."""

from __future__ import annotations

from desktop.windows.first_run import FirstRunWizard


def test_just_try_it_reaches_the_endpoint_and_connect_a_tool(qtbot, started) -> None:
    wizard = FirstRunWizard(started)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()  # welcome -> provider
    assert wizard.currentPage() is wizard.provider_page and wizard.provider_page.isComplete()
    started.provider_result.emit("save:openai", True, "Added openai")  # another page's answer: not ours
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
