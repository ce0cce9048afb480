"""The first-run wizard: welcome, pick a provider (or just try the built-in demo), paste its key,
pick the model tools should use, then the endpoint to copy and the way to "Connect a tool".

Shown once, on the first start (when Switchboard had no config of its own yet). Saving the
provider goes through the bridge like the Providers page does: the key goes to the OS keychain,
the config is saved as a version and applied; the wizard waits for the answer without blocking.
"""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from desktop.resources import app_icon
from desktop.services import GatewayBridge
from desktop.widgets.guarded import ComboBox
from proxy.api import PRESETS, KeyTestResult, LocalServer, ProviderConfig, validation_problems


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class ProviderPage(QWizardPage):
    """Demo, a model server found on this computer, or a provider with its key. ``isComplete``
    waits for the save (and the key test) to be confirmed."""

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.setTitle("Where should requests go?")
        self.demo = QRadioButton("Just try it: the built-in demo model (offline, no key)")
        self.real = QRadioButton("A provider I have a key for")
        self.demo.setChecked(True)
        self.local: list[tuple[QRadioButton, LocalServer]] = []
        """Model servers found on this computer, one choice each (added when the probe answers)."""
        self.preset = ComboBox()
        for pid, preset in PRESETS.items():
            if pid not in ("demo", "azure") and not preset.local:
                self.preset.addItem(preset.label, pid)
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("https://…/v1 (OpenAI-compatible)")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("paste the API key; it goes to your OS keychain")
        self.status = _label("")
        self.saved: str | None = None
        """The provider id once saved (``demo`` for the demo)."""
        self._pending: str | None = None  # the provider this page is saving (other pages' answers are not ours)
        self.form = QFormLayout()
        self.form.addRow("&Provider", self.preset)
        self.form.addRow("&Base URL", self.base_url)
        self.form.addRow("API &key", self.key)
        self.choices = QVBoxLayout()
        self.choices.addWidget(self.demo)
        self.choices.addWidget(self.real)
        layout = QVBoxLayout(self)
        layout.addLayout(self.choices)
        layout.addLayout(self.form)
        layout.addWidget(self.status)
        for widget in (self.demo, self.real):
            widget.toggled.connect(self._changed)
        self.key.textChanged.connect(self._changed)
        self.base_url.textChanged.connect(self._changed)
        self.preset.currentIndexChanged.connect(self._changed)
        bridge.config.answered.connect(self.on_result)
        bridge.providers.key_tested.connect(self.on_key_tested)
        bridge.providers.local_servers_found.connect(self.on_local_servers)
        bridge.started.connect(lambda _url: bridge.providers.find_local_servers())
        if bridge.base_url is not None:
            bridge.providers.find_local_servers()
        self._changed()

    def on_local_servers(self, servers: tuple[LocalServer, ...]) -> None:
        config = self.bridge.config.current
        known = {p.effective_base_url for p in config.providers} if config is not None else set()
        offered = {server.base_url for _, server in self.local}
        for server in servers:
            if server.base_url in offered:
                continue
            count = len(server.models)
            models = f"{count} model{'s' if count != 1 else ''}" if count else "no models pulled yet"
            added = " — already added" if server.base_url in known else ""
            choice = QRadioButton(f"{server.label}, running on this computer ({models}, no key){added}")
            choice.toggled.connect(self._changed)
            self.choices.insertWidget(1 + len(self.local), choice)  # after the demo, before "a provider"
            self.local.append((choice, server))
        self._changed()

    def chosen_local(self) -> LocalServer | None:
        return next((server for choice, server in self.local if choice.isChecked()), None)

    def _changed(self) -> None:
        real = self.real.isChecked()
        custom = self.preset.currentData() == "custom"
        self.preset.setEnabled(real)
        self.key.setEnabled(real)
        self.base_url.setEnabled(real and custom)
        self.form.setRowVisible(self.base_url, custom)
        self.saved = None
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        if self.saved is not None or self.demo.isChecked() or self.chosen_local() is not None:
            return self._pending is None
        if self.preset.currentData() == "custom" and not self.base_url.text().strip():
            return False
        return bool(self.key.text().strip()) and self._pending is None

    def validatePage(self) -> bool:  # noqa: N802 - Qt's name
        """Next: the demo goes on at once; anything else is saved first (the answer re-runs this)."""
        if self.saved is not None:
            return True
        if self.demo.isChecked():
            self.saved = "demo"
            return True
        server = self.chosen_local()
        if server is not None:
            config = self.bridge.config.current
            providers = config.providers if config is not None else []
            existing = next((p.id for p in providers if p.effective_base_url == server.base_url), None)
            if existing is not None:  # added before: nothing to save
                self.saved = existing
                return True
            self._pending = self.bridge.providers.add_local_server(server)
            self.status.setText(f"Adding {server.label}…")
            self.completeChanged.emit()
            return False
        pid = self.preset.currentData()
        data: dict[str, object] = {"id": pid, "preset": pid, "key": {"keychain": pid}}
        if pid == "custom":
            data["base_url"] = self.base_url.text().strip()
        try:
            provider = ProviderConfig.model_validate(data)
        except ValidationError as exc:
            self.status.setText("Not saved: " + "; ".join(validation_problems(exc)))
            return False
        key = self.key.text().strip()
        self.key.clear()
        self._pending = pid
        self.status.setText(f"Saving {PRESETS[pid].label} and testing the key…")
        self.completeChanged.emit()
        self.bridge.providers.save(provider, key)
        return False

    def on_result(self, action: str, ok: bool, message: str) -> None:
        kind, _, pid = action.partition(":")
        if pid != self._pending or kind != "save":
            return
        server = self.chosen_local()
        if ok and server is not None:
            self._finish(pid, f"Added {server.label}.")
        elif ok:
            self.status.setText(f"{message}. Testing the key…")
            self.bridge.providers.test_key(pid)
        else:
            self._pending = None
            self.status.setText(f"Not saved: {message}")
            self.completeChanged.emit()

    def on_key_tested(self, pid: str, result: KeyTestResult) -> None:
        if pid != self._pending:
            return
        if result.ok:
            self._finish(pid, f"{PRESETS[pid].label}: {result.message}")
            return
        self._pending = None
        self.status.setText(
            f"{PRESETS[pid].label}: {result.message}. Paste the key again (check it was copied whole) and choose Next, "
            'or choose "Just try it" above.'
        )
        self.completeChanged.emit()

    def _finish(self, pid: str, message: str) -> None:
        self.status.setText(message)
        self._pending = None
        self.saved = pid
        self.completeChanged.emit()
        wizard = self.wizard()
        if wizard is not None:  # the page is in the wizard once it is shown
            wizard.next()


