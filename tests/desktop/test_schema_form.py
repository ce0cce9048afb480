"""Form widgets bound to the config schema: each field's range, unset value and tooltip come from
pydantic, values go to and from the model's plain data unchanged, and the wheel changes a value
only in the widget that has the keyboard focus."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from desktop.widgets.guarded import ComboBox, Slider, SpinBox
from desktop.widgets.schema_form import SchemaForm
from desktop.windows.routing.form import RouteForm
from proxy.api import CacheConfig, FallbackTriggers, RetryPolicy, RouteConfig

ROUTE = RouteConfig.model_validate(
    {
        "name": "tuned",
        "description": "a note",
        "targets": [{"provider": "p", "model": "m"}],
        "strategy": "lowest-cost",
        "triggers": {"rate_limits": False},
        "retries": {"max_retries": 3, "budget": 30},
        "cooldown": {"failures": 5000, "seconds": 10},
        "hedge_after_ms": 500,
        "cache": {"enabled": True, "ttl": 120},
        "limits": {"requests_per_minute": 100, "daily_usd": 2.5},
        "enabled": False,
    }
)


@pytest.fixture
def form(qtbot) -> RouteForm:
    return RouteForm()


def test_ranges_and_tooltips_come_from_the_schema(form):
    assert (form.retries.minimum(), form.retries.maximum()) == (0, 10)  # RetryPolicy: ge=0, le=10
    assert (form.budget.minimum(), form.budget.maximum()) == (1, 3600)  # gt=0 in whole seconds, le=3600
    assert (form.cooldown_failures.minimum(), form.cooldown_failures.maximum()) == (1, 1_000_000)
    assert (form.cache_ttl.minimum(), form.cache_ttl.maximum()) == (1, 30 * 24 * 60)  # seconds shown as minutes
    assert (form.hedge.minimum(), form.hedge.maximum(), form.hedge.specialValueText()) == (0, 600_000, "off")
    assert form.rpm.maximum() == 1_000_000 and form.rpm.specialValueText() == "no limit"  # unbounded: the cap
    assert form.cache_on.toolTip() == CacheConfig.model_fields["enabled"].description
    assert form.triggers["auth_errors"].toolTip() == FallbackTriggers.model_fields["auth_errors"].description
    assert form.retries.toolTip() == RetryPolicy.model_fields["max_retries"].description
    assert form.budget.toolTip().startswith("Time for all attempts")  # the page's own words, where it has them
    assert form.label(form.retries) == "Retries on the same target"


def test_a_route_goes_through_the_form_unchanged(form):
    data = ROUTE.model_dump()
    form.load(data)
    assert form.strategy.currentData() == "lowest-cost" and not form.enabled.isChecked()
    assert form.hedge.value() == 500 and form.cache_ttl.value() == 2 and form.daily.value() == 2.5
    assert form.tpm.text() == "no limit"
    stored = ROUTE.model_dump()
    form.store(stored)
    assert stored == data
    assert RouteConfig.model_validate(stored) == ROUTE


def test_edits_are_read_back_and_unset_values_are_none(qtbot, form):
    form.load(ROUTE.model_dump())
    edited: list[bool] = []
    form.edited.connect(lambda: edited.append(True))
    form.hedge.setValue(form.hedge.minimum())  # "off"
    form.retries.setValue(7)
    form.name.setText("  renamed ")
    form.name.textEdited.emit("  renamed ")
    values = form.values()
    assert values["hedge_after_ms"] is None and values["retries.max_retries"] == 7 and values["name"] == "renamed"
    assert len(edited) == 3
    form.load(ROUTE.model_dump())  # loading is not an edit
    assert len(edited) == 3


def test_a_misspelt_or_doubled_field_fails_at_once(qtbot):
    form = SchemaForm(RouteConfig)
    with pytest.raises(KeyError, match="max_retry"):
        form.number("retries.max_retry")
    form.number("retries.max_retries")
    with pytest.raises(ValueError, match="bound twice"):
        form.number("retries.max_retries")


def wheel(widget: QWidget) -> None:
    event = QWheelEvent(
        QPointF(5, 5),
        QPointF(widget.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, 120),  # one notch up
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_changes_only_the_focused_widget(qtbot):
    window = QWidget()
    layout = QVBoxLayout(window)
    spin, combo, slider = SpinBox(), ComboBox(), Slider()
    spin.setRange(0, 10)
    combo.addItems(["a", "b", "c"])
    combo.setCurrentIndex(1)
    slider.setRange(0, 100)
    slider.setValue(50)
    for widget in (spin, combo, slider):
        layout.addWidget(widget)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    for widget in (spin, combo, slider):
        assert widget.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel never gives focus
    before = (spin.value(), combo.currentIndex(), slider.value())
    for widget in (spin, combo, slider):
        wheel(widget)  # scrolling the page past them
    assert (spin.value(), combo.currentIndex(), slider.value()) == before
    window.activateWindow()
    for widget in (spin, combo, slider):
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus)
        wheel(widget)
    assert spin.value() == 1 and combo.currentIndex() == 0 and slider.value() != 50


def test_settings_are_bound_to_the_config_fields(qtbot, bridge, tmp_path):
    from desktop.autostart import XdgAutostart
    from desktop.windows.settings import SettingsPage
    from proxy.api import LoggingConfig, ServerConfig

    page = SettingsPage(bridge, XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(page)
    # the page reads "start at login" on a worker whose target is the page itself: let it finish, so the
    # page's last reference is never dropped on that thread (a widget must die on the GUI thread)
    qtbot.waitUntil(page.login.isEnabled)
    assert (page.port.minimum(), page.port.maximum()) == (0, 65535)
    assert (page.retention.minimum(), page.retention.maximum()) == (1, 3650)
    assert page.port.toolTip() == ServerConfig.model_fields["port"].description
    assert page.store_bodies.toolTip() == LoggingConfig.model_fields["store_bodies"].description
    assert set(page.form.values()) == {
        "server.port",
        "server.require_auth",
        "logging.store_bodies",
        "logging.retention_days",
    }
    qtbot.waitUntil(lambda: not any(t.name == "switchboard-autostart" for t in threading.enumerate()))


# -- issue 22: plain words, and no silent clamping ------------------------------------------------


def test_problems_name_the_field_and_say_the_rule_in_words() -> None:
    from pydantic import ValidationError

    from desktop.widgets.schema_form import plain_problems
    from proxy.api import GatewayConfig, ProviderConfig

    def problems(model, data):
        with pytest.raises(ValidationError) as err:
            model.model_validate(data)
        return plain_problems(err.value, model)

    assert problems(ProviderConfig, {"id": "", "preset": "custom", "base_url": "https://x.example/v1"}) == [
        "“Name” cannot be empty."
    ]
    route = {"targets": [{"provider": "demo", "model": "echo"}]}
    data = {"providers": [{"id": "demo", "preset": "demo"}]}
    assert problems(GatewayConfig, {**data, "routes": [{**route, "name": "fast"}, {**route, "name": "fast"}]}) == [
        "There is already a route named “fast”: give this one another name."
    ]
    assert problems(GatewayConfig, {**data, "routes": [{**route, "name": ""}]}) == ["“Route name” cannot be empty."]
    assert problems(GatewayConfig, {"server": {"port": 99999}}) == ["“Port” must be from 0 to 65,535."]


def test_a_number_out_of_range_is_refused_with_the_range_not_clamped(qtbot) -> None:
    from proxy.api import GatewayConfig

    form = SchemaForm(GatewayConfig)
    port = form.number("server.port", "Port")
    qtbot.addWidget(port)
    form.load({"server": {"port": 4141}})
    port.show()
    port.setFocus()
    port.selectAll()
    refused: list[str] = []
    form.refused.connect(refused.append)
    qtbot.keyClicks(port, "99999")
    assert refused and refused[-1] == "“Port” must be from 0 to 65,535: 99999 is out of range, so it was not taken."
    port.interpretText()
    qtbot.keyClick(port, Qt.Key.Key_Tab)
    port.clearFocus()
    assert form.values()["server.port"] != 65535  # never clamped to the top of the range
