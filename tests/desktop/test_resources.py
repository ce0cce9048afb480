"""Resources: found in a checkout and in a frozen bundle; SVG icons in light and dark variants,
rendered crisp at 100 % and 200 %; the tray follows the desktop's colour scheme."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette
from PySide6.QtSvg import QSvgRenderer

from desktop.resources import (
    PNG_SIZES,
    app_icon,
    png_path,
    render,
    resources_dir,
    svg_path,
    system_is_dark,
    tray_icon,
)
from desktop.tray import TrayIcon

KINDS = ("app", "tray-running", "tray-paused", "tray-error")


def argb(image: QImage) -> QImage:
    return image.convertToFormat(QImage.Format.Format_ARGB32)


@pytest.mark.parametrize("kind", KINDS)
def test_every_icon_is_a_valid_svg_in_both_variants_and_grids(qtbot, kind) -> None:
    for variant in ("light", "dark"):
        for small, size in ((False, 64), (True, 16)):
            renderer = QSvgRenderer(str(svg_path(kind, variant, small)))
            assert renderer.isValid() and renderer.defaultSize() == QSize(size, size)


@pytest.mark.parametrize("scale", [1, 2])
def test_icons_are_drawn_at_the_device_pixels_asked_for(qtbot, scale) -> None:
    """16 px at 100 % is the 16-grid drawing; at 200 % a 32 px drawing, not a scaled-up 16."""
    for icon, kind in ((tray_icon("error", dark=False), "tray-error"), (app_icon(dark=True), "app")):
        pixmap = icon.pixmap(QSize(16, 16), float(scale))
        assert pixmap.size() == QSize(16 * scale, 16 * scale) and pixmap.devicePixelRatio() == scale
        variant = "light" if kind != "app" else "dark"
        assert argb(pixmap.toImage()) == argb(render(kind, variant, 16 * scale))
    small = argb(render("tray-running", "light", 16))
    assert argb(render("tray-running", "light", 32)) != argb(small.scaled(32, 32))


def test_tray_variants_contrast_with_their_panel(qtbot) -> None:
    corner = (3, 8)  # on the tile, left of the cord
    for variant, dark_ink in (("light", True), ("dark", False)):
        for size in (16, 64):
            image = render("tray-running", variant, size)
            lightness = image.pixelColor(corner[0] * size // 16, corner[1] * size // 16).lightness()
            assert (lightness < 80) if dark_ink else (lightness > 200), (variant, size, lightness)
    for state in ("paused", "error"):  # the badge: a colour, in the same place in both variants
        for variant in ("light", "dark"):
            badge = render(f"tray-{state}", variant, 64).pixelColor(50, 40)
            assert badge.saturation() > 150, (state, variant)


def test_the_tray_follows_the_panel_not_the_app_palette(qtbot, bridge) -> None:
    """Offscreen Qt reports no colour scheme and no tray geometry, so the tray assumes the OS's
    usual panel (dark on Linux) whatever the app's palette says (issue 22: a dark app theme made
    the icon white on a light panel); ``system_is_dark`` still follows the palette for windows."""
    app = QGuiApplication.instance()
    assert QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Unknown
    original = QGuiApplication.palette()
    on_linux = sys.platform.startswith("linux")

    def showing(dark: bool) -> bool:
        shown = argb(tray.icon().pixmap(QSize(22, 22)).toImage())
        return shown == argb(tray_icon("paused", dark=dark).pixmap(QSize(22, 22)).toImage())

    try:
        app.setPalette(QPalette(QColor("#f4f4f4")))
        tray = TrayIcon(bridge)
        assert tray.icon_state == "paused" and showing(dark=on_linux)  # starting
        app.setPalette(QPalette(QColor("#202225")))  # the app turns dark: the panel did not
        qtbot.wait(50)
        assert system_is_dark() and showing(dark=on_linux)
    finally:
        app.setPalette(original)


def test_packaging_pngs_are_the_light_app_icon(qtbot) -> None:
    for size in PNG_SIZES:
        image = QImage(str(png_path(size)))
        assert (image.width(), image.height()) == (size, size) and image.hasAlphaChannel()
        assert argb(image) == argb(render("app", "light", size)), size


def test_checkout_and_bundle(monkeypatch, tmp_path) -> None:
    assert (resources_dir() / "icons" / "make_icons.py").is_file()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == tmp_path / "resources"
    assert svg_path("tray-error", "dark", small=True) == tmp_path / "resources" / "icons" / "tray-error-dark-16.svg"
    assert png_path(32) == tmp_path / "resources" / "icons" / "switchboard-32.png"
    with pytest.raises(ValueError):
        png_path(48)
