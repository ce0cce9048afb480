"""Playground: one prompt streamed to two models side by side through the real gateway (the
demo provider streams word by word; ``gpt-4o-mini`` goes to a priced fake upstream), with time to
first token, total time, tokens and the logged cost per column; Stop cancels; an unknown model
fails in its own column only."""

from __future__ import annotations

import threading

from desktop.windows.playground import PlaygroundPage
from tests.desktop import priced as fixtures

priced, upstream = fixtures.priced, fixtures.upstream  # the fixtures, for the tests of this module


def page_for(qtbot, bridge, models: list[str]) -> PlaygroundPage:
    page = PlaygroundPage(bridge)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.set_checked(models)
    return page


def playground_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("switchboard-playground")]


def test_two_models_stream_side_by_side_with_timings_tokens_and_cost(qtbot, priced) -> None:
    page = page_for(qtbot, priced, ["demo", "gpt-4o-mini"])
    assert page.checked_models() == ["demo", "gpt-4o-mini"]
    page.system.setPlainText("Answer briefly.")
    page.prompt.setPlainText("Compare these two models, please")
    lengths: list[int] = []  # the demo column's text, each time the page writes to it
    original_flush = page.flush

    def flush() -> None:
        original_flush()
        if page.columns:
            lengths.append(len(page.columns[0].answer()))

    page.flush = flush  # type: ignore[method-assign]
    with qtbot.waitSignal(page.run_finished, timeout=15000):
        page.send_button.click()
        assert not page.send_button.isEnabled() and page.stop_button.isEnabled()
    demo, paid = page.columns
    assert (demo.model, paid.model) == ("demo", "gpt-4o-mini")
    assert demo.state == paid.state == "done"
    assert demo.answer().startswith('You said: "Compare these two models, please"')
    assert paid.answer().strip()
    grown = sorted(set(lengths) - {0})
    assert len(grown) >= 3 and grown[-1] == len(demo.answer())  # the text grew in steps while streaming
    # side by side: same row, the second to the right of the first
    assert demo.geometry().top() == paid.geometry().top() and paid.geometry().left() >= demo.geometry().right()
    for column in (demo, paid):
        assert column.ttft.text().endswith(("ms", "s")) and column.total.text().endswith(("ms", "s"))
        assert "→" in column.tokens.text()
        assert column.request_id
    qtbot.waitUntil(lambda: demo.is_cost_known and paid.is_cost_known, timeout=5000)  # from the log rows
    assert demo.cost_label.text() == "$0.00"
    assert paid.cost is not None and paid.cost > 0 and paid.cost_label.text().startswith("$")
    assert paid.cost_label.text() != "$0.00"
    assert page.send_button.isEnabled() and not page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not playground_threads(), timeout=5000)


def test_stop_cancels_every_stream(qtbot, priced) -> None:
    page = page_for(qtbot, priced, ["demo"])
    page.add_model.setText("demo ")  # an entry already listed is just ticked
    page.add_model.returnPressed.emit()
    assert page.checked_models() == ["demo"]
    page.prompt.setPlainText(" ".join(["word"] * 150))  # the demo echoes it at 10 ms a word: ~1.7 s
    page.send_button.click()
    qtbot.waitUntil(lambda: bool(page.columns[0].answer()), timeout=10000)
    with qtbot.waitSignal(page.run_finished, timeout=5000):
        page.stop_button.click()
    column = page.columns[0]
    assert column.state == "stopped" and column.status.text() == "Stopped"
    stopped_at = column.answer()
    assert 0 < len(stopped_at) < 800
    qtbot.waitUntil(lambda: not playground_threads(), timeout=5000)
    qtbot.wait(200)
    assert column.answer() == stopped_at  # nothing more arrives
    assert page.send_button.isEnabled() and page.note.text() == "1 stopped."


def test_an_unknown_model_fails_in_its_column_only(qtbot, started) -> None:
    page = page_for(qtbot, started, ["demo", "no-such-model"])
    page.prompt.setPlainText("hello")
    with qtbot.waitSignal(page.run_finished, timeout=15000):
        page.send()
    good, bad = page.columns
    assert good.state == "done" and good.answer().startswith('You said: "hello"') and not good.error.isVisible()
    assert bad.state == "failed" and bad.error.isVisible() and "no-such-model" in bad.error.text()
    assert "does not exist" in bad.error.text() and bad.answer() == ""
    assert page.note.text() == "1 done, 1 failed."
    qtbot.waitUntil(lambda: not playground_threads(), timeout=5000)


def test_send_needs_a_prompt_and_a_model(qtbot, started) -> None:
    page = page_for(qtbot, started, [])
    page.send()
    assert page.note.text() == "Type a prompt first." and page.run is None
    page.prompt.setPlainText("hi")
    page.send()
    assert page.note.text() == "Tick at least one model." and page.run is None
    names = [page.models.item(i).text() for i in range(page.models.count())]
    assert "demo" in names and "demo-embed" not in names  # embeddings-only routes cannot chat
