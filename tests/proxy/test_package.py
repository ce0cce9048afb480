"""Package-level rules: proxy/ is headless, and its public surface is what __all__ says."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import proxy


def test_import_proxy_does_not_load_qt_or_desktop():
    code = (
        "import sys, proxy, proxy.cli, proxy.engine.gateway, proxy.host.runner\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'desktop'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_exported_members():
    # submodules are attributes of the package once imported; they are not the public surface
    exported = {
        name for name in dir(proxy) if not name.startswith("_") and not isinstance(getattr(proxy, name), ModuleType)
    }
    assert exported == set(proxy.__all__)
