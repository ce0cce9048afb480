"""ChartWidget: a small time-series chart drawn with QPainter (lines or stacked bars).

Why QPainter and not QtCharts: QtCharts ships only in the heavy ``pyside6-addons`` wheel, and the
dashboard needs little: a y axis with round ticks, time labels, a legend, a hover band with a
tooltip. Colours come from the widget's palette (text, grid, card) plus a few series hues picked
for the palette's lightness, so light and dark themes both read well.

The data is plain: bucket start times (Unix seconds), the bucket width, and series of values per
bucket (``None`` = no value, e.g. no latency in an empty minute). :attr:`ChartWidget.series`
keeps exactly what is drawn, for tests and tooltips.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

Kind = Literal["line", "bar"]

# Hues that read on white and on near-black cards (lightness is adjusted to the palette).
_HUES = {"blue": 212, "red": 2, "orange": 30, "green": 145, "purple": 270, "teal": 180}


def series_color(palette: QPalette, name: str) -> QColor:
    """A series colour by hue name, darker on light themes and lighter on dark ones."""
    is_dark = palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5
    return QColor.fromHslF(_HUES[name] / 360, 0.70 if is_dark else 0.75, 0.65 if is_dark else 0.45)


def short_number(value: float) -> str:
    """1234 -> 1.2k, 0.5 -> 0.5, 2_000_000 -> 2M."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    if size >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2g}"


