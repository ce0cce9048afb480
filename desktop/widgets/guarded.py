"""Value widgets that the mouse wheel changes only while they have the keyboard focus.

Scrolling a page past a number box, a slider, a list of choices or a row of tabs must scroll the
page, never change the value under the pointer. Every page uses these instead of the plain Qt
classes (``QSpinBox``, ``QDoubleSpinBox``, ``QComboBox``, ``QSlider``, ``QTabBar``); a test walks
every page and fails on a plain one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
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


class SpinBox(WheelGuard, QSpinBox):
    def __init__(self) -> None:
        super().__init__()
        self._guard()


class DoubleSpinBox(WheelGuard, QDoubleSpinBox):
    def __init__(self) -> None:
        super().__init__()
        self._guard()


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
