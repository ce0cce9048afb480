"""The first-run wizard: welcome, pick a provider (or just try the built-in demo), paste its key,
pick the model tools should use, then proof that it works: a real request through the gateway to
that model, its answer and time, the endpoint and the access key to copy. Finish opens the main
window at "Connect a tool", the next step.

Shown once, on the first start (when Switchboard had no config of its own yet). Saving the
provider goes through the bridge like the Providers page does: the key goes to the OS keychain,
the config is saved as a version and applied; the wizard waits for the answer without blocking.
Without a keychain the key can live in an environment variable instead: the page shows the exact
line for the user's shell and never drops the pasted key without saying so. The chosen model
becomes the config's ``default_route`` (a route named ``default`` when it is a provider's model),
saved as a config version, so the tray's Models menu shows it.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
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
from desktop.services.shell import ENV_NAME, env_line
from desktop.widgets.formats import provider_words
from desktop.widgets.guarded import ComboBox
from desktop.widgets.schema_form import plain_problems
from proxy.api import PRESETS, KeyTestResult, LocalServer, ProviderConfig, RouteTestResult, mask

NO_KEYCHAIN = "No OS keychain"
"""How the gateway's answer to saving a key starts when there is no keychain to keep it."""
DEFAULT_ROUTE = "default"
"""The route the wizard makes for a provider's model chosen as the default."""


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
        self.use_env = QCheckBox("Keep the key in an environment variable instead of the keychain")
        self.use_env.setToolTip("For computers without an OS keychain: Switchboard reads the key from this variable")
        self.env_name = QLineEdit()
        self.env_name.setAccessibleName("Environment variable")
        self.env_line = QLineEdit()
        self.env_line.setReadOnly(True)
        self.env_line.setAccessibleName("Line for your shell")
        self.copy_line = QPushButton("Copy line")
        self.env_where = _label("")
        self.status = _label("")
        self.saved: str | None = None
        """The provider id once saved (``demo`` for the demo)."""
        self._pending: str | None = None  # the provider this page is saving (other pages' answers are not ours)
        self.form = QFormLayout()
        self.form.addRow("&Provider", self.preset)
        self.form.addRow("&Base URL", self.base_url)
        self.form.addRow("API &key", self.key)
        self.form.addRow("", self.use_env)
        self.form.addRow("&Variable", self.env_name)
        self.line_row = QHBoxLayout()
        self.line_row.addWidget(self.env_line, 1)
        self.line_row.addWidget(self.copy_line)
        self.form.addRow("Your shell", self.line_row)
        self.form.addRow("", self.env_where)
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
        self.use_env.toggled.connect(self._changed)
        self.env_name.textEdited.connect(self._changed)
        self.copy_line.clicked.connect(self.copy_env_line)
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
        self.use_env.setEnabled(real)
        self.base_url.setEnabled(real and custom)
        self.form.setRowVisible(self.base_url, custom)
        env = real and self.use_env.isChecked()
        if env and not self.env_name.text():
            self.env_name.setText(self.default_env_name())
        self.form.setRowVisible(self.env_name, env)
        self.form.setRowVisible(self.line_row, env)
        self.form.setRowVisible(self.env_where, env)
        if env:
            self._show_env_line()
        self.saved = None
        self.completeChanged.emit()

    def default_env_name(self) -> str:
        pid = str(self.preset.currentData() or "custom")
        preset = PRESETS.get(pid)
        return (preset.key_env if preset and preset.key_env else None) or f"{pid.upper().replace('-', '_')}_API_KEY"

    def _env_line_for(self, value: str) -> str | None:
        name = self.env_name.text().strip()
        try:
            return env_line(name, value).line
        except ValueError:
            return None

    def _show_env_line(self) -> None:
        """The line for the user's shell, the key shown masked (Copy copies it whole)."""
        name = self.env_name.text().strip()
        key = self.key.text().strip()
        try:
            made = env_line(name, mask(key) if key else "<your key>")
        except ValueError as exc:
            self.env_line.setText("")
            self.env_where.setText(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return
        self.env_line.setText(made.line)
        self.env_where.setText(
            f"Copy the line and {made.where}, so Switchboard finds the key when it starts next time. "
            "For now Switchboard keeps it in its memory only; it is never written to a file."
        )

    def copy_env_line(self) -> None:
        line = self._env_line_for(self.key.text().strip() or "<your key>")
        if line is not None:
            QGuiApplication.clipboard().setText(line)

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        if self.saved is not None or self.demo.isChecked() or self.chosen_local() is not None:
            return self._pending is None
        if self.preset.currentData() == "custom" and not self.base_url.text().strip():
            return False
        if self.use_env.isChecked() and not ENV_NAME.match(self.env_name.text().strip()):
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
        env = self.use_env.isChecked()
        name = self.env_name.text().strip()
        data: dict[str, object] = {"id": pid, "preset": pid, "key": {"env": name} if env else {"keychain": pid}}
        if pid == "custom":
            data["base_url"] = self.base_url.text().strip()
        try:
            provider = ProviderConfig.model_validate(data)
        except ValidationError as exc:
            self.status.setText("Not saved: " + " ".join(plain_problems(exc, ProviderConfig)))
            return False
        key = self.key.text().strip()
        self._pending = pid
        self.completeChanged.emit()
        if env:  # this run reads it from its own environment; the shell line keeps it for the next
            os.environ[name] = key
            self.status.setText(f"Saving {PRESETS[pid].label} (key in {name}) and testing the key…")
            self.bridge.providers.save(provider, None)
        else:
            self.status.setText(f"Saving {PRESETS[pid].label} and testing the key…")
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
        elif message.startswith(NO_KEYCHAIN) and not self.use_env.isChecked():
            self._pending = None
            self.use_env.setChecked(True)  # shows the variable and the line for this shell
            self.status.setText(
                "There is no OS keychain on this computer to keep the key. Your key is still in the box: keep it in "
                "an environment variable instead (the line below is for your shell), then choose Next."
            )
            self.completeChanged.emit()
        else:
            self._pending = None
            self.status.setText(f"Not saved: {message}")
            self.completeChanged.emit()

    def on_key_tested(self, pid: str, result: KeyTestResult) -> None:
        if pid != self._pending:
            return
        if result.ok:
            self.key.clear()  # saved and accepted: the page no longer needs it
            self._finish(pid, f"{PRESETS[pid].label}: {result.message}")
            return
        self._pending = None
        self.status.setText(
            f"{PRESETS[pid].label} did not accept the key: {provider_words(result.message)} "
            'Check it was copied whole and choose Next again, or choose "Just try it" above.'
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
    """The proof: a real request through the gateway to the chosen model (on a worker: the
    bridge's route test), its answer and time; the endpoint and the access key to copy (the key
    with a warning: it may be the only time it can be shown). Entering it saves the chosen model
    as the default route."""

    connect_requested = Signal()

    def __init__(self, bridge: GatewayBridge, model_page: ModelPage) -> None:
        super().__init__()
        self.bridge = bridge
        self.model_page = model_page
        self.setTitle("It works")
        self.answer = _label("")
        self.answer.setAccessibleName("Test answer")
        self.again = QPushButton("Send again")
        self.endpoint = QLineEdit()
        self.endpoint.setReadOnly(True)
        self.copy = QPushButton("Copy")
        self.access_key = QLineEdit()
        self.access_key.setReadOnly(True)
        self.access_key.setAccessibleName("Access key")
        self.copy_key = QPushButton("Copy key")
        self.copy_key.setEnabled(False)
        self.key_warning = _label(
            "Copy the access key now and keep it somewhere safe: your tools send it as their API key. This may be "
            "the only time it is shown. If you lose it, make a new one in Settings → Access keys."
        )
        self.default_note = _label("")
        self.summary = _label("")
        self.connect_button = QPushButton("Connect a tool…")
        self._key = ""  # the access key's value, for Copy only (never shown whole, never logged)
        self._trying: str | None = None  # the model this page is testing (other pages test routes too)
        self._default_name = ""
        try_row = QHBoxLayout()
        try_row.addWidget(self.answer, 1)
        try_row.addWidget(self.again)
        row = QHBoxLayout()
        row.addWidget(self.endpoint, 1)
        row.addWidget(self.copy)
        key_row = QHBoxLayout()
        key_row.addWidget(self.access_key, 1)
        key_row.addWidget(self.copy_key)
        layout = QVBoxLayout(self)
        layout.addLayout(try_row)
        layout.addWidget(self.default_note)
        layout.addWidget(
            _label("Point your tools at this endpoint (OpenAI-style clients; Anthropic-style ones drop /v1):")
        )
        layout.addLayout(row)
        layout.addWidget(_label("Access key:"))
        layout.addLayout(key_row)
        layout.addWidget(self.key_warning)
        layout.addWidget(self.summary)
        layout.addWidget(self.connect_button)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.endpoint.text()))
        self.copy_key.clicked.connect(self.copy_access_key)
        self.again.clicked.connect(self.try_model)
        self.connect_button.clicked.connect(self.connect_requested.emit)
        bridge.routing.route_tested.connect(self.on_tested)
        bridge.access_keys.client_key_fetched.connect(self.on_access_key)
        bridge.config.answered.connect(self.on_default_saved)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        self.endpoint.setText(f"{self.bridge.base_url}/v1" if self.bridge.base_url else "not running")
        model = self.model_page.model.currentText().strip()
        self.summary.setText(
            f'Tools use the model name "{model}". The Connect a tool page, next, has ready setups for common tools.'
        )
        self.bridge.access_keys.fetch_client_key()
        self.save_default(model)
        self.try_model()

    def try_model(self) -> None:
        """Send a real request to the chosen model through the running gateway (off the GUI thread)."""
        model = self.model_page.model.currentText().strip()
        self._trying = model
        self.again.setEnabled(False)
        self.answer.setText(f"Sending a test request to {model}…")
        self.bridge.routing.test_route(model)

    def on_tested(self, result: object) -> None:
        if not isinstance(result, RouteTestResult) or result.route != self._trying:
            return
        self._trying = None
        self.again.setEnabled(True)
        if result.ok:
            who = "/".join(filter(None, [result.provider, result.model])) or result.route
            self.answer.setText(f"✓ {who} answered in {result.milliseconds:,.0f} ms: “{result.message}”")
        else:
            said = provider_words(result.message) if result.message else f"HTTP {result.status}."
            self.answer.setText(f"✗ The test request to {result.route} failed: {said} Go Back to choose another.")

    def on_access_key(self, value: str) -> None:
        self._key = value
        self.copy_key.setEnabled(bool(value))
        self.access_key.setText(mask(value) if value else "cannot be shown: make one in Settings → Access keys")

    def copy_access_key(self) -> None:
        if self._key:
            QGuiApplication.clipboard().setText(self._key)
            self.key_warning.setText("Copied. " + self.key_warning.text().removeprefix("Copied. "))

    def save_default(self, model: str) -> None:
        """Make ``model`` the default route, saved as a config version: a route by that name, or
        else a route ``default`` to that provider's model."""
        routes = {r.name for r in self.bridge.config.routes()}
        provider, slash, upstream = model.partition("/")
        if model in routes:
            name = model
        elif slash and provider and upstream:
            name = DEFAULT_ROUTE
        else:
            self.default_note.setText("")
            return
        if self.bridge.config.default_route() == name and name == model:
            self.default_note.setText(f"“{name}” is the default model (in the tray's Models menu).")
            return

        def mutate(data: dict[str, Any]) -> None:
            if name == DEFAULT_ROUTE and model not in {r["name"] for r in data.get("routes", [])}:
                route = {
                    "name": DEFAULT_ROUTE,
                    "targets": [{"provider": provider, "model": upstream}],
                    "description": f"Chosen in the first-run wizard: {model}",
                }
                data["routes"] = [r for r in data.get("routes", []) if r["name"] != DEFAULT_ROUTE] + [route]
            data["default_route"] = name

        self.default_note.setText(f"Saving {model} as the default model…")
        self.bridge.config.update(f"default model: {model}", mutate, action="wizard-default")
        self._default_name = name

    def on_default_saved(self, action: str, ok: bool, message: str) -> None:
        if action != "wizard-default":
            return
        name = self._default_name
        if ok:
            self.default_note.setText(
                f"Saved: “{name}” is the default model, for any model name no route knows "
                "(the tray's Models menu shows it)."
            )
        else:
            self.default_note.setText(f"The default model was not saved: {message}")


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
        self.done_page.connect_requested.connect(self.accept)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Finish: connect a tool")
        self.setMinimumSize(640, 540)  # the last page and the no-keychain help fit without overlapping

    def accept(self) -> None:
        """Finish (or "Connect a tool…"): the main window opens where the next step is."""
        self.connect_requested.emit()
        super().accept()
