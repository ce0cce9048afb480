"""Card frames and labels that follow the palette, also when it changes while the app runs.

Style sheets and fixed label palettes are resolved once; when the system switches between light
and dark, these widgets redraw from the new palette instead (Qt sends them
``ApplicationPaletteChange``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QVBoxLayout

FAINT = 0.65
"""Opacity of secondary text (captions, details)."""


class Card(QFrame):
    """A rounded panel in the palette's base colour with a thin border."""

    def __init__(self) -> None:
        super().__init__()
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 8, 8)


def card() -> tuple[Card, QVBoxLayout]:
    frame = Card()
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(14, 12, 14, 12)
    layout.setSpacing(4)
    return frame, layout


class FaintLabel(QLabel):
    """Secondary text: the palette's text colour, partly transparent."""

    def __init__(self, text: str = "") -> None:
        self._is_applying = False
        super().__init__(text)
        self._apply()

    def _apply(self) -> None:
        self._is_applying = True  # setPalette sends PaletteChange: do not answer our own change
        try:
            base = QApplication.palette(self)
            palette = QPalette(base)
            color = QColor(base.color(QPalette.ColorRole.WindowText))
            color.setAlphaF(FAINT)
            palette.setColor(QPalette.ColorRole.WindowText, color)
            self.setPalette(palette)
        finally:
            self._is_applying = False

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        kinds = (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange)
        if event.type() in kinds and not self._is_applying:
            self._apply()
        super().changeEvent(event)


def scaled_label(text: str = "", scale: float = 1.0, *, bold: bool = False, faint: bool = False) -> QLabel:
    """A plain-text label, its font scaled (and bold), faint for secondary text."""
    label = FaintLabel(text) if faint else QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # texts may come from the network
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(bold)
    label.setFont(font)
    return label
