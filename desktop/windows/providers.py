"""Providers & keys: the providers in force; local servers found on this computer, offered with one
click; add a provider with its key (straight to the keychain); test a key, fetch a provider's model
list, turn a provider off and on, delete it."""

from __future__ import annotations

import time

from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.widgets.formats import provider_words
from desktop.widgets.guarded import ComboBox
from desktop.widgets.schema_form import plain_problems
from desktop.windows.status import confirmed, heading
from desktop.windows.status import plain_label as _label
from proxy.api import PRESETS, KeyOutcome, KeyTestResult, LocalServer, ProviderConfig

LOOK_AGAIN_SECONDS = 15.0
"""Showing the page looks for local servers again, at most this often."""
KINDS = ("save", "delete", "enable")
"""The ``config.answered`` actions this page answers (other pages' answers are not ours)."""
WHAT_NEXT = {
    KeyOutcome.REJECTED: " — paste a new key under Add a provider (same name) to replace it.",
    KeyOutcome.UNREACHABLE: " — check the base URL and your connection, then test again.",
    KeyOutcome.RATE_LIMITED: " — wait a minute, then test again.",
}
"""Plain advice after a failed key test, by what the provider said."""


class LocalServerOffer(QFrame):
    """ "Ollama is running on this computer (3 models). [Add it]"."""

    def __init__(self, server: LocalServer) -> None:
        super().__init__()
        self.server = server
        self.setFrameShape(QFrame.Shape.StyledPanel)
        count = len(server.models)
        models = f"{count} model{'s' if count != 1 else ''}" if count else "no models pulled yet"
        self.text = _label(f"{server.label} is running on this computer ({models}). Add it as a provider?")
        self.add_button = QPushButton("Add it")
        self.add_button.setAccessibleName(f"Add {server.label} as a provider")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(self.text, 1)
        row.addWidget(self.add_button)


