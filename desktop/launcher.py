"""The ``switchboard`` command: the tray app when a display and Qt are usable, else headless.

The command line itself lives in ``proxy.cli.main`` (headless, Qt-free); this launcher only adds the
tray. ``switchboard serve`` and ``python -m proxy`` are always headless.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from proxy.api import GatewayOptions, run_command


def try_tray(options: GatewayOptions) -> int | str:
    """Run the tray app and return its exit code, or return why it cannot run here."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY/WAYLAND_DISPLAY unset)"
    try:
        from desktop.app import run_tray
    except ImportError as exc:  # Qt or its system libraries missing
        return f"Qt is not usable ({exc})"
    return run_tray(options)


def qt_check() -> dict[str, object]:
    """For ``--selftest``: Qt loads, the bundled icons load, and what the platform offers."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import PySide6
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    from desktop.resources import app_icon, resources_dir

    app = QApplication.instance() or QApplication(["switchboard"])  # held while the checks run
    icon = app_icon()
    report = {
        "ok": not icon.isNull() and bool(icon.availableSizes()),
        "pyside6": PySide6.__version__,
        "platform": QGuiApplication.platformName(),
        "tray": QSystemTrayIcon.isSystemTrayAvailable(),
        "resources": str(resources_dir()),
    }
    del app
    return report


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(argv, tray=try_tray, selftest_extra=qt_check)


if __name__ == "__main__":
    sys.exit(main())
