"""The routing editor on real widgets against a running gateway (demo provider, real config file).

The done-when of the routing issue, without touching a file: build a three-target fallback route,
test it, simulate a failure and see the fallback with both attempts, roll the change back.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QMessageBox

from desktop.windows.routing import RoutingPage, TargetsModel, describe_change
from tests.desktop.conftest import in_worker, post_chat

CONFIG = {
    "providers": [{"id": p, "preset": "demo", "demo": {"pace_ms": 0}} for p in ("demo", "alpha", "beta", "gamma")],
    "routes": [
        {"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]},
        {
            "name": "chain",
            "targets": [
                {"provider": "alpha", "model": "echo"},
                {"provider": "beta", "model": "echo"},
                {"provider": "gamma", "model": "echo"},
            ],
        },
    ],
}


@pytest.fixture
def page(qtbot, make_bridge, options):
    home: Path = options.home
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps(CONFIG))
    bridge = make_bridge(replace(options, config_path=home / "config.json"))
    page = RoutingPage(bridge)
    qtbot.addWidget(page)
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    return page


def select(page: RoutingPage, name: str) -> None:
    for row in range(page.routes.count()):
        if page.routes.item(row).data(Qt.ItemDataRole.UserRole) == name:
            page.routes.setCurrentRow(row)
            return
    raise AssertionError(f"no route {name} in the list")


def route_in_force(page: RoutingPage, name: str):
    return next(r for r in page.config().routes if r.name == name)


def order(page: RoutingPage, name: str) -> list[str]:
    return [t.provider for t in route_in_force(page, name).targets]


def drag(model: TargetsModel, row: int, to: int) -> None:
    """What the view does on a drop between rows: hand the dragged rows' mime data to the model."""
    data = model.mimeData([model.index(row, 0)])
    assert model.canDropMimeData(data, Qt.DropAction.MoveAction, to, 0, QModelIndex())
    model.dropMimeData(data, Qt.DropAction.MoveAction, to, 0, QModelIndex())


