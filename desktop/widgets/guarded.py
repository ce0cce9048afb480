"""Value widgets that the mouse wheel changes only while they have the keyboard focus.

Scrolling a page past a number box, a slider, a list of choices or a row of tabs must scroll the
page, never change the value under the pointer. Every page uses these instead of the plain Qt
classes (``QSpinBox``, ``QDoubleSpinBox``, ``QComboBox``, ``QSlider``, ``QTabBar``); a test walks
every page and fails on a plain one.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator, QWheelEvent
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSlider, QSpinBox, QTabBar, QTabWidget, QWidget


class WheelGuard:
    """Mixin for value widgets: the wheel changes them only while they have the keyboard focus
    (otherwise the wheel scrolls the page), and the wheel never gives them the focus."""

    def _guard(self) -> None:
        assert isinstance(self, QWidget)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt's name
        assert isinstance(self, QWidget)
        if self.hasFocus():
            super().wheelEvent(event)  # type: ignore[misc]  # the Qt class after this mixin
        else:
            event.ignore()  # to the scroll area around it


class RangeGuard:
    """Mixin for number boxes: a number typed outside the range is not clamped or dropped in
    silence. The box lets it be typed, says so with ``out_of_range(text)``, and keeps its last
    valid value when editing ends (Qt's "correct to previous value")."""

    def validate(self, text: str, pos: int) -> Any:
        assert isinstance(self, (QSpinBox, QDoubleSpinBox))
        state, fixed, where = super().validate(text, pos)  # type: ignore[misc]  # the Qt class after this mixin
        if state == QValidator.State.Invalid:
            bare = text.removeprefix(self.prefix()).removesuffix(self.suffix()).strip().replace(",", "")
            try:
                float(bare)
            except ValueError:
                return state, fixed, where
            self.out_of_range.emit(bare)  # type: ignore[union-attr]  # each class declares it
            return QValidator.State.Intermediate, text, pos
        return state, fixed, where


class SpinBox(WheelGuard, RangeGuard, QSpinBox):
    """Signals: out_of_range(str): the user typed this number, outside the box's range."""

    out_of_range = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._guard()
        self.setCorrectionMode(QSpinBox.CorrectionMode.CorrectToPreviousValue)


class DoubleSpinBox(WheelGuard, RangeGuard, QDoubleSpinBox):
    """Signals: out_of_range(str): the user typed this number, outside the box's range."""

    out_of_range = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._guard()
        self.setCorrectionMode(QDoubleSpinBox.CorrectionMode.CorrectToPreviousValue)


class ComboBox(WheelGuard, QComboBox):
    def __init__(self) -> None:
        super().__init__()
        self._guard()


class Slider(WheelGuard, QSlider):
    def __init__(self, orientation: Qt.Orientation = Qt.Orientation.Horizontal) -> None:
        super().__init__(orientation)
        self._guard()


class TabBar(WheelGuard, QTabBar):
    def __init__(self) -> None:
        super().__init__()
        self._guard()


class TabWidget(QTabWidget):
    """A tab widget whose tabs the wheel switches only while the tab bar has the focus."""

    def __init__(self) -> None:
        super().__init__()
        self.setTabBar(TabBar())
