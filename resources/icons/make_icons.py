"""Draw Switchboard's tray icons with QPainter (run once; the PNGs are committed).

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/icons/make_icons.py

The glyph: a rounded square with three "patch cords" from left jacks to right jacks, one of them
crossing over: a switchboard, legible at 16 px. State variants recolour the background.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

HERE = Path(__file__).parent
STATES = {"": "#2f6fde", "-paused": "#7a8290", "-error": "#d64545"}


def draw(size: int, color: str) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(color))
    p.drawRoundedRect(QRectF(2 * s, 2 * s, 60 * s, 60 * s), 14 * s, 14 * s)
    white = QColor("#ffffff")
    pen = QPen(white, max(1.6, 5.0 * s), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    left = [QPointF(16 * s, y * s) for y in (18, 32, 46)]
    right = [QPointF(48 * s, y * s) for y in (18, 32, 46)]
    for a, b in ((0, 2), (1, 1), (2, 0)):
        path = QPainterPath(left[a])
        path.cubicTo(QPointF(32 * s, left[a].y()), QPointF(32 * s, right[b].y()), right[b])
        p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(white)
    r = max(1.5, 5.0 * s)
    for pt in left + right:
        p.drawEllipse(pt, r, r)
    p.end()
    return image


def main() -> None:
    QGuiApplication(sys.argv)
    for suffix, color in STATES.items():
        for size in (16, 32, 64, 256):
            name = f"switchboard{suffix}.png" if size == 64 else f"switchboard{suffix}-{size}.png"
            draw(size, color).save(str(HERE / name))


if __name__ == "__main__":
    main()
