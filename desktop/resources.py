"""Find ``resources/`` in a source checkout and in a PyInstaller bundle, and load icons from it.

A source checkout (or an editable install) has ``resources/`` next to ``desktop/``. A frozen
build unpacks its data files under ``sys._MEIPASS``; ``build.spec`` puts ``resources/`` there
under the same name.

Icons are SVGs (see ``resources/icons/make_icons.py``) in a light and a dark variant, each drawn
on a 16-unit grid for small sizes and a 64-unit grid for the rest. They are rendered here to
exact device pixels (16 px at 100 % is the 16-grid drawing; at 200 % it is drawn at 32 px, not
scaled up), so the tray and windows stay crisp at any scale factor.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

IconState = Literal["running", "paused", "error"]
Variant = Literal["light", "dark"]
"""Named after the background an icon is for: ``dark`` goes on dark panels and windows."""
DEVICE_SIZES = (16, 20, 22, 24, 32, 40, 44, 48, 64, 96, 128, 256, 512)
"""Device-pixel sizes rendered into each QIcon (16 px to 256 px at 100 % and 200 %)."""
SMALL_BELOW = 24
"""Below this many device pixels, the 16-grid drawing is used."""
PNG_SIZES = (16, 32, 64, 256)
"""The app icon PNGs packaging uses (``switchboard.png`` is the 64 px one)."""


def resources_dir() -> Path:
    """The ``resources/`` directory of this checkout or frozen bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def svg_path(kind: str, variant: Variant, small: bool = False) -> Path:
    """The SVG of ``kind`` (``app`` or ``tray-running``/``tray-paused``/``tray-error``)."""
    return resources_dir() / "icons" / f"{kind}-{variant}{'-16' if small else ''}.svg"


def png_path(size: int = 64) -> Path:
    """The app icon as a PNG at one of :data:`PNG_SIZES` (for packaging)."""
    if size not in PNG_SIZES:
        raise ValueError(f"no {size} px icon; sizes are {PNG_SIZES}")
    return resources_dir() / "icons" / ("switchboard.png" if size == 64 else f"switchboard-{size}.png")


def system_is_dark() -> bool:
    """Whether the desktop uses a dark colour scheme (its own setting when Qt knows it, else the
    palette's window colour)."""
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def render(kind: str, variant: Variant, pixels: int) -> QImage:
    """``kind``'s icon drawn at exactly ``pixels`` × ``pixels`` device pixels."""
    path = svg_path(kind, variant, small=pixels < SMALL_BELOW)
    renderer = QSvgRenderer(QByteArray(path.read_bytes()))
    if not renderer.isValid():
        raise ValueError(f"not a usable SVG: {path}")
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


@lru_cache(maxsize=16)
def _icon(kind: str, variant: Variant) -> QIcon:
    icon = QIcon()
    for pixels in DEVICE_SIZES:
        icon.addPixmap(QPixmap.fromImage(render(kind, variant, pixels)))
    return icon


def _variant(dark: bool | None) -> Variant:
    return "dark" if (system_is_dark() if dark is None else dark) else "light"


def app_icon(dark: bool | None = None) -> QIcon:
    """The app icon for a dark or light background (``None``: follow the system)."""
    return _icon("app", _variant(dark))


def tray_icon(state: IconState = "running", dark: bool | None = None) -> QIcon:
    """The tray icon for a state, in the ink that contrasts with the panel (``None``: follow the
    system's colour scheme)."""
    return _icon(f"tray-{state}", _variant(dark))
