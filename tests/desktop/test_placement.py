"""The main window's size and position are remembered between runs, and put back on a screen."""

from __future__ import annotations

import json

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from desktop.widgets.placement import Placement, on_screen
from desktop.windows.main import MainWindow


def test_geometry_is_remembered_and_restored(qtbot, tmp_path) -> None:
    path = tmp_path / "state" / "window.json"
    window = QWidget()  # the main window is wider than the offscreen screen: a plain one here
    qtbot.addWidget(window)
    placement = Placement(window, path)
    assert placement.restore() is False  # nothing kept yet: the window's own default size
    window.show()
    window.setGeometry(QRect(10, 20, 700, 500))
    window.hide()  # hiding (closing to the tray) writes it, on a worker thread
    qtbot.waitUntil(path.exists, timeout=3000)
    qtbot.waitUntil(lambda: json.loads(path.read_text())["width"] == 700, timeout=3000)
    again = QWidget()
    qtbot.addWidget(again)
    assert Placement(again, path).restore() is True
    assert (again.geometry().width(), again.geometry().height()) == (700, 500)
    assert (again.geometry().x(), again.geometry().y()) == (10, 20)


def test_an_off_screen_position_is_corrected(qtbot, bridge, tmp_path) -> None:
    path = tmp_path / "window.json"
    path.write_text(json.dumps({"x": 9000, "y": 7000, "width": 900, "height": 600}))  # a monitor unplugged
    window = MainWindow(bridge)
    qtbot.addWidget(window)
    assert Placement(window, path).restore()
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert area.intersects(window.geometry()) and area.contains(window.geometry().center())
    screens = [QRect(0, 0, 1280, 800)]
    assert on_screen(QRect(100, 100, 900, 600), screens) == QRect(100, 100, 900, 600)
    assert on_screen(QRect(-3000, 100, 900, 600), screens) == QRect(190, 100, 900, 600)
    assert on_screen(QRect(0, 0, 3000, 2000), [QRect(0, 0, 1280, 800)]).width() <= 1280


def test_the_app_remembers_its_main_window(qtbot, options) -> None:
    from desktop.app import TrayApp
    from proxy.api import Home

    app = TrayApp(options, has_tray=True)
    assert app.placement.window is app.main
    assert app.placement.path == Home.resolve(options.home).cache_dir / "window.json"
