"""Providers & keys: the providers in force; add one with its key (straight to the keychain), test a
key, delete."""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.bridge import GatewayBridge
from desktop.windows.status import plain_label as _label
from proxy.config import ProviderConfig, validation_problems
from proxy.presets import PRESETS


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
