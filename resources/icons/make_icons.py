"""Draw Switchboard's icons with QPainter (run by hand; the PNGs are committed next to it).

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/icons/make_icons.py

The glyph is a patch cord shaped like an "S", plugged into a jack at each end: the
switchboard that connects your tools to your models. Three states:

* ``switchboard``: running (blue);
* ``switchboard-paused``: not serving, e.g. starting or stopping (grey, with a pause badge);
* ``switchboard-error``: the gateway is down (red, with a "!" badge).

The badges are there so the states differ in shape, not only in colour. Each state is drawn at
16, 32, 64 and 256 px: ``switchboard.png`` is the 64 px one, the others carry the size
(``switchboard-16.png``). The 16 px icon is drawn on its own pixel grid (2 px strokes on pixel
edges, whole-pixel badge marks) rather than scaled down, so it stays crisp in a tray.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

HERE = Path(__file__).parent
SIZES = (16, 32, 64, 256)
STATES = {"": "running", "-paused": "paused", "-error": "error"}
FILL = {  # (square, badge)
    "running": ("#3478f0", "#1d4ed8"),
    "paused": ("#7d8696", "#4b5563"),
    "error": ("#e5484d", "#a61b1f"),
}
INK = QColor("#ffffff")


@dataclass(frozen=True)
class Layout:
    """Glyph geometry in pixels for one icon size (the "S" cord spans three rows)."""

    radius: float  # corner radius of the square
    rows: tuple[float, float, float]  # y of the top, middle and bottom strokes
    left: float  # x where the left bend starts (the cord's left end sits further left)
    right: float  # x where the right bend starts
    ends: tuple[float, float]  # x of the top-right and bottom-left jacks
    jack_r: float
    cord: float  # cord (line) width


def layout(size: int) -> Layout:
    if size == 16:  # hand-placed on the pixel grid: 2 px strokes on pixel edges stay sharp
        return Layout(3.5, (4, 8, 12), 6, 10, (11.5, 4.5), 2.25, 2.0)
    s = size / 64.0
    return Layout(14 * s, (17 * s, 32 * s, 47 * s), 25 * s, 39 * s, (46 * s, 18 * s), 6.5 * s, 6 * s)


def draw_glyph(p: QPainter, g: Layout) -> None:
    """A patch cord shaped like an S, plugged in at both ends."""
    top, mid, bottom = g.rows
    r = (mid - top) / 2
    path = QPainterPath(QPointF(g.ends[0], top))
    path.lineTo(g.left, top)
    path.arcTo(QRectF(g.left - r, top, 2 * r, 2 * r), 90, 180)  # left bend, top -> middle
    path.lineTo(g.right, mid)
    path.arcTo(QRectF(g.right - r, mid, 2 * r, 2 * r), 90, -180)  # right bend, middle -> bottom
    path.lineTo(g.ends[1], bottom)
    p.setPen(QPen(INK, g.cord, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(INK)
    for jack in (QPointF(g.ends[0], top), QPointF(g.ends[1], bottom)):
        p.drawEllipse(jack, g.jack_r, g.jack_r)


def draw_badge(p: QPainter, size: int, state: str) -> None:
    """A round badge in the lower right corner, set off from the square by a transparent ring."""
    if state == "running":
        return
    small = size == 16
    d = 8.0 if small else size * 0.44
    box = QRectF(size - d, size - d, d, d)
    ring = 1.0 if small else size / 32
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(Qt.GlobalColor.black)
    p.drawEllipse(box.adjusted(-ring, -ring, ring, ring))
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    p.setBrush(QColor(FILL[state][1]))
    p.drawEllipse(box)
    p.setBrush(INK)
    if small:  # whole pixels: a blurred 1 px mark is unreadable
        marks = [(10, 10, 1, 4), (13, 10, 1, 4)] if state == "paused" else [(11, 9, 2, 4), (11, 14, 2, 1)]
        for x, y, w, h in marks:
            p.fillRect(QRectF(x, y, w, h), INK)
        return
    c = box.center()
    w = d * 0.16
    if state == "paused":  # two bars
        for dx in (-d * 0.14, d * 0.14):
            p.drawRect(QRectF(c.x() + dx - w / 2, c.y() - d * 0.23, w, d * 0.46))
    else:  # "!"
        p.drawRect(QRectF(c.x() - w / 2, c.y() - d * 0.3, w, d * 0.36))
        p.drawRect(QRectF(c.x() - w / 2, c.y() + d * 0.14, w, w))


def draw(size: int, state: str) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    g = layout(size)
    inset = 0.5 if size <= 16 else size / 64
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(FILL[state][0]))
    p.drawRoundedRect(QRectF(inset, inset, size - 2 * inset, size - 2 * inset), g.radius, g.radius)
    draw_glyph(p, g)
    draw_badge(p, size, state)
    p.end()
    return image


def file_name(suffix: str, size: int) -> str:
    return f"switchboard{suffix}.png" if size == 64 else f"switchboard{suffix}-{size}.png"


def main() -> None:
    app = QGuiApplication(sys.argv)  # noqa: F841 - QPainter on QImage needs a GUI application for fonts
    for suffix, state in STATES.items():
        for size in SIZES:
            draw(size, state).save(str(HERE / file_name(suffix, size)))


if __name__ == "__main__":
    main()