class ModelPage(QWizardPage):
    """The model name tools should use: the demo's routes, or the chosen provider's own models
    (asked from the provider; suggestions until it answers)."""

    def __init__(self, bridge: GatewayBridge, provider_page: ProviderPage) -> None:
        super().__init__()
        self.bridge = bridge
        self.provider_page = provider_page
        self.setTitle("Which model should your tools use?")
        self.model = ComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName("Model name")
        self.status = _label("")
        layout = QVBoxLayout(self)
        layout.addWidget(_label("Tools send this name as their model. You can add routes, fallbacks and more later."))
        layout.addWidget(self.model)
        layout.addWidget(self.status)
        bridge.providers.models_fetched.connect(self.on_models)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        self.model.clear()
        pid = self.provider_page.saved or "demo"
        names = [r.name for r in self.bridge.config.routes() if r.enabled and "*" not in r.name]
        if pid != "demo":
            names = [f"{pid}/{m}" for m in _suggested(pid)] + names
            self.status.setText(f"Asking {pid} which models it offers…")
            self.bridge.providers.fetch_models(pid)
        else:
            self.status.setText("")
        self.model.addItems(names or ["demo"])

    def on_models(self, pid: str, ok: bool, models: tuple[str, ...], message: str) -> None:
        if pid != self.provider_page.saved:
            return
        if not ok or not models:
            self.status.setText(f"{message} You can type a model name instead.")
            return
        typed = self.model.currentText()
        self.model.clear()
        self.model.addItems([f"{pid}/{m}" for m in models])
        if typed.startswith(f"{pid}/") and typed.removeprefix(f"{pid}/") in models:
            self.model.setCurrentText(typed)
        self.status.setText(message)


def _suggested(pid: str) -> list[str]:
    return {
        "openai": ["gpt-4o-mini", "gpt-4o"],
        "anthropic": ["claude-haiku-4-5", "claude-sonnet-4-5"],
        "groq": ["llama-3.3-70b-versatile"],
        "mistral": ["mistral-small-latest"],
        "deepseek": ["deepseek-chat"],
        "gemini": ["gemini-2.5-flash"],
        "openrouter": ["openai/gpt-4o-mini"],
    }.get(pid, [])


class DonePage(QWizardPage):
    connect_requested = Signal()

    def __init__(self, bridge: GatewayBridge, model_page: ModelPage) -> None:
        super().__init__()
        self.bridge = bridge
        self.model_page = model_page
        self.setTitle("You are set up")
        self.endpoint = QLineEdit()
        self.endpoint.setReadOnly(True)
        self.copy = QPushButton("Copy")
        self.summary = _label("")
        self.connect_button = QPushButton("Connect a tool…")
        row = QHBoxLayout()
        row.addWidget(self.endpoint, 1)
        row.addWidget(self.copy)
        layout = QVBoxLayout(self)
        layout.addWidget(
            _label("Point your tools at this endpoint (OpenAI-style clients; Anthropic-style ones drop /v1):")
        )
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.connect_button)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.endpoint.text()))
        self.connect_button.clicked.connect(self.connect_requested.emit)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        self.endpoint.setText(f"{self.bridge.base_url}/v1" if self.bridge.base_url else "not running")
        model = self.model_page.model.currentText()
        self.summary.setText(
            f'Use the model name "{model}". Your access key is in the tray menu ("Copy access key"); '
            "the Connect a tool page has ready setups for common tools."
        )


class FirstRunWizard(QWizard):
    """Signals: connect_requested(): the user wants the "Connect a tool" page."""

    connect_requested = Signal()

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.setWindowTitle("Welcome to Switchboard")
        self.setWindowIcon(app_icon())
        welcome = QWizardPage()
        welcome.setTitle("Welcome to Switchboard")
        QVBoxLayout(welcome).addWidget(
            _label(
                "Switchboard is your own AI model gateway. Your tools talk to it on this computer; it passes "
                "their requests to the providers you choose, with your keys kept in the system keychain, and "
                "logs every request here. This takes a minute."
            )
        )
        self.provider_page = ProviderPage(bridge)
        self.model_page = ModelPage(bridge, self.provider_page)
        self.done_page = DonePage(bridge, self.model_page)
        for page in (welcome, self.provider_page, self.model_page, self.done_page):
            self.addPage(page)
        self.done_page.connect_requested.connect(self._connect)

    def _connect(self) -> None:
        self.connect_requested.emit()
        self.accept()
