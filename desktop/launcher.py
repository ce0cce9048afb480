"""The ``switchboard`` command: the tray app when a display and Qt are usable, else headless.

The command line itself lives in ``proxy.cli`` (headless, Qt-free); this launcher only adds the
tray. ``switchboard serve`` and ``python -m proxy`` are always headless.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from proxy.cli import main as cli_main
from proxy.gateway import GatewayOptions


def try_tray(options: GatewayOptions) -> int | str:
    """Run the tray app and return its exit code, or return why it cannot run here."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY/WAYLAND_DISPLAY unset)"
    try:
        from desktop.app import run_tray
    except ImportError as exc:  # Qt or its system libraries missing
        return f"Qt is not usable ({exc})"
    return run_tray(options)


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(argv, tray=try_tray)


if __name__ == "__main__":
    sys.exit(main())
