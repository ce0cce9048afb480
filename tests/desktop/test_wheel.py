"""The wheel never changes a value the user has not focused, on any page: every number box,
slider, list of choices and row of tabs is a guarded one, and a wheel over each unfocused one
leaves its value (and the saved config) as it was."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QSpinBox,
    QTabBar,
    QWidget,
)

from desktop.autostart import XdgAutostart
from desktop.widgets.guarded import WheelGuard
from desktop.windows.first_run import FirstRunWizard
from desktop.windows.main import PAGES, MainWindow


def wheel(widget: QWidget, notch: int) -> None:
    event = QWheelEvent(
        QPointF(5, 5),
        QPointF(widget.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, 120 * notch),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def value_widgets(root: QWidget) -> Iterator[QWidget]:
    """Every widget under ``root`` the wheel could change (scroll bars only scroll)."""
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QScrollBar) or widget.parent() is not None and isinstance(widget.parent(), QComboBox):
            continue
        if isinstance(widget, QAbstractSpinBox | QComboBox | QAbstractSlider | QTabBar):
            yield widget


def value(widget: QWidget) -> object:
    if isinstance(widget, QComboBox | QTabBar):
        return widget.currentIndex()
    if isinstance(widget, QAbstractSpinBox):
        return widget.text()
    assert isinstance(widget, QAbstractSlider)
    return widget.value()


def assert_wheel_changes_nothing(root: QWidget, where: str) -> int:
    """Wheel up and down over every unfocused value widget under ``root``; returns how many."""
    seen = 0
    for widget in value_widgets(root):
        name = f"{where}: {type(widget).__name__} {widget.accessibleName() or widget.objectName()!r}"
        assert isinstance(widget, WheelGuard), f"{name} is not guarded"
        assert not widget.hasFocus()
        before = value(widget)
        for notch in (1, -1, -1, 1):  # one way and the other: a plain box moves on one of them
            wheel(widget, notch)
            assert value(widget) == before, name
        seen += 1
    return seen


def test_no_page_changes_a_value_under_the_wheel(qtbot, started, tmp_path) -> None:
    window = MainWindow(started, starter=XdgAutostart(config_home=tmp_path / "xdg"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.sidebar.setFocus()
    config_file = started.api.paths.config_file
    saved = config_file.read_text() if config_file.exists() else None  # zero-config: no file yet
    config = started.config.current
    seen = 0
    for name in PAGES:
        window.show_page(name)
        seen += assert_wheel_changes_nothing(window.pages[name], name)
    assert seen >= 10  # the providers' preset, the log's filters, the tabs, Settings, Routing...
    settings = window.pages["Settings"]
    assert isinstance(settings.port, QSpinBox) and settings.port.value() == config.server.port
    assert started.config.current == config and (config_file.read_text() if config_file.exists() else None) == saved


def test_the_first_run_wizard_changes_nothing_under_the_wheel(qtbot, started) -> None:
    wizard = FirstRunWizard(started)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    wizard.button(wizard.WizardButton.NextButton).setFocus()
    seen = 0
    for page_id in wizard.pageIds():
        seen += assert_wheel_changes_nothing(wizard.page(page_id), f"wizard page {page_id}")
    assert seen >= 2  # the provider preset and the model name


def test_the_same_wheel_moves_a_plain_combo_box(qtbot) -> None:
    """The control: the same wheel changes a plain combo box (so the tests above are real)."""
    window = QWidget()
    plain = QComboBox(window)
    plain.addItems(["a", "b", "c"])
    plain.setCurrentIndex(1)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    wheel(plain, 1)
    assert plain.currentIndex() != 1
