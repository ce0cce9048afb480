"""The main window: a sidebar of pages. Closing it hides it; the tray keeps running.

Delivered pages: Providers & keys (an overview of the providers in force; adding and testing keys
from here is not built yet, ``switchboard keys`` does it), Connect a tool, and Settings (start at
login, and where things are). Routing, Request log, Dashboard and Playground keep their places.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import autostart
from desktop.bridge import GatewayBridge
from desktop.resources import app_icon
from desktop.windows.connect import ConnectPage
from proxy.presets import PRESETS

PAGES = ("Providers & keys", "Routing", "Request log", "Dashboard", "Playground", "Connect a tool", "Settings")
COMING = {
    "Routing": "The visual routing editor comes next. Until then, routes live in config.json "
    "(`switchboard config path`), and edits apply at once.",
    "Request log": "The live request log comes next. Until then: `switchboard logs --follow`.",
    "Dashboard": "Charts come next. Until then: `switchboard stats --since 24h`.",
    "Playground": "The playground comes next. Until then, any OpenAI or Anthropic client works against the endpoint.",
}


def _label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class ProvidersPage(QWidget):
    """The providers in force: kind, where requests go, where the key comes from."""

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Provider", "Kind", "Base URL", "Key", "Enabled"])
        self.tree.setRootIsDecorated(False)
        note = _label(
            "Keys live in your OS keychain, never in files. Add one with `switchboard keys set <provider>` "
            "and check it with `switchboard keys test <provider>`; adding and testing from this page comes next."
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(note)
        bridge.started.connect(lambda _url: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        snapshot = self.bridge.thread.gateway.snapshot  # swapped whole on changes: safe to read
        if snapshot is None:
            return
        for p in snapshot.config.providers:
            key = "not needed"
            if p.key is not None:
                key = f"keychain: {p.key.keychain}" if getattr(p.key, "keychain", None) else f"env: {p.key.env}"
            preset = PRESETS[p.preset]
            base = p.effective_base_url or "built in"
            self.tree.addTopLevelItem(QTreeWidgetItem([p.id, preset.label, base, key, "yes" if p.enabled else "no"]))
        for column in range(4):
            self.tree.resizeColumnToContents(column)


class SettingsPage(QWidget):
    """Start at login (written on a worker thread), and where Switchboard keeps things."""

    autostart_done = Signal(bool, str)

    def __init__(self, bridge: GatewayBridge, starter: autostart.Autostart | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.starter = starter or autostart.for_this_os()
        self.login = QCheckBox("Start Switchboard when I log in")
        self.login_status = _label()
        self.endpoint = _label("not running")
        self.endpoint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        home = bridge.thread.gateway.home
        self.paths = _label(f"Config: {bridge.thread.gateway.config_path}\nRequest log: {home.log_db}")
        self.paths.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Endpoint", self.endpoint)
        form.addRow("Files", self.paths)
        form.addRow("Theme", _label("Follows your system's light or dark setting."))
        layout = QVBoxLayout(self)
        layout.addWidget(self.login)
        layout.addWidget(self.login_status)
        layout.addLayout(form)
        layout.addStretch(1)
        self.autostart_done.connect(self.on_autostart_done)
        self.login.toggled.connect(self.on_toggled)
        bridge.started.connect(lambda url: self.endpoint.setText(f"{url}/v1"))
        self.login.setEnabled(False)
        threading.Thread(target=self._read_autostart, name="switchboard-autostart", daemon=True).start()

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


class MainWindow(QMainWindow):
    """Signals:
    page_shown(str): the page now showing.
    """

    page_shown = Signal(str)

    def __init__(self, bridge: GatewayBridge, starter: autostart.Autostart | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(app_icon())
        self.sidebar = QListWidget()
        self.sidebar.addItems(PAGES)
        self.sidebar.setFixedWidth(180)
        self.sidebar.setAccessibleName("Pages")
        self.sidebar.setFrameShape(QListWidget.Shape.NoFrame)
        self.sidebar.setStyleSheet("QListWidget::item { padding: 7px 10px; }")  # roomier, palette colours kept
        for row, name in enumerate(PAGES):
            if name in COMING:
                self.sidebar.item(row).setToolTip("Coming next")
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for name in PAGES:
            if name == "Providers & keys":
                page: QWidget = ProvidersPage(bridge)
            elif name == "Connect a tool":
                page = ConnectPage(bridge)
            elif name == "Settings":
                page = SettingsPage(bridge, starter)
            else:
                page = QWidget()
                inner = QVBoxLayout(page)
                inner.addWidget(_label(COMING[name]))
                inner.addStretch(1)
            self.pages[name] = page
            self.stack.addWidget(page)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        self.resize(900, 560)
        self.sidebar.currentRowChanged.connect(self._on_row)
        self.sidebar.setCurrentRow(0)

    def _on_row(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        if row == PAGES.index("Connect a tool") and self.bridge.base_url and not self.pages_key_known():
            self.bridge.fetch_access_key()  # the keychain may block: the bridge reads it on a worker
        self.page_shown.emit(PAGES[row])

    def pages_key_known(self) -> bool:
        page = self.pages["Connect a tool"]
        return isinstance(page, ConnectPage) and bool(page.key)

    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGES.index(name))
        self.show()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        event.ignore()
        self.hide()  # the tray keeps running