def test_dragging_a_target_changes_the_fallback_order_in_the_running_gateway(qtbot, page):
    select(page, "chain")
    assert [page.targets.model.data(page.targets.model.index(r, 1)) for r in range(3)] == ["alpha", "beta", "gamma"]
    with qtbot.waitSignal(page.saved, timeout=5000) as saved:
        drag(page.targets.model, 2, 0)  # gamma to the top
    assert order(page, "chain") == ["gamma", "alpha", "beta"]
    assert "fallback order gamma / echo → alpha / echo → beta / echo" in saved.args[0]
    # the gateway now answers from the new first target
    with qtbot.waitSignal(page.bridge.request_finished, timeout=10000) as done:
        worker = in_worker(post_chat, page.bridge.base_url, "chain")
    worker.join(10)
    assert done.args[0].status == "ok" and done.args[0].provider == "gamma"
    # keyboard: Alt+Down moves the selected target one place down, saved the same way
    page.targets.view.selectRow(0)
    with qtbot.waitSignal(page.saved, timeout=5000):
        qtbot.keyClick(page.targets.view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert order(page, "chain") == ["alpha", "gamma", "beta"]


def test_drop_onto_a_row_and_a_burst_of_edits_make_one_version(qtbot, page):
    select(page, "chain")
    before = len(page.bridge.api.history())
    model = page.targets.model
    data = model.mimeData([model.index(0, 0)])
    with qtbot.waitSignal(page.saved, timeout=5000):
        model.dropMimeData(data, Qt.DropAction.MoveAction, -1, -1, model.index(2, 0))  # onto gamma: before it
        drag(model, 0, 3)  # and beta to the end, within the save delay
    assert order(page, "chain") == ["alpha", "gamma", "beta"]
    assert len(page.bridge.api.history()) == before + 1


def test_invalid_edits_are_refused_live_and_nothing_is_saved(qtbot, page):
    select(page, "chain")
    before = len(page.bridge.api.history())
    page.form.name.setText("demo")  # the name of another route
    page.form.name.textEdited.emit("demo")
    assert "There is already a route named “demo”" in page.status.text()  # words, not routes[2].name
    assert "routes[" not in page.status.text()
    assert not page.save_timer.isActive()
    page.form.name.setText("has space")
    page.form.name.textEdited.emit("has space")
    assert page.status.text().startswith("Not saved: “Route name”"), page.status.text()
    assert "^[" not in page.status.text()  # no regex
    page.form.name.setText("chain")
    page.form.name.textEdited.emit("chain")  # back to valid and unchanged: nothing to save
    qtbot.wait(50)
    assert len(page.bridge.api.history()) == before


def test_weighted_strategy_shows_a_slider_per_target_and_saves_weights(qtbot, page):
    select(page, "chain")
    assert page.targets.weights.isHidden()
    with qtbot.waitSignal(page.saved, timeout=5000):
        page.form.strategy.setCurrentIndex(page.form.strategy.findData("weighted"))
    route = route_in_force(page, "chain")
    assert route.strategy == "weighted" and [t.weight for t in route.targets] == [33.0, 33.0, 33.0]
    sliders = [
        page.targets.weights_form.itemAt(r, page.targets.weights_form.ItemRole.FieldRole).layout().itemAt(0).widget()
        for r in range(page.targets.weights_form.rowCount())
    ]
    assert len(sliders) == 3
    with qtbot.waitSignal(page.saved, timeout=5000):
        sliders[0].setValue(80)
    assert [t.weight for t in route_in_force(page, "chain").targets] == [80.0, 33.0, 33.0]


def test_ab_split_fallback_settings_cache_and_limits_round_trip(qtbot, page):
    select(page, "chain")
    with qtbot.waitSignal(page.saved, timeout=5000):
        page.split_variants()
    route = route_in_force(page, "chain")
    assert [v.name for v in route.variants] == ["a", "b"] and not route.targets
    with qtbot.waitSignal(page.saved, timeout=5000):
        page.form.triggers["rate_limits"].setChecked(False)
        page.form.retries.setValue(2)
        page.form.budget.setValue(30)
        page.form.cache_on.setChecked(True)
        page.form.rpm.setValue(120)
        page.form.daily.setValue(5)
    route = route_in_force(page, "chain")
    assert route.triggers.rate_limits is False and route.retries.max_retries == 2 and route.retries.budget == 30
    assert route.cache.enabled and route.limits.requests_per_minute == 120 and route.limits.daily_usd == 5
    with qtbot.waitSignal(page.saved, timeout=5000):
        page.remove_variant()  # one left: back to plain targets
    assert not route_in_force(page, "chain").variants


def test_a_new_route_without_a_name_is_refused_in_words(qtbot, page, monkeypatch):
    before = len(page.bridge.api.history())
    monkeypatch.setattr("desktop.windows.routing.page.QInputDialog.getText", lambda *a, **k: ("  ", True))
    page.new_route()
    assert page.status.text().startswith("Not added: a route needs a name")
    monkeypatch.setattr("desktop.windows.routing.page.QInputDialog.getText", lambda *a, **k: ("demo", True))
    page.new_route()
    assert page.status.text().startswith("Not added: There is already a route named “demo”"), page.status.text()
    assert len(page.bridge.api.history()) == before


def test_build_a_three_target_route_test_it_simulate_a_failure_and_roll_back(qtbot, page, monkeypatch):
    bridge = page.bridge
    monkeypatch.setattr("desktop.windows.routing.page.QInputDialog.getText", lambda *a, **k: ("trio", True))
    page.targets.add_provider.setCurrentText("alpha")
    page.targets.add_model.setEditText("echo")
    with qtbot.waitSignal(bridge.config_applied, timeout=5000):
        page.new_route()
    qtbot.waitUntil(lambda: page.original_name == "trio" and page.route is not None and page.route["name"] == "trio")
    for provider in ("beta", "gamma"):
        page.targets.add_provider.setCurrentText(provider)
        page.targets.add_model.setEditText("echo")
        page.targets.add_button.click()
    with qtbot.waitSignal(page.saved, timeout=5000):
        page.save_now()
    assert order(page, "trio") == ["alpha", "beta", "gamma"]

    with qtbot.waitSignal(bridge.routing.route_tested, timeout=10000) as tested:
        page.trying.test_button.click()
    result = tested.args[0]
    assert result.ok and result.provider == "alpha" and result.model == "echo" and result.attempts == 1
    assert "Answered by alpha / echo" in page.trying.test_result.text()

    page.trying.fault_target.setCurrentIndex(page.trying.fault_target.findData("alpha\techo"))
    page.trying.fault_kind.setCurrentIndex(page.trying.fault_kind.findData("error"))
    assert page.trying.fault_count.value() == 2  # by default enough to use up the route's retries (1) on that target
    page.trying.simulate_button.click()
    assert "alpha / echo: 2× server error (500)" in page.trying.pending.text()
    seen = {r.id for r in bridge.activity.recent(50)}
    with qtbot.waitSignal(bridge.request_logged, timeout=10000, check_params_cb=lambda r: r.id not in seen) as logged:
        page.trying.test_button.click()
    record = logged.args[0]
    assert record.status == "ok" and record.attempts == 3 and record.provider == "beta"
    attempts = json.loads(record.attempt_log)
    assert [(a["target"], a["status"]) for a in attempts] == [
        ("alpha/echo", 500),
        ("alpha/echo", 500),
        ("beta/echo", 200),
    ]
    qtbot.waitUntil(lambda: "Answered by beta / echo" in page.trying.test_result.text())
    assert "after 3 attempts" in page.trying.test_result.text()
    assert page.trying.pending.text() == "No failures simulated."

    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    page.show_history()
    dialog = page.history
    qtbot.waitUntil(lambda: dialog.versions.count() >= 3)
    assert "route trio: targets" in dialog.versions.item(0).text()
    dialog.versions.setCurrentRow(1)  # "add route trio": its diff against the version before
    qtbot.waitUntil(lambda: '+      "name": "trio",' in dialog.diff.toPlainText())
    assert "add route trio" in dialog.versions.item(1).text()
    dialog.versions.setCurrentRow(2)  # the version before "trio" existed
    with qtbot.waitSignal(bridge.config_applied, timeout=5000):
        dialog.rollback_button.click()
    qtbot.waitUntil(lambda: all(r.name != "trio" for r in page.config().routes))
    qtbot.waitUntil(lambda: "Rolled back to version" in dialog.status.text())
    assert all(page.routes.item(r).data(Qt.ItemDataRole.UserRole) != "trio" for r in range(page.routes.count()))
    qtbot.waitUntil(lambda: "rollback to version" in dialog.versions.item(0).text())
    assert dialog.count.text() == "4 versions kept"  # initial, add trio, edit trio, rollback
    dialog.close()


def test_unticking_a_route_turns_it_off(qtbot, page):
    item = page.routes.item(0)
    assert item.data(Qt.ItemDataRole.UserRole) == "demo"
    select(page, "chain")
    with qtbot.waitSignal(page.bridge.config_applied, timeout=5000):
        item.setCheckState(Qt.CheckState.Unchecked)
    assert route_in_force(page, "demo").enabled is False


def test_describe_change():
    old = {"name": "r", "targets": [{"provider": "p", "model": "a"}, {"provider": "p", "model": "b"}]}
    new = {"name": "r", "targets": old["targets"][::-1], "strategy": "weighted"}
    assert describe_change(old, new) == "route r: fallback order p / b → p / a; strategy weighted"
    assert describe_change(None, new) == "add route r"


def test_an_edit_while_a_stream_runs_does_not_drop_it(qtbot, page):
    """Streams in flight keep the config they started with; the edit applies to the next request."""
    import urllib.request

    from tests.desktop.conftest import ACCESS_KEY

    select(page, "chain")
    chunks: list[bytes] = []

    def stream() -> None:
        body = {"model": "chain", "stream": True, "messages": [{"role": "user", "content": "one two three " * 20}]}
        request = urllib.request.Request(
            f"{page.bridge.base_url}/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            chunks.extend(response)

    slow = {"pace_ms": 40}  # 60 words: about 2.4 s
    with qtbot.waitSignal(page.bridge.config_applied, timeout=5000):  # make alpha stream slowly
        page.bridge.config.update("slow alpha", lambda d: d["providers"][1].update(demo=slow))
    with qtbot.waitSignal(page.bridge.request_finished, timeout=20000) as finished:
        worker = in_worker(stream)
        qtbot.wait(200)  # the stream is under way
        with qtbot.waitSignal(page.saved, timeout=5000):
            drag(page.targets.model, 2, 0)
        assert worker.is_alive(), "the stream ended before the edit was applied"
    worker.join(20)
    assert finished.args[0].status == "ok" and finished.args[0].provider == "alpha"
    assert chunks[-1].strip() == b"" or b"[DONE]" in b"".join(chunks[-3:])
    assert order(page, "chain") == ["gamma", "alpha", "beta"]