def nice_ticks(top: float, count: int = 4, whole: bool = False) -> list[float]:
    """Round tick values from 0 to at least ``top`` (``count`` intervals or so); ``whole``: for
    counts (requests, tokens), every tick a whole number (a step of 1 at least, never 2.5)."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    if whole and raw <= 1:
        step: float = 1
    else:
        magnitude = 10 ** math.floor(math.log10(raw))
        steps = [m * magnitude for m in (1, 2, 2.5, 5, 10)]
        step = next(m for m in steps if m >= raw and (not whole or m == int(m)))
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]
    color: str = "blue"
    """A hue name from ``_HUES``."""
    kind: Kind = "line"
    connect_gaps: bool = False
    """Lines: draw across buckets without a value instead of breaking (sparse data reads better)."""


class ChartWidget(QWidget):
    """A titled chart of one or more series over time buckets.

    Bar series are stacked in the order given; line series are drawn over them. Hovering shows a
    band over the bucket and a tooltip with its time and every series' value.
    """

    def __init__(
        self,
        title: str,
        value_format: Callable[[float], str] = short_number,
        parent: QWidget | None = None,
        *,
        whole: bool = False,
    ) -> None:
        """``whole``: the values are counts, so the y axis has whole-number ticks only."""
        super().__init__(parent)
        self.title = title
        self.value_format = value_format
        self.whole = whole
        self.starts: tuple[float, ...] = ()
        self.bucket_seconds = 60.0
        self.series: tuple[Series, ...] = ()
        self.hovered: int | None = None
        self.paint_count = 0
        self.setMouseTracking(True)
        self.setMinimumSize(280, 190)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAccessibleName(f"{title} chart")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 220)

    def set_data(self, starts: Sequence[float], bucket_seconds: float, series: Sequence[Series]) -> None:
        for s in series:
            if len(s.values) != len(starts):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(starts)} buckets")
        self.starts = tuple(starts)
        self.bucket_seconds = bucket_seconds
        self.series = tuple(series)
        self.hovered = None
        self.setAccessibleDescription(self.describe())
        self.update()

    def describe(self) -> str:
        """The totals in words (for screen readers)."""
        parts = []
        for s in self.series:
            values = [v for v in s.values if v is not None]
            if values:
                parts.append(f"{s.name}: max {self.value_format(max(values))}")
        return f"{self.title}. " + ("; ".join(parts) if parts else "no data")

    def ticks(self) -> list[float]:
        """The y axis' tick values for the data shown (from 0)."""
        return nice_ticks(self._top_value(), whole=self.whole)

    # -- geometry ------------------------------------------------------------------------------

    def _top_value(self) -> float:
        stacked = [0.0] * len(self.starts)
        top = 0.0
        for s in self.series:
            for i, v in enumerate(s.values):
                if v is None:
                    continue
                if s.kind == "bar":
                    stacked[i] += v
                    top = max(top, stacked[i])
                else:
                    top = max(top, v)
        return top

    def _plot_rect(self, painter: QPainter, ticks: list[float]) -> QRectF:
        metrics = painter.fontMetrics()
        label_width = max(metrics.horizontalAdvance(self.value_format(t)) for t in ticks)
        top = metrics.height() * 2 + 14
        return QRectF(
            14 + label_width + 8, top, self.width() - label_width - 36, self.height() - top - metrics.height() - 18
        )

    def _time_label(self, start: float) -> str:
        local = time.localtime(start)
        if self.bucket_seconds >= 86400:
            return time.strftime("%d %b", local).lstrip("0")
        return time.strftime("%H:%M", local)

    def _index_at(self, x: float) -> int | None:
        if not self.starts or not hasattr(self, "_last_plot"):
            return None
        plot: QRectF = self._last_plot
        if not plot.left() <= x <= plot.right():
            return None
        return min(len(self.starts) - 1, int((x - plot.left()) / plot.width() * len(self.starts)))

    # -- painting ------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        self.paint_count += 1
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        faint = QColor(text)
        faint.setAlphaF(0.6)
        grid = QColor(text)
        grid.setAlphaF(0.12)

        card = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(card, 8, 8)

        title_font = QFont(self.font())
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(text)
        metrics = painter.fontMetrics()
        painter.drawText(QPointF(14, 10 + metrics.ascent()), self.title)
        painter.setFont(self.font())
        self._draw_legend(painter, 10 + painter.fontMetrics().ascent(), text)

        ticks = self.ticks()
        plot = self._plot_rect(painter, ticks)
        self._last_plot = plot
        top = ticks[-1]

        def y_of(value: float) -> float:
            return plot.bottom() - value / top * plot.height()

        for t in ticks:  # grid and y labels
            y = y_of(t)
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(faint)
            label = self.value_format(t)
            width = painter.fontMetrics().horizontalAdvance(label)
            painter.drawText(QPointF(plot.left() - 8 - width, y + painter.fontMetrics().ascent() / 2 - 1), label)

        n = len(self.starts)
        if n == 0 or not any(v for s in self.series for v in s.values if v):
            painter.setPen(faint)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No requests in this period")
            self._draw_x_labels(painter, plot, faint)
            return
        slot = plot.width() / n
        if self.hovered is not None:
            band = QColor(palette.color(QPalette.ColorRole.Highlight))
            band.setAlphaF(0.14)
            painter.fillRect(QRectF(plot.left() + self.hovered * slot, plot.top(), slot, plot.height()), band)

        stacked = [0.0] * n
        gap = min(slot * 0.25, 4.0) if slot > 3 else 0.0
        for s in self.series:
            if s.kind != "bar":
                continue
            color = series_color(palette, s.color)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            for i, v in enumerate(s.values):
                if not v:
                    continue
                y0, y1 = y_of(stacked[i]), y_of(stacked[i] + v)
                stacked[i] += v
                painter.drawRect(QRectF(plot.left() + i * slot + gap / 2, y1, max(1.0, slot - gap), y0 - y1))
        for s in self.series:
            if s.kind == "line":
                self._draw_line(painter, s, plot, slot, y_of, len([x for x in self.series if x.kind == "line"]) == 1)
        painter.setPen(QPen(grid, 1))
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        self._draw_x_labels(painter, plot, faint)

    def _draw_line(
        self, painter: QPainter, s: Series, plot: QRectF, slot: float, y_of: Callable[[float], float], fill: bool
    ) -> None:
        color = series_color(self.palette(), s.color)
        runs: list[list[QPointF]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                if runs[-1] and not s.connect_gaps:
                    runs.append([])
                continue
            runs[-1].append(QPointF(plot.left() + (i + 0.5) * slot, y_of(v)))
        for points in runs:
            if not points:
                continue
            path = QPainterPath(points[0])
            for p in points[1:]:
                path.lineTo(p)
            if fill and len(points) > 1:
                area = QPainterPath(path)
                area.lineTo(points[-1].x(), plot.bottom())
                area.lineTo(points[0].x(), plot.bottom())
                area.closeSubpath()
                shade = QColor(color)
                shade.setAlphaF(0.15)
                painter.fillPath(area, shade)
            painter.setPen(QPen(color, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            if len(points) == 1 or slot >= 12:  # dots where points are few (a lone point has no line)
                painter.setBrush(color)
                for p in points:
                    painter.drawEllipse(p, 2.5, 2.5)

    def _draw_legend(self, painter: QPainter, baseline: float, text: QColor) -> None:
        metrics = painter.fontMetrics()
        x = self.width() - 14.0
        for s in reversed(self.series):
            width = metrics.horizontalAdvance(s.name)
            x -= width
            painter.setPen(text)
            painter.drawText(QPointF(x, baseline), s.name)
            x -= 14
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(series_color(self.palette(), s.color))
            painter.drawRoundedRect(QRectF(x, baseline - metrics.ascent() / 2 - 4, 9, 9), 2, 2)
            x -= 14

    def _label_indexes(self, slot: float, room: float) -> list[int]:
        """Buckets to label: a round step (every 5, 10, 15… minutes; 1, 2, 3, 6… hours; 1, 2, 7…
        days) wide enough for the labels, on round clock times."""
        need = room / slot
        steps: tuple[int, ...]
        if self.bucket_seconds >= 86400:
            steps, unit = (1, 2, 3, 5, 7, 10, 14, 30), None
        else:
            unit = self.bucket_seconds
            steps = tuple(m * 60 // int(unit) for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720) if m * 60 >= unit)
        every = next((s for s in steps if s >= need), max(1, math.ceil(need)))
        n = len(self.starts)
        if unit is None:  # days: count back from today, so the newest day is labelled
            return [i for i in range(n) if (n - 1 - i) % every == 0]
        offset = time.localtime(self.starts[0]).tm_gmtoff
        return [i for i, start in enumerate(self.starts) if round((start + offset) / unit) % every == 0]

    def _draw_x_labels(self, painter: QPainter, plot: QRectF, color: QColor) -> None:
        n = len(self.starts)
        if not n:
            return
        metrics = painter.fontMetrics()
        slot = plot.width() / n
        room = metrics.horizontalAdvance("00 May") + 24
        painter.setPen(color)
        y = plot.bottom() + 6 + metrics.ascent()
        for i in self._label_indexes(slot, room):
            label = self._time_label(self.starts[i])
            x = plot.left() + (i + 0.5) * slot - metrics.horizontalAdvance(label) / 2
            x = max(plot.left() - 4, min(x, plot.right() - metrics.horizontalAdvance(label) + 4))
            painter.drawText(QPointF(x, y), label)

    # -- hover ---------------------------------------------------------------------------------

    def tooltip_text(self, index: int) -> str:
        start = self.starts[index]
        fmt = "%d %b" if self.bucket_seconds >= 86400 else "%H:%M"
        when = time.strftime(fmt, time.localtime(start)).lstrip("0")
        if self.bucket_seconds < 86400:
            when += "–" + time.strftime("%H:%M", time.localtime(start + self.bucket_seconds))
        lines = [when]
        for s in self.series:
            v = s.values[index]
            lines.append(f"{s.name}: {'–' if v is None else self.value_format(v)}")
        return "\n".join(lines)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        index = self._index_at(event.position().x())
        if index != self.hovered:
            self.hovered = index
            self.update()
        if index is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_text(index), self)

    def leaveEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self.hovered = None
        QToolTip.hideText()
        self.update()
