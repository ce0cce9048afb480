"""The tray app: ``switchboard`` with a display.

QApplication on the main thread, the gateway on its own thread (through :class:`GatewayBridge`),
one instance at a time. Closing windows keeps the tray; Quit stops the gateway (draining
in-flight requests, bounded) and then the app. Where the desktop has no system tray, a small
window is shown instead and says why.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QSystemTrayIcon, QVBoxLayout, QWidget

from desktop.bridge import GatewayBridge
from desktop.resources import icon_path
from desktop.single_instance import SingleInstance
from desktop.tray import TrayIcon
from proxy.gateway import GatewayOptions
from proxy.paths import Home

log = logging.getLogger(__name__)


class StatusWindow(QWidget):
    """Shown when there is no system tray (or the gateway failed): endpoint, status, Quit."""

    def __init__(self, bridge: GatewayBridge, reason: str) -> None:
        super().__init__()
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(QIcon(str(icon_path())))
        self.reason = QLabel(reason)
        self.reason.setTextFormat(Qt.TextFormat.PlainText)
        self.reason.setWordWrap(True)
        self.status = QLabel("Starting the gateway…")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy = QPushButton("Copy endpoint")
        self.copy.setEnabled(False)
        self.copy.clicked.connect(self.copy_endpoint)
        self.quit = QPushButton("Quit Switchboard")
        layout = QVBoxLayout(self)
        for widget in (self.reason, self.status, self.copy, self.quit):
            layout.addWidget(widget)
        self.bridge = bridge
        bridge.started.connect(self.on_started)
        bridge.start_failed.connect(self.on_start_failed)
        self.resize(420, 160)

    def on_started(self, url: str) -> None:
        self.status.setText(f"Running at {url}/v1")
        self.copy.setEnabled(True)

    def on_start_failed(self, message: str) -> None:
        self.status.setText(f"The gateway could not start:\n{message}")

    def copy_endpoint(self) -> None:
        if self.bridge.base_url:
            QGuiApplication.clipboard().setText(f"{self.bridge.base_url}/v1")


def run_tray(options: GatewayOptions) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Switchboard")
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(QIcon(str(icon_path())))
    instance = SingleInstance(Home.resolve(options.home).cache_dir)
    if not instance.acquire():
        print("Switchboard is already running; asked it to show itself.")
        return 0
    bridge = GatewayBridge(options)
    has_tray = QSystemTrayIcon.isSystemTrayAvailable()
    window = StatusWindow(
        bridge, "" if has_tray else "This desktop has no system tray, so Switchboard shows this window instead."
    )
    tray = TrayIcon(bridge)
    quitting = False

    def quit_app() -> None:
        nonlocal quitting
        if quitting:
            return
        quitting = True
        tray.setToolTip("Switchboard — stopping…")
        bridge.stopped.connect(app.quit)
        bridge.stop_async()

    def show_window() -> None:
        window.show()
        window.raise_()
        window.activateWindow()

    def on_start_failed(message: str) -> None:
        show_window()

    tray.quit_requested.connect(quit_app)
    window.quit.clicked.connect(quit_app)
    instance.activated.connect(show_window)
    bridge.start_failed.connect(on_start_failed)
    bridge.config_rejected.connect(
        lambda text: tray.showMessage("Switchboard: config edit rejected", text, QSystemTrayIcon.MessageIcon.Warning)
    )
    if has_tray:
        tray.show()
    else:
        show_window()
    bridge.start()
    try:
        return app.exec()
    finally:
        instance.release()
