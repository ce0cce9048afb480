"""StatusWindow: a small window that says what the gateway is doing.

It stands in for the tray where the desktop has none, shows why the gateway could not start,
and comes up when a second launch asks the running instance to show itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from desktop.resources import app_icon
from desktop.services import GatewayBridge

NO_TRAY = (
    "This desktop has no system tray (or it has not started yet), so Switchboard shows this window "
    "instead. Closing it quits Switchboard."
)


def plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # error texts come from files and sockets
    label.setWordWrap(True)
    return label


def confirmed(parent: QWidget, title: str, question: str) -> bool:
    """Ask ``question`` with Yes and No; True for Yes."""
    return QMessageBox.question(parent, title, question) == QMessageBox.StandardButton.Yes


def heading(text: str) -> QLabel:
    """A section heading: a bold plain label."""
    label = plain_label(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class StatusWindow(QWidget):
    """Endpoint, state, Copy and Quit.

    Signals:
        quit_requested(): the user chose Quit, or closed the window while there is no tray.
        settings_requested(): after a failed start, the user wants to change the port in Settings.
    """

    quit_requested = Signal()
    settings_requested = Signal()

    def __init__(self, bridge: GatewayBridge, *, has_tray: bool) -> None:
        super().__init__()
        self.bridge = bridge
        self.has_tray = has_tray
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(app_icon())

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(48, 48))
        title = QLabel("Switchboard")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        self.state = plain_label("Starting the gateway…")
        heading = QVBoxLayout()
        heading.setSpacing(2)
        heading.addWidget(title)
        heading.addWidget(self.state)
        top = QHBoxLayout()
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addSpacing(8)
        top.addLayout(heading, 1)

        self.endpoint = QLineEdit()
        self.endpoint.setReadOnly(True)
        self.endpoint.setPlaceholderText("not running")
        self.endpoint.setAccessibleName("Endpoint")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the endpoint (OpenAI base URL) to the clipboard")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_endpoint)
        self.endpoint_row = QWidget()  # hidden when the gateway failed: nothing to copy
        endpoint_row = QHBoxLayout(self.endpoint_row)
        endpoint_row.setContentsMargins(0, 0, 0, 0)
        endpoint_row.addWidget(QLabel("Endpoint"))
        endpoint_row.addWidget(self.endpoint, 1)
        endpoint_row.addWidget(self.copy_button)

        self.details = plain_label()
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setVisible(False)
        self.note = plain_label(NO_TRAY)
        self.note.setVisible(not has_tray)

        # after a failed start: ways out other than Quit (each changes the config file, then starts)
        self.free_port_button = QPushButton("Use a free port")
        self.free_port_button.setToolTip("Save the config with the first free port after this one, and start")
        self.free_port_button.clicked.connect(lambda: self.recover("free_port"))
        self.previous_button = QPushButton("Use the previous config")
        self.previous_button.clicked.connect(lambda: self.recover("previous"))
        self.settings_button = QPushButton("Open Settings…")
        self.settings_button.clicked.connect(self.settings_requested.emit)
        self.recovery = QWidget()
        recovery = QHBoxLayout(self.recovery)
        recovery.setContentsMargins(0, 0, 0, 0)
        for button in (self.free_port_button, self.previous_button, self.settings_button):
            recovery.addWidget(button)
        recovery.addStretch(1)
        self.recovery.setVisible(False)

        self.quit_button = QPushButton("Quit Switchboard")
        self.quit_button.clicked.connect(self.quit_requested.emit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addWidget(self.endpoint_row)
        layout.addWidget(self.details)
        layout.addWidget(self.recovery)
        layout.addWidget(self.note)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setMinimumWidth(460)

        bridge.started.connect(self.on_started)
        bridge.start_failed.connect(self.on_start_failed)

    def on_started(self, url: str) -> None:
        self.state.setText("Running. Point your tools at this endpoint:")
        self.endpoint.setText(f"{url}/v1")
        self.copy_button.setEnabled(True)
        self.endpoint_row.setVisible(True)
        self.details.setVisible(False)
        self.recovery.setVisible(False)

    def on_start_failed(self, message: str) -> None:
        self.state.setText("The gateway could not start.")
        self.endpoint_row.setVisible(False)
        self.details.setText(message)
        self.details.setVisible(True)
        failed = self.bridge.failed_start
        previous = failed.previous if failed is not None else None
        self.previous_button.setEnabled(previous is not None)
        self.previous_button.setToolTip(
            f"Go back to version {previous.number}: {previous.summary}" if previous else "There is no earlier version"
        )
        self.free_port_button.setEnabled(True)
        self.recovery.setVisible(True)

    def recover(self, fix: str) -> None:
        self.state.setText("Starting the gateway…")
        self.free_port_button.setEnabled(False)
        self.previous_button.setEnabled(False)
        self.bridge.recover(fix)

    def on_stopping(self) -> None:
        self.state.setText("Stopping…")
        self.quit_button.setEnabled(False)

    def copy_endpoint(self) -> None:
        if self.endpoint.text():
            QGuiApplication.clipboard().setText(self.endpoint.text())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        # With a tray, closing only hides. Without one, nothing would be left to quit from.
        super().closeEvent(event)
        if not (self.has_tray or QSystemTrayIcon.isSystemTrayAvailable()):
            self.quit_requested.emit()
