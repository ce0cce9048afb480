"""The main window: a sidebar of pages. Closing it hides it; the tray keeps running.

Delivered pages: Providers & keys (the providers in force; add one with its key, test a key,
delete), Connect a tool, and Settings (start at login, and where things are). Routing, Request
log, Dashboard and Playground keep their places.
"""

from __future__ import annotations

import threading

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSpinBox,
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
from proxy.config import ProviderConfig, validation_problems
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
    """The providers in force, and adding one: pick a kind, give it a name (and a base URL when
    the kind has none), paste its key (it goes straight to the OS keychain and is never shown
    again), Save. Test key and Delete act on the selected provider. All of it runs through the
    bridge: the GUI thread never waits for the keychain, the disk or the network."""

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Provider", "Kind", "Base URL", "Key", "Enabled"])
        self.tree.setRootIsDecorated(False)
        self.test_button = QPushButton("Test key")
        self.delete_button = QPushButton("Delete")
        self.preset = QComboBox()
        for pid, preset in PRESETS.items():
            if pid != "demo":
                self.preset.addItem(preset.label, pid)
        self.name = QLineEdit()
        self.name.setPlaceholderText("a short name, e.g. openai")
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("https://…/v1")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("paste the API key; it goes to your OS keychain")
        self.save_button = QPushButton("Add provider")
        self.result = _label()
        form = QFormLayout()
        form.addRow("Kind", self.preset)
        form.addRow("Name", self.name)
        form.addRow("Base URL", self.base_url)
        form.addRow("API key", self.key)
        actions = QHBoxLayout()
        actions.addWidget(self.test_button)
        actions.addWidget(self.delete_button)
        actions.addStretch(1)
        add = QHBoxLayout()
        add.addStretch(1)
        add.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addLayout(actions)
        layout.addWidget(_label("Add a provider"))
        layout.addLayout(form)
        layout.addLayout(add)
        layout.addWidget(self.result)
        self.preset.currentIndexChanged.connect(self.on_preset)
        self.save_button.clicked.connect(self.save)
        self.test_button.clicked.connect(lambda: self.act("test"))
        self.delete_button.clicked.connect(lambda: self.act("delete"))
        bridge.provider_result.connect(self.on_result)
        bridge.started.connect(lambda _url: self.refresh())
        self.on_preset()
        self.refresh()

    def on_preset(self) -> None:
        preset = PRESETS[self.preset.currentData()]
        self.name.setText("" if preset.id == "custom" else preset.id)
        self.base_url.setText("")
        self.base_url.setPlaceholderText(preset.base_url or "https://…/v1 (required)")
        self.key.setEnabled(preset.needs_key or not preset.local)

    def selected(self) -> str | None:
        item = self.tree.currentItem()
        return item.text(0) if item is not None else None

    def refresh(self) -> None:
        current = self.selected()
        self.tree.clear()
        snapshot = self.bridge.thread.gateway.snapshot  # swapped whole on changes: safe to read
        if snapshot is None:
            return
        for p in snapshot.config.providers:
            key = "not needed"
            if p.key is not None:
                key = f"keychain: {p.key.keychain}" if p.key.keychain else f"env: {p.key.env}"
            base = p.effective_base_url or "built in"
            item = QTreeWidgetItem([p.id, PRESETS[p.preset].label, base, key, "yes" if p.enabled else "no"])
            self.tree.addTopLevelItem(item)
            if p.id == current:
                self.tree.setCurrentItem(item)
        for column in range(4):
            self.tree.resizeColumnToContents(column)

    def save(self) -> None:
        data: dict[str, object] = {"id": self.name.text().strip().lower(), "preset": self.preset.currentData()}
        if self.base_url.text().strip():
            data["base_url"] = self.base_url.text().strip()
        key = self.key.text().strip() or None
        if key:
            data["key"] = {"keychain": data["id"]}
        try:
            provider = ProviderConfig.model_validate(data)
        except ValidationError as exc:
            self.result.setText("Not saved: " + "; ".join(validation_problems(exc)))
            return
        self.key.clear()  # the key leaves the widget at once; only the keychain keeps it
        self.save_button.setEnabled(False)
        self.result.setText("Saving…")
        self.bridge.save_provider(provider, key)

    def act(self, action: str) -> None:
        provider = self.selected()
        if provider is None:
            self.result.setText("Select a provider first.")
            return
        if action == "delete":
            answer = QMessageBox.question(self, "Delete provider", f"Delete {provider} and its key?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.bridge.delete_provider(provider)
        else:
            self.result.setText(f"Testing {provider}…")
            self.bridge.test_key(provider)

    def on_result(self, action: str, ok: bool, message: str) -> None:
        self.save_button.setEnabled(True)
        kind, _, provider = action.partition(":")
        if kind == "test":
            self.result.setText(f"{provider}: {message}")
        else:
            self.result.setText(message if ok else f"Not done: {message}")
        if ok and kind in ("save", "delete"):
            self.refresh()


class SettingsPage(QWidget):
    """Start at login (written on a worker thread), the gateway's port, access-key requirement and
    request-log settings (saved as a config version and applied live), and where things are."""

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
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.require_auth = QCheckBox("Tools must send the access key (recommended)")
        self.store_bodies = QCheckBox("Keep request and response bodies in the log (redacted)")
        self.retention = QSpinBox()
        self.retention.setRange(1, 3650)
        self.retention.setSuffix(" days")
        self.save_button = QPushButton("Save")
        self.saved = _label()
        gateway_form = QFormLayout()
        gateway_form.addRow("Port", self.port)
        gateway_form.addRow("", self.require_auth)
        gateway_form.addRow("Request log", self.store_bodies)
        gateway_form.addRow("Keep the log for", self.retention)
        form = QFormLayout()
        form.addRow("Endpoint", self.endpoint)
        form.addRow("Files", self.paths)
        form.addRow("Theme", _label("Follows your system's light or dark setting."))
        layout = QVBoxLayout(self)
        layout.addWidget(self.login)
        layout.addWidget(self.login_status)
        layout.addLayout(form)
        layout.addWidget(_label("Gateway"))
        layout.addLayout(gateway_form)
        save_row = QHBoxLayout()
        save_row.addWidget(self.saved, 1)
        save_row.addWidget(self.save_button)
        layout.addLayout(save_row)
        layout.addStretch(1)
        self.save_button.clicked.connect(self.save)
        bridge.provider_result.connect(self.on_saved)
        bridge.started.connect(lambda _url: self.load())
        self.load()
        self.autostart_done.connect(self.on_autostart_done)
        self.login.toggled.connect(self.on_toggled)
        bridge.started.connect(lambda url: self.endpoint.setText(f"{url}/v1"))
        self.login.setEnabled(False)
        threading.Thread(target=self._read_autostart, name="switchboard-autostart", daemon=True).start()

    def load(self) -> None:
        snapshot = self.bridge.thread.gateway.snapshot
        if snapshot is None:
            return
        config = snapshot.config
        self.port.setValue(config.server.port)
        self.require_auth.setChecked(config.server.require_auth)
        self.store_bodies.setChecked(config.logging.store_bodies)
        self.retention.setValue(config.logging.retention_days)

    def save(self) -> None:
        port, auth = self.port.value(), self.require_auth.isChecked()
        bodies, days = self.store_bodies.isChecked(), self.retention.value()

        def mutate(data: dict) -> None:
            data.setdefault("server", {}).update({"port": port, "require_auth": auth})
            data.setdefault("logging", {}).update({"store_bodies": bodies, "retention_days": days})

        self.save_button.setEnabled(False)
        self.saved.setText("Saving…")
        self.bridge.update_config("settings changed in the app", mutate)

    def on_saved(self, action: str, ok: bool, message: str) -> None:
        if action != "config":
            return
        self.save_button.setEnabled(True)
        if ok:
            port = self.bridge.base_url or ""
            self.saved.setText(f"Saved and applied. Listening on {port}." if port else "Saved and applied.")
        else:
            self.saved.setText(f"Not saved: {message}")
            self.load()

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
