"""The "Connect a tool" page: pick a tool, copy its setup, or let Switchboard write its config.

The setups come from :mod:`proxy.api.connect`, filled with the running gateway's endpoint (they
follow a port or host change at once: ``config_applied``), the access key (masked until "Show
key") and the user's default model. Apply first shows the diff (:class:`DiffDialog`), and for
Claude Code the route that makes the gateway answer its model names; Restore gives the file back;
Check sends the tool's own request shape through the gateway. Tools applied before are marked
out of date after a port, key or default-model change, and Apply becomes "Update". Everything
that touches the disk or the network runs on the service's workers.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.widgets.guarded import ComboBox
from proxy.api import mask
from proxy.api.connect import (
    Applied,
    CheckResult,
    ConnectError,
    Connection,
    Plan,
    RouteOffer,
    ToolSetup,
    claude_route_offer,
    default_model,
)

NO_KEY = (
    "No access key to show or write: none is kept in a keychain on this computer. Make one in Settings → "
    "New key; Connect uses it at once."
)


def _mono() -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return box


class DiffDialog(QDialog):
    """What Apply will change, shown before anything is written; for Claude Code also the route
    that makes the gateway answer its model names (with the route it goes to)."""

    def __init__(self, parent: QWidget, plan: Plan, routes: list[str], offer: RouteOffer | str | None) -> None:
        super().__init__(parent)
        tool = plan.tool
        self.plan = plan
        self.setWindowTitle(f"Apply to {tool.name}")
        self.resize(720, 520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"Switchboard changes only its own settings in {tool.config_path}; a backup is kept and Restore "
            "puts your file back."
            + ("\nThe file changed since Switchboard wrote it: your changes are kept." if plan.changed_since else "")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.diff = _mono()
        self.diff.setAccessibleName("Changes")
        self.diff.setPlainText(plan.diff if plan.changes else "(the file is up to date: nothing to change)")
        layout.addWidget(self.diff, 1)
        self.route = QCheckBox()
        self.route_target = ComboBox()  # no change on a stray wheel event
        self.route_note = QLabel()
        self.route_note.setWordWrap(True)
        self.offer: RouteOffer | None = None
        row = QHBoxLayout()
        row.addWidget(self.route, 1)
        row.addWidget(self.route_target)
        layout.addLayout(row)
        layout.addWidget(self.route_note)
        self.route.setVisible(False)
        self.route_target.setVisible(False)
        self.route_note.setVisible(offer is not None)
        if isinstance(offer, str):
            self.route_note.setText(offer)
        elif offer is not None:
            self.route_target.addItems(routes)
            self.route_target.setCurrentText(offer.target)
            self.route.setVisible(True)
            self.route_target.setVisible(len(routes) > 1)
            self.route.setChecked(True)
            self.route.setText(f"Also add the route {offer.route['name']!r} (opus, sonnet, haiku) to:")
            self.offer = offer
            self.route_target.currentTextChanged.connect(self._describe)
            self._describe(offer.target)
        buttons = QDialogButtonBox()
        self.write_button = buttons.addButton("Write", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _describe(self, target: str) -> None:
        if self.offer is not None:
            self.route_note.setText(self.offer.description.replace(f"to {self.offer.target}?", f"to {target}?"))

    def chosen_offer(self, retarget: RouteOffer | None) -> RouteOffer | None:
        """The route to add, if the box is ticked (``retarget``: the offer for another target)."""
        return (retarget or self.offer) if self.offer is not None and self.route.isChecked() else None


class ConnectPage(QWidget):
    """Signals:
    settings_requested(): the user wants Settings (to make an access key).
    """

    settings_requested = Signal()

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.service = bridge.connect_tools
        self.key = ""
        self.conn: Connection | None = None
        self.tools: list[ToolSetup] = []
        self.applied: dict[str, Applied] = {}
        """What Connect applied, per tool (read on a worker: the GUI thread never reads files)."""
        self.dialog: DiffDialog | None = None
        self._planned_with: Connection | None = None
        self._said: dict[str, str] = {}
        """What the last Apply/Restore said, in parts: the file, the route."""

        self.list = QListWidget()
        self.list.setMaximumWidth(230)
        self.list.setStyleSheet("QListWidget::item { padding: 5px 8px; }")
        self.list.setAccessibleName("Tools")
        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.instructions = QLabel()
        self.instructions.setWordWrap(True)
        self.instructions.setTextFormat(Qt.TextFormat.PlainText)
        self.snippet = _mono()
        self.snippet.setAccessibleName("Setup")
        self.no_key = QLabel(NO_KEY)
        self.no_key.setWordWrap(True)
        self.new_key_button = QPushButton("Settings → New key")
        self.show_key = QCheckBox("Show key")
        self.copy_button = QPushButton("Copy")
        self.apply_button = QPushButton("Apply…")
        self.restore_button = QPushButton("Restore")
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Send this tool's own request through Switchboard")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        missing = QHBoxLayout()
        missing.addWidget(self.no_key, 1)
        missing.addWidget(self.new_key_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_key)
        buttons.addStretch(1)
        for button in (self.copy_button, self.check_button, self.apply_button, self.restore_button):
            buttons.addWidget(button)
        detail = QVBoxLayout()
        detail.addWidget(self.title)
        detail.addWidget(self.instructions)
        detail.addLayout(missing)
        detail.addWidget(self.snippet, 1)
        detail.addLayout(buttons)
        detail.addWidget(self.status)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(detail, 1)

        self.list.currentRowChanged.connect(self.show_tool)
        self.show_key.toggled.connect(lambda _: self.show_tool(self.list.currentRow()))
        self.copy_button.clicked.connect(self.copy)
        self.apply_button.clicked.connect(self.start_apply)
        self.restore_button.clicked.connect(self.start_restore)
        self.check_button.clicked.connect(self.start_check)
        self.new_key_button.clicked.connect(self.settings_requested.emit)
        self.service.planned.connect(self.on_planned)
        self.service.applied.connect(self.on_file_done)
        self.service.restored.connect(self.on_file_done)
        self.service.checked.connect(self.on_checked)
        self.service.state_read.connect(self.on_state)
        bridge.config.answered.connect(self.on_route_saved)
        bridge.started.connect(lambda _url: self.refresh())
        bridge.stopped.connect(self.refresh)
        bridge.config_applied.connect(lambda _n, _s: self.refresh())  # a port/host/route change: follow it
        keys = bridge.access_keys
        keys.client_key_fetched.connect(self.on_key)
        keys.created.connect(lambda _name, ok, value: self.on_key(value) if ok and not self.key else self._refetch(ok))
        keys.revoked.connect(lambda _name, ok, _msg: self._refetch(ok))
        self.refresh()

    # -- what is shown -----------------------------------------------------------------------------

    def _refetch(self, ok: bool) -> None:
        if ok:
            self.bridge.access_keys.fetch_client_key()

    def on_key(self, value: str) -> None:
        self.key = value
        self.refresh()

    def connection(self) -> Connection | None:
        url = self.bridge.base_url
        config = self.bridge.config.current
        if url is None or config is None:
            return None
        routes = tuple(r.name for r in config.routes if r.enabled and not r.is_pattern)
        return Connection(url, self.key, routes, default_model(config))

    def refresh(self) -> None:
        """Rebuild the setups from the running gateway (its URL, key and routes)."""
        row = max(self.list.currentRow(), 0)
        self.conn = self.connection()
        self.no_key.setVisible(self.conn is not None and not self.key)
        self.new_key_button.setVisible(self.conn is not None and not self.key)
        if self.conn is None:
            self.tools = []
            self.list.clear()
            self.title.setText("Connect a tool")
            self.instructions.setText("Switchboard is not running yet.")
            self.snippet.setPlainText("")
            for button in (self.copy_button, self.apply_button, self.restore_button, self.check_button):
                button.setVisible(False)
            return
        self.copy_button.setVisible(True)
        self.check_button.setVisible(True)
        self.tools = self.service.setups(self.conn)
        self._label_tools()
        self.list.setCurrentRow(min(row, len(self.tools) - 1))
        self.show_tool(self.list.currentRow(), keep_status=True)  # a config change keeps what was said
        self.service.read_state()

    def out_of_date(self, tool: ToolSetup) -> list[str]:
        entry = self.applied.get(tool.id)
        return entry.out_of_date(self.conn) if entry is not None and self.conn is not None else []

    def _label_tools(self) -> None:
        names = [t.name + (" — out of date" if self.out_of_date(t) else "") for t in self.tools]
        if [self.list.item(i).text() for i in range(self.list.count())] != names:
            row = self.list.currentRow()
            self.list.blockSignals(True)
            self.list.clear()
            self.list.addItems(names)
            self.list.setCurrentRow(max(row, 0))
            self.list.blockSignals(False)

    def on_state(self, applied: dict[str, Applied]) -> None:
        self.applied = applied
        self._label_tools()
        self.show_tool(self.list.currentRow(), keep_status=True)

    def current(self) -> ToolSetup | None:
        row = self.list.currentRow()
        return self.tools[row] if 0 <= row < len(self.tools) else None

    def text_for(self, tool: ToolSetup) -> str:
        if self.show_key.isChecked() or not self.key:
            return tool.snippet
        return tool.snippet.replace(self.key, mask(self.key))

    def show_tool(self, row: int, keep_status: bool = False) -> None:
        tool = self.current()
        if tool is None:
            return
        self.title.setText(tool.name)
        self.instructions.setText(tool.instructions)
        self.snippet.setPlainText(self.text_for(tool))
        stale = self.out_of_date(tool)
        self.apply_button.setVisible(tool.can_apply)
        self.apply_button.setText("Update…" if stale else "Apply…")
        self.restore_button.setVisible(tool.can_apply)
        self.restore_button.setEnabled(tool.id in self.applied)
        tip = f"Writes only Switchboard's settings in {tool.config_path}; shows the changes first"
        self.apply_button.setToolTip(tip if tool.config_path else "")
        if stale:
            self.status.setText(f"Out of date: {'; '.join(stale)}. Update writes the new settings (diff first).")
        elif not keep_status:  # another tool: a fresh start
            self._said = {}
            self.status.setText("")

    def copy(self) -> None:
        tool = self.current()
        if tool is not None:
            QGuiApplication.clipboard().setText(tool.snippet)  # the real key: that is what the tool needs
            self.status.setText("Copied." if self.key else f"Copied. {NO_KEY}")

    # -- Apply: the diff first ---------------------------------------------------------------------

    def start_apply(self) -> None:
        tool, conn = self.current(), self.conn
        if tool is None or conn is None:
            return
        if not self.key:
            self.status.setText(NO_KEY)
            return
        self.apply_button.setEnabled(False)
        self.status.setText(f"Reading {tool.config_path}…")
        self._planned_with = conn  # what the diff shows is what is written, whatever changes meanwhile
        self.service.plan(tool, conn)

    def route_offer(self, tool: ToolSetup, target: str | None = None) -> RouteOffer | str | None:
        """For Claude Code: the route its model names need, or why there is none (pure: no disk)."""
        config = self.bridge.config.current
        if tool.id != "claude-code" or config is None:
            return None
        try:
            return claude_route_offer(config, target)
        except ConnectError as exc:
            return f"Claude Code's model names will not be answered: {exc}"

    def on_planned(self, tool_id: str, result: Plan | str) -> None:
        self.apply_button.setEnabled(True)
        tool = self.current()
        if isinstance(result, str):
            self.status.setText(f"Not done: {result}")
            return
        if tool is None or tool.id != tool_id:
            return
        offer = self.route_offer(tool)
        if not result.changes and not isinstance(offer, RouteOffer):
            self.status.setText(f"{tool.config_path} is up to date; nothing to change.")
            return
        routes = [r.name for r in self.bridge.config.routes() if r.enabled and not r.is_pattern]
        self.dialog = DiffDialog(self, result, routes, offer)
        self.dialog.accepted.connect(lambda: self._write(result))
        self.dialog.rejected.connect(lambda: self.status.setText("Nothing was written."))
        self.dialog.open()

    def _write(self, plan: Plan) -> None:
        dialog, conn = self.dialog, self._planned_with
        if dialog is None or conn is None:
            return
        target = dialog.route_target.currentText()
        retarget = self.route_offer(plan.tool, target) if dialog.offer and target != dialog.offer.target else None
        offer = dialog.chosen_offer(retarget if isinstance(retarget, RouteOffer) else None)
        self._said = {}
        self._say(file="Writing…" if plan.changes else "", route="Adding the route…" if offer else "")
        self.apply_button.setEnabled(False)
        if plan.changes:
            self.service.apply(plan.tool, conn, plan)
        else:
            self.apply_button.setEnabled(True)
        if offer is not None:
            self.bridge.config.update(f"Connect: {offer.summary}", offer.mutate, action="connect-route")

    def _say(self, **parts: str) -> None:
        self._said.update(parts)
        self.status.setText(" ".join(p for p in (self._said.get("file"), self._said.get("route")) if p))

    def on_route_saved(self, action: str, ok: bool, message: str) -> None:
        if action == "connect-route":
            self._say(route=f"Route: {message}." if ok else f"The route was not added: {message}")

    def start_restore(self) -> None:
        tool = self.current()
        if tool is None:
            return
        self.restore_button.setEnabled(False)
        self._said = {}
        self._say(file="Restoring…")
        self.service.restore(tool)

    def on_file_done(self, tool_id: str, ok: bool, message: str) -> None:
        self.apply_button.setEnabled(True)
        if ok and message.startswith("Wrote"):
            message += " Press Check to send a request the way this tool does."
        self._say(file=message if ok else f"Not done: {message}")

    # -- Check -------------------------------------------------------------------------------------

    def start_check(self) -> None:
        tool, conn = self.current(), self.conn
        if tool is None or conn is None:
            return
        if not self.key:
            self.status.setText(NO_KEY)
            return
        self.check_button.setEnabled(False)
        self.status.setText(f"Checking {tool.name}…")
        self.service.check(tool, conn)

    def on_checked(self, tool_id: str, result: CheckResult) -> None:
        self.check_button.setEnabled(True)
        self.status.setText(result.message if result.ok else f"✗ {result.message}")