class ProvidersPage(QWidget):
    """The providers in force, and adding one: pick a kind, give it a name (and a base URL when
    the kind has none), paste its key (it goes straight to the OS keychain and is never shown
    again), Save. Test key, Fetch models, Disable/Enable and Delete act on the selected provider.
    Local model servers (Ollama, LM Studio) found on this computer are offered at the top. All of it
    runs through the bridge: the GUI thread never waits for the keychain, the disk or the network."""

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.local_servers: tuple[LocalServer, ...] = ()
        self._looked_at = 0.0
        self.offers = QVBoxLayout()
        self.offers.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Provider", "Kind", "Base URL", "Key", "Status"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAccessibleName("Providers")
        # the Base URL takes what is left, elided; Key and Status always show (no sideways scroll at 900×600)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.test_button = QPushButton("Test key")
        self.models_button = QPushButton("Fetch models")
        self.enable_button = QPushButton("Disable")
        self.delete_button = QPushButton("Delete…")
        self.models_title = heading("Models")
        self.models = QListWidget()
        self.models.setAccessibleName("Models of the selected provider")
        self.models.setMinimumWidth(200)
        self.models_note = _label("Select a provider and choose Fetch models to see what it offers.")
        self.preset = ComboBox()
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
        form.addRow("&Kind", self.preset)
        form.addRow("&Name", self.name)
        form.addRow("&Base URL", self.base_url)
        form.addRow("API &key", self.key)
        actions = QHBoxLayout()
        for button in (self.test_button, self.models_button, self.enable_button, self.delete_button):
            actions.addWidget(button)
        actions.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.tree, 1)
        left.addLayout(actions)
        right = QVBoxLayout()
        right.addWidget(self.models_title)
        right.addWidget(self.models, 1)
        right.addWidget(self.models_note)
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addLayout(right, 1)
        add = QHBoxLayout()
        add.addStretch(1)
        add.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.offers)
        layout.addLayout(top, 1)
        layout.addSpacing(6)
        layout.addWidget(heading("Add a provider"))
        layout.addLayout(form)
        layout.addLayout(add)
        layout.addWidget(self.result)
        self._tab_order()

        self.preset.currentIndexChanged.connect(self.on_preset)
        self.save_button.clicked.connect(self.save)
        self.key.returnPressed.connect(self.save)
        self.test_button.clicked.connect(lambda: self.act("test"))
        self.models_button.clicked.connect(lambda: self.act("models"))
        self.enable_button.clicked.connect(lambda: self.act("enable"))
        self.delete_button.clicked.connect(lambda: self.act("delete"))
        self.tree.currentItemChanged.connect(lambda *_: self.on_selection())
        bridge.config.answered.connect(self.on_result)
        bridge.providers.key_tested.connect(self.on_key_tested)
        bridge.providers.models_fetched.connect(self.on_models)
        bridge.providers.local_servers_found.connect(self.on_local_servers)
        bridge.started.connect(lambda _url: self.refresh())
        bridge.started.connect(lambda _url: self.look_for_local_servers())
        self.on_preset()
        self.refresh()

    def _tab_order(self) -> None:
        chain = [
            self.tree,
            self.test_button,
            self.models_button,
            self.enable_button,
            self.delete_button,
            self.models,
            self.preset,
            self.name,
            self.base_url,
            self.key,
            self.save_button,
        ]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    # -- local servers ------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if time.monotonic() - self._looked_at > LOOK_AGAIN_SECONDS:
            self.look_for_local_servers()

    def look_for_local_servers(self) -> None:
        if self.bridge.base_url is None:
            return
        self._looked_at = time.monotonic()
        self.bridge.providers.find_local_servers()

    def on_local_servers(self, servers: tuple[LocalServer, ...]) -> None:
        self.local_servers = servers
        self._show_offers()

    def _show_offers(self) -> None:
        while (item := self.offers.takeAt(0)) is not None:
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        config = self.bridge.config.current
        known = {p.effective_base_url for p in config.providers} if config is not None else set()
        previous: QWidget = self
        for server in self.local_servers:
            if server.base_url in known:
                continue  # already a provider
            offer = LocalServerOffer(server)
            offer.add_button.clicked.connect(lambda _=False, s=server: self.add_local(s))
            self.offers.addWidget(offer)
            if previous is not self:
                QWidget.setTabOrder(previous, offer.add_button)
            previous = offer.add_button
        if previous is not self:
            QWidget.setTabOrder(previous, self.tree)

    def offer_buttons(self) -> list[QPushButton]:
        items = (self.offers.itemAt(i) for i in range(self.offers.count()))
        offers = (item.widget() for item in items if item is not None)
        return [w.add_button for w in offers if isinstance(w, LocalServerOffer) and not w.isHidden()]

    def add_local(self, server: LocalServer) -> None:
        for button in self.offer_buttons():
            button.setEnabled(False)
        self.result.setText(f"Adding {server.label}…")
        self.bridge.providers.add_local_server(server)

    # -- the providers in force -------------------------------------------------------------------

    def on_preset(self) -> None:
        preset = PRESETS[self.preset.currentData()]
        self.name.setText("" if preset.id == "custom" else preset.id)
        self.base_url.setText("")
        self.base_url.setPlaceholderText(preset.base_url or "https://…/v1 (required)")
        self.key.setEnabled(preset.needs_key or not preset.local)

    def selected(self) -> str | None:
        item = self.tree.currentItem()
        return item.text(0) if item is not None else None

    def selected_config(self) -> ProviderConfig | None:
        config = self.bridge.config.current
        pid = self.selected()
        return config.provider(pid) if config is not None and pid else None

    def refresh(self) -> None:
        current = self.selected()
        self.tree.clear()
        config = self.bridge.config.current
        if config is None:
            self.on_selection()
            return
        for p in config.providers:
            key = "not needed"
            if p.key is not None:
                key = f"keychain: {p.key.keychain}" if p.key.keychain else f"env: {p.key.env}"
            base = p.effective_base_url or "built in"
            status = "Enabled" if p.enabled else "Disabled"
            item = QTreeWidgetItem([p.id, PRESETS[p.preset].label, base, key, status])
            if not p.enabled:
                for column in range(5):
                    item.setForeground(column, self.palette().placeholderText())
            self.tree.addTopLevelItem(item)
            if p.id == current:
                self.tree.setCurrentItem(item)
        self.on_selection()
        self._show_offers()

    def on_selection(self) -> None:
        provider = self.selected_config()
        for button in (self.test_button, self.models_button, self.enable_button, self.delete_button):
            button.setEnabled(provider is not None)
        self.enable_button.setText("Enable" if provider is not None and not provider.enabled else "Disable")
        if provider is None or self.models_title.text() != f"Models of {provider.id}":
            self.models.clear()
            self.models_title.setText(f"Models of {provider.id}" if provider else "Models")
            self.models_note.setText("Choose Fetch models to ask the provider what it offers." if provider else "")

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
            self.result.setText("Not saved: " + " ".join(plain_problems(exc, ProviderConfig)))
            return
        config = self.bridge.config.current
        existing = config.provider(provider.id) if config is not None else None
        if existing is not None and not confirmed(
            self,
            "Replace provider",
            f"There is already a provider named “{provider.id}” ({PRESETS[existing.preset].label}, "
            f"{existing.effective_base_url or 'built in'}). Replace it with this one?",
        ):
            self.result.setText(f"Not saved: “{provider.id}” is kept as it was. Choose another name to add a new one.")
            return
        self.key.clear()  # the key leaves the widget at once; only the keychain keeps it
        self.save_button.setEnabled(False)
        self.result.setText("Saving…")
        self.bridge.providers.save(provider, key)

    def act(self, action: str) -> None:
        provider = self.selected_config()
        if provider is None:
            self.result.setText("Select a provider in the list first.")
            return
        if action == "delete":
            if not confirmed(self, "Delete provider", f"Delete {provider.id} and its key from your keychain?"):
                return
            self.bridge.providers.delete(provider.id)
        elif action == "enable":
            self.enable_button.setEnabled(False)
            verb = "Enabling" if not provider.enabled else "Disabling"
            self.result.setText(f"{verb} {provider.id}…")
            self.bridge.providers.set_enabled(provider.id, not provider.enabled)
        elif action == "models":
            self.models_button.setEnabled(False)
            self.models.clear()
            self.models_note.setText(f"Asking {provider.id}…")
            self.bridge.providers.fetch_models(provider.id)
        else:
            self.result.setText(f"Testing the key of {provider.id}…")
            self.bridge.providers.test_key(provider.id)

    def on_models(self, provider_id: str, ok: bool, models: tuple[str, ...], message: str) -> None:
        if provider_id != self.selected():
            return  # the selection moved on while the provider answered
        self.models_button.setEnabled(True)
        self.models.clear()
        self.models.addItems(list(models))
        if ok and models:
            message += f" Tools can ask for them as {provider_id}/MODEL."
        self.models_note.setText(message)

    def on_result(self, action: str, ok: bool, message: str) -> None:
        if action.partition(":")[0] not in KINDS:
            return
        self.save_button.setEnabled(True)
        self.result.setText(message if ok else f"Not done: {message}")
        if ok:
            self.refresh()
        else:
            self._settle()

    def on_key_tested(self, provider_id: str, result: KeyTestResult) -> None:
        self.save_button.setEnabled(True)
        advice = "" if result.ok else WHAT_NEXT.get(result.outcome, "")
        said = result.message if result.ok else provider_words(result.message)
        self.result.setText(f"{provider_id}: {said}{advice}")
        self._settle()

    def _settle(self) -> None:
        """After an answer that changed nothing: the buttons are usable again."""
        self.on_selection()
        for button in self.offer_buttons():
            button.setEnabled(True)
