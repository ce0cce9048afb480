"""Switchboard's tray app (PySide6). One client of the headless gateway in ``proxy``."""
