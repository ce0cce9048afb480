"""Find ``resources/`` in a source checkout and in a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def icon_path(state: str = "") -> Path:
    """The tray icon for a state: ``""`` (running), ``"paused"`` or ``"error"``."""
    suffix = f"-{state}" if state else ""
    return resources_dir() / "icons" / f"switchboard{suffix}.png"
