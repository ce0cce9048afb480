"""Settings: start at login, port, access keys, request-log settings, and where things are."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop import autostart
from desktop.services import GatewayBridge
from desktop.widgets.schema_form import SchemaForm, put_paths
from desktop.windows.access_keys import AccessKeysBox
from desktop.windows.status import heading
from desktop.windows.status import plain_label as _label
from desktop.windows.telemetry_settings import TelemetryBox
from proxy.api import GatewayConfig


class SettingsPage(QWidget):
    """Start at login (written on a worker thread), the gateway's port, access-key requirement and
    request-log settings (saved as a config version and applied live), the access keys (listed,
    made and revoked through the bridge), and where things are. The page scrolls when the window is
    small or the text is large."""

    autostart_done = Signal(bool, str)

    def __init__(self, bridge: GatewayBridge, starter: autostart.Autostart | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.starter = starter or autostart.for_this_os()
        self.login = QCheckBox("Start Switchboard when I log in")
        self.login_status = _label()
        self.endpoint = _label("not running")
        self.endpoint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        paths = bridge.api.paths
        self.paths = _label(f"Config: {paths.config_file}\nRequest log: {paths.log_db}")
        self.paths.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # the gateway's settings, bound to the config's fields (range and tooltip from the schema)
        self.form = SchemaForm(GatewayConfig, self)
        self.port = self.form.number("server.port", "Port")
        self.require_auth = self.form.check("server.require_auth", "Tools must send the access key (recommended)")
        self.store_bodies = self.form.check(
            "logging.store_bodies", "Keep request and response bodies in the log (redacted)"
        )
        self.retention = self.form.number("logging.retention_days", "Keep the log for", suffix=" days")
        self.save_button = QPushButton("Save")
        self.saved = _label()
        self.access_keys = AccessKeysBox(bridge)
        gateway_form = QFormLayout()
        gateway_form.addRow(self.form.label(self.port), self.port)
        gateway_form.addRow("", self.require_auth)
        gateway_form.addRow("Request log", self.store_bodies)
        gateway_form.addRow(self.form.label(self.retention), self.retention)
        form = QFormLayout()
        form.addRow("Endpoint", self.endpoint)
        form.addRow("Files", self.paths)
        form.addRow("Theme", _label("Follows your system's light or dark setting."))
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.login)
        layout.addWidget(self.login_status)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(heading("Gateway"))
        layout.addLayout(gateway_form)
        save_row = QHBoxLayout()
        save_row.addWidget(self.saved, 1)
        save_row.addWidget(self.save_button)
        layout.addLayout(save_row)
        layout.addSpacing(8)
        layout.addWidget(heading("Access keys"))
        layout.addWidget(self.access_keys)
        layout.addSpacing(8)
        self.telemetry = TelemetryBox(bridge)
        layout.addWidget(self.telemetry)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        chain = [self.login, self.port, self.require_auth, self.store_bodies, self.retention, self.save_button]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        QWidget.setTabOrder(self.save_button, self.access_keys.tree)
        self.save_button.clicked.connect(self.save)
        self.form.refused.connect(self.saved.setText)  # e.g. 99999 for the port: refused with the range
        bridge.config.answered.connect(self.on_saved)
        self._restarting = False  # saved while the gateway was down: it is starting with the change
        bridge.started.connect(self.on_started)
        bridge.config_applied.connect(self._follow_endpoint)  # a port/host change: the endpoint follows
        bridge.start_failed.connect(self.on_start_failed)
        self.load()
        self.autostart_done.connect(self.on_autostart_done)
        self.login.toggled.connect(self.on_toggled)
        if bridge.base_url is not None:  # made after the start (the main window opens later)
            self.endpoint.setText(f"{bridge.base_url}/v1")
        self.login.setEnabled(False)
        threading.Thread(target=self._read_autostart, name="switchboard-autostart", daemon=True).start()

    def load(self) -> None:
        """Show the config in force; while the gateway is down after a failed start, the one on
        file (saving it then starts the gateway again with it)."""
        failed = self.bridge.failed_start
        config = failed.config if failed is not None else self.bridge.config.current
        self.save_button.setEnabled(config is not None)
        if config is None:  # still starting: nothing to show yet
            return
        self.form.load(config.model_dump())

    def save(self) -> None:
        values = self.form.values()  # read here, on the GUI thread; applied on the gateway's loop

        def mutate(data: dict[str, Any]) -> None:
            put_paths(data, values)

        self.save_button.setEnabled(False)
        self.saved.setText("Saving…")
        self.bridge.config.update("settings changed in the app", mutate)

    def on_saved(self, action: str, ok: bool, message: str) -> None:
        if action != "config":
            return
        self.save_button.setEnabled(True)
        if ok and self.bridge.failed_start is not None:  # saved to the file; the gateway starts again
            self._restarting = True
            self.saved.setText(message)
        elif ok:
            port = self.bridge.base_url or ""
            self.saved.setText(f"Saved and applied. Listening on {port}." if port else "Saved and applied.")
        else:
            self.saved.setText(f"Not saved, nothing was changed: {message}")
            self.load()

    def _follow_endpoint(self, _number: int, _summary: str) -> None:
        if self.bridge.base_url is not None:
            self.endpoint.setText(f"{self.bridge.base_url}/v1")

    def on_started(self, url: str) -> None:
        self.endpoint.setText(f"{url}/v1")
        self.load()
        if self._restarting:
            self._restarting = False
            self.saved.setText(f"Saved, and the gateway is running again on {url}.")

    def on_start_failed(self, message: str) -> None:
        self._restarting = False
        self.endpoint.setText("not running")
        self.load()
        self.saved.setText(f"The gateway is not running: {message}\nChange the port here and Save to start it again.")

    def _read_autostart(self) -> None:  # worker thread
        try:
            self.autostart_done.emit(self.starter.is_enabled(), "")
        except OSError as exc:
            self.autostart_done.emit(False, f"Cannot read the start-at-login setting: {exc}")

    def on_autostart_done(self, enabled: bool, problem: str) -> None:
        self.login.blockSignals(True)
        self.login.setChecked(enabled)
        self.login.blockSignals(False)
        self.login.setEnabled(True)
        self.login_status.setText(problem)

    def on_toggled(self, enabled: bool) -> None:
        self.login.setEnabled(False)

        def work() -> None:  # worker thread: the disk (or the registry)
            try:
                if enabled:
                    self.starter.enable(autostart.default_command())
                else:
                    self.starter.disable()
                self.autostart_done.emit(self.starter.is_enabled(), "")
            except OSError as exc:
                self.autostart_done.emit(not enabled, f"Could not change it: {exc}")

        threading.Thread(target=work, name="switchboard-autostart", daemon=True).start()
