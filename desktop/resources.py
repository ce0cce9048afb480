"""Find ``resources/`` in a source checkout and in a PyInstaller bundle, and load icons from it.

A source checkout (or an editable install) has ``resources/`` next to ``desktop/``. A frozen
build unpacks its data files under ``sys._MEIPASS``; ``build.spec`` puts ``resources/`` there
under the same name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

IconState = Literal["running", "paused", "error"]
ICON_SIZES = (16, 32, 64, 256)
_SUFFIX: dict[IconState, str] = {"running": "", "paused": "-paused", "error": "-error"}


def resources_dir() -> Path:
    """The ``resources/`` directory of this checkout or frozen bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def icon_path(state: IconState = "running", size: int = 64) -> Path:
    """The PNG of the Switchboard icon for a state at one of :data:`ICON_SIZES`."""
    if size not in ICON_SIZES:
        raise ValueError(f"no {size} px icon; sizes are {ICON_SIZES}")
    name = f"switchboard{_SUFFIX[state]}" + ("" if size == 64 else f"-{size}")
    return resources_dir() / "icons" / f"{name}.png"


def app_icon(state: IconState = "running") -> QIcon:
    """The icon with every size, so Qt picks the hand-drawn 16 px one for a small tray."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(icon_path(state, size)), QSize(size, size))
    return icon
