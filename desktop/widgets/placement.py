"""A window's size and position, remembered between runs.

:class:`Placement` watches a window: when it is moved, resized or hidden, its geometry is written
(a moment later, on a worker thread: the GUI never waits on the disk) to a small JSON file in the
app's state directory. :meth:`Placement.restore` puts it back on the next run, corrected onto a
screen that exists now (a monitor unplugged since must not leave the window out of sight).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRect, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)
SAVE_DELAY_MS = 400
VISIBLE_MIN = 80
"""Pixels of the window (each way) that must be on a screen, else it is moved onto one."""


def on_screen(rect: QRect, screens: list[QRect]) -> QRect:
    """``rect`` if enough of it is on one of ``screens`` (their available areas), else moved (and
    shrunk if need be) onto the first screen."""
    if not screens:
        return rect
    area = screens[0]
    for screen in screens:
        seen = rect.intersected(screen)
        if seen.width() >= min(VISIBLE_MIN, rect.width()) and seen.height() >= min(VISIBLE_MIN, rect.height()):
            if rect.width() <= screen.width() and rect.height() <= screen.height():
                return rect
            area = screen  # larger than the screen it is on: fitted to it
            break
    width, height = min(rect.width(), area.width()), min(rect.height(), area.height())
    return QRect(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2, width, height)


class Placement(QObject):
    """Remembers ``window``'s geometry in ``path`` (JSON: x, y, width, height)."""

    def __init__(self, window: QWidget, path: Path) -> None:
        super().__init__(window)
        self.window = window
        self.path = path
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        self._lock = threading.Lock()
        window.installEventFilter(self)

    def restore(self) -> bool:
        """Put the window where it was last time (corrected onto a screen); False when nothing was kept.
        Reads a file of a few bytes: call it once, before the window is first shown."""
        try:
            data = json.loads(self.path.read_text())
            rect = QRect(int(data["x"]), int(data["y"]), int(data["width"]), int(data["height"]))
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if rect.width() < 100 or rect.height() < 100:
            return False
        screens = [s.availableGeometry() for s in QGuiApplication.screens()]
        self.window.setGeometry(on_screen(rect, screens))
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window and event.type() in (QEvent.Type.Move, QEvent.Type.Resize):
            if self.window.isVisible():
                self._timer.start()
        elif watched is self.window and event.type() in (QEvent.Type.Hide, QEvent.Type.Close):
            self.save()
        return False

    def save(self) -> threading.Thread:
        """Write the window's geometry on a worker thread (returned, for tests to join)."""
        self._timer.stop()
        rect = self.window.geometry()
        text = json.dumps({"x": rect.x(), "y": rect.y(), "width": rect.width(), "height": rect.height()})
        thread = threading.Thread(target=self._write, args=(text,), name="switchboard-placement", daemon=True)
        thread.start()
        return thread

    def _write(self, text: str) -> None:  # worker thread
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                temp = self.path.with_suffix(".tmp")
                temp.write_text(text)
                os.replace(temp, self.path)
            except OSError as exc:
                log.info("could not remember the window's place: %s", exc)
