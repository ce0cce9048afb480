"""Resources: found in a checkout and in a frozen bundle; every icon exists at every size."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtGui import QImage

from desktop.resources import ICON_SIZES, app_icon, icon_path, resources_dir


@pytest.mark.parametrize("state", ["running", "paused", "error"])
def test_icons_exist_at_every_size(qtbot, state):
    for size in ICON_SIZES:
        image = QImage(str(icon_path(state, size)))
        assert (image.width(), image.height()) == (size, size), icon_path(state, size)
        assert image.hasAlphaChannel()
    assert sorted(s.width() for s in app_icon(state).availableSizes()) == list(ICON_SIZES)


def test_small_trays_get_the_16_px_drawing(qtbot):
    drawn = QImage(str(icon_path("running", 16))).convertToFormat(QImage.Format.Format_ARGB32)
    picked = app_icon().pixmap(16, 16).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    assert picked == drawn  # not the 64 px one scaled down


def test_checkout_and_bundle(monkeypatch, tmp_path):
    assert (resources_dir() / "icons" / "make_icons.py").is_file()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == tmp_path / "resources"
    assert icon_path("error", 32) == tmp_path / "resources" / "icons" / "switchboard-error-32.png"
    with pytest.raises(ValueError):
        icon_path("running", 48)
