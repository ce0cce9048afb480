"""Start at login, one interface per OS: an XDG autostart entry on Linux, a ``Run`` registry value
on Windows, a LaunchAgent on macOS.

Plain file and registry work, no Qt: the settings page calls it on a worker thread (it touches the
disk). ``command`` is what gets started at login: the frozen executable, or this Python running
``desktop.launcher``.
"""

from __future__ import annotations

import os
import plistlib
import sys
from pathlib import Path
from typing import Protocol

APP_ID = "switchboard"
LABEL = "dev.switchboard.tray"


def default_command() -> list[str]:
    """How to start this installation of Switchboard's tray app."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "desktop.launcher"]


class Autostart(Protocol):
    def is_enabled(self) -> bool: ...

    def enable(self, command: list[str]) -> None: ...

    def disable(self) -> None: ...


class XdgAutostart:
    """``$XDG_CONFIG_HOME/autostart/switchboard.desktop`` (freedesktop.org Desktop Application
    Autostart Specification). Written atomically; removing it turns autostart off."""

    def __init__(self, config_home: Path | None = None) -> None:
        base = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.path = base / "autostart" / f"{APP_ID}.desktop"

    def is_enabled(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return False
        return "Hidden=true" not in text and "X-GNOME-Autostart-enabled=false" not in text

    def enable(self, command: list[str]) -> None:
        entry = "\n".join(
            [
                "[Desktop Entry]",
                "Type=Application",
                "Name=Switchboard",
                "Comment=Local AI model gateway",
                f"Exec={_desktop_exec(command)}",
                f"Icon={APP_ID}",
                "Terminal=false",
                "X-GNOME-Autostart-enabled=true",
                "",
            ]
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(entry, encoding="utf-8")
        os.replace(tmp, self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


def _desktop_exec(command: list[str]) -> str:
    """Quote arguments for a desktop entry's ``Exec`` key (its own rules: double quotes, with
    ``"`, `` ` ``, ``$`` and ``\\`` escaped; ``%`` doubled)."""
    out = []
    for arg in command:
        arg = arg.replace("%", "%%")
        if any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
            escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
            arg = f'"{escaped}"'
        out.append(arg)
    return " ".join(out)


class LaunchAgentAutostart:
    """``~/Library/LaunchAgents/dev.switchboard.tray.plist`` with ``RunAtLoad``."""

    def __init__(self, home: Path | None = None) -> None:
        self.path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LABEL}.plist"

    def is_enabled(self) -> bool:
        return self.path.exists()

    def enable(self, command: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"Label": LABEL, "ProgramArguments": command, "RunAtLoad": True, "ProcessType": "Interactive"}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(plistlib.dumps(data))
        os.replace(tmp, self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


NOT_WINDOWS = "the Windows registry exists only on Windows"


class WindowsRunAutostart:
    """``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`` value ``Switchboard``."""

    KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
    VALUE = "Switchboard"

    def is_enabled(self) -> bool:
        if sys.platform != "win32":  # (so the type checker reads what follows as Windows code only)
            raise OSError(NOT_WINDOWS)
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, self.KEY) as key:
                winreg.QueryValueEx(key, self.VALUE)
        except OSError:
            return False
        return True

    def enable(self, command: list[str]) -> None:
        if sys.platform != "win32":
            raise OSError(NOT_WINDOWS)
        import subprocess
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, self.KEY) as key:
            winreg.SetValueEx(key, self.VALUE, 0, winreg.REG_SZ, subprocess.list2cmdline(command))

    def disable(self) -> None:
        if sys.platform != "win32":
            raise OSError(NOT_WINDOWS)
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, self.KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, self.VALUE)
        except FileNotFoundError:
            pass


def for_this_os() -> Autostart:
    if sys.platform == "win32":
        return WindowsRunAutostart()
    if sys.platform == "darwin":
        return LaunchAgentAutostart()
    return XdgAutostart()
