"""The tray icon and its menu, rebuilt each time it opens so it shows live state."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.bridge import GatewayBridge
from desktop.resources import icon_path
from proxy.models import RequestRecord


def describe(record: RequestRecord) -> str:
    """One plain-text line for a request (never rich text: model names come from clients)."""
    when = datetime.fromtimestamp(record.started_at).strftime("%H:%M:%S")
    took = f"{record.latency_ms:.0f} ms" if record.latency_ms is not None else "-"
    model = (record.requested_model or "-")[:40]
    return f"{when}  {model}  {record.status}  {took}"


class TrayIcon(QSystemTrayIcon):
    """Switchboard in the system tray.

    Signals:
        quit_requested(): the user chose Quit.
    """

    quit_requested = Signal()

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__(QIcon(str(icon_path())))
        self.bridge = bridge
        self.state = "starting"
        self.error: str | None = None
        self.menu = QMenu()  # one menu, cleared and refilled on every open
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.setContextMenu(self.menu)
        bridge.started.connect(self.on_started)
        bridge.start_failed.connect(self.on_start_failed)
        bridge.request_finished.connect(lambda _record: self.update_tooltip())
        bridge.access_key_fetched.connect(self.on_access_key_fetched)
        self.rebuild_menu()
        self.update_tooltip()

    # -- state -----------------------------------------------------------------------------------

    def on_started(self, url: str) -> None:
        self.state, self.error = "running", None
        self.setIcon(QIcon(str(icon_path())))
        self.update_tooltip()

    def on_start_failed(self, message: str) -> None:
        self.state, self.error = "error", message
        self.setIcon(QIcon(str(icon_path("error"))))
        self.update_tooltip()

    def update_tooltip(self) -> None:
        if self.state == "running":
            text = f"Switchboard — {self.bridge.base_url}\n{self.bridge.requests_today} requests since start"
        elif self.state == "error":
            text = f"Switchboard — not running\n{self.error}"
        else:
            text = "Switchboard — starting…"
        self.setToolTip(text)

    # -- menu ------------------------------------------------------------------------------------

    def rebuild_menu(self) -> None:
        menu = self.menu
        menu.clear()
        if self.state == "running" and self.bridge.base_url:
            endpoint = menu.addAction(f"Copy endpoint  {self.bridge.base_url}/v1")
            endpoint.setToolTip("Copy the OpenAI base URL for your tools")
            endpoint.triggered.connect(self.copy_endpoint)
            menu.addAction("Copy access key").triggered.connect(self.bridge.fetch_access_key)
        elif self.state == "error":
            failed = menu.addAction(f"Not running: {(self.error or '')[:80]}")
            failed.setEnabled(False)
        else:
            menu.addAction("Starting…").setEnabled(False)
        menu.addSeparator()
        models = menu.addMenu("Models")
        routes = self.bridge.route_names()
        for name, enabled in routes:
            action = models.addAction(name)
            action.setCheckable(True)
            action.setChecked(enabled)
            action.setEnabled(False)  # toggling arrives with the routing editor
        if not routes:
            models.addAction("(no routes)").setEnabled(False)
        recent = menu.addMenu("Recent requests")
        records = self.bridge.recent(5)
        for record in reversed(records):
            recent.addAction(describe(record)).setEnabled(False)
        if not records:
            recent.addAction("(none yet)").setEnabled(False)
        menu.addSeparator()
        quit_action = QAction("Quit Switchboard", menu)
        quit_action.triggered.connect(self.quit_requested.emit)
        menu.addAction(quit_action)

    def copy_endpoint(self) -> None:
        if self.bridge.base_url:
            QGuiApplication.clipboard().setText(f"{self.bridge.base_url}/v1")
            self.showMessage(
                "Switchboard", "Endpoint copied to the clipboard.", QSystemTrayIcon.MessageIcon.NoIcon, 2000
            )

    def on_access_key_fetched(self, value: str) -> None:
        if value:
            QGuiApplication.clipboard().setText(value)
            self.showMessage(
                "Switchboard", "Access key copied to the clipboard.", QSystemTrayIcon.MessageIcon.NoIcon, 2000
            )
        else:
            self.showMessage(
                "Switchboard",
                "The access key is not kept in a keychain here; run `switchboard access-key new NAME` for a new one.",
                QSystemTrayIcon.MessageIcon.Warning,
                5000,
            )
