"""The "Connect a tool" page: pick a tool, copy its setup, or let Switchboard write its config.

The snippets come from :mod:`desktop.connect`, filled with the running gateway's endpoint, the
access key (masked until "Show key") and the route names. Apply and Restore touch the disk, so
they run on a worker thread and report back through a signal.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.connect import ConnectError, Connection, ToolSetup, setups
from desktop.services import GatewayBridge
from proxy.api import mask


class ConnectPage(QWidget):
    """Signals:
    file_done(str, bool): an Apply/Restore finished: the message, and whether it worked.
    """

    file_done = Signal(str, bool)
    applied_read = Signal(object)  # frozenset of tool ids whose config Switchboard wrote (a backup exists)

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.key = ""
        self.tools: list[ToolSetup] = []
        self.applied: frozenset[str] = frozenset()
        """Tools with an Apply to restore; read on a worker thread (the GUI thread never stats files)."""

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
        self.snippet = QPlainTextEdit()
        self.snippet.setReadOnly(True)
        self.snippet.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.snippet.setAccessibleName("Setup")
        self.show_key = QCheckBox("Show key")
        self.copy_button = QPushButton("Copy")
        self.apply_button = QPushButton("Apply")
        self.restore_button = QPushButton("Restore")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        buttons = QHBoxLayout()
        buttons.addWidget(self.show_key)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.restore_button)
        detail = QVBoxLayout()
        detail.addWidget(self.title)
        detail.addWidget(self.instructions)
        detail.addWidget(self.snippet, 1)
        detail.addLayout(buttons)
        detail.addWidget(self.status)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(detail, 1)

        self.list.currentRowChanged.connect(self.show_tool)
        self.show_key.toggled.connect(lambda _: self.show_tool(self.list.currentRow()))
        self.copy_button.clicked.connect(self.copy)
        self.apply_button.clicked.connect(lambda: self.run_file_job("apply"))
        self.restore_button.clicked.connect(lambda: self.run_file_job("restore"))
        self.file_done.connect(self.on_file_done)
        self.applied_read.connect(self.on_applied_read)
        bridge.started.connect(lambda _url: self.refresh())
        bridge.access_keys.client_key_fetched.connect(self.on_key)
        self.refresh()

    def on_key(self, value: str) -> None:
        self.key = value
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the setups from the running gateway (its URL, key and routes)."""
        url = self.bridge.base_url
        row = max(self.list.currentRow(), 0)
        if url is None:
            self.tools = []
            self.list.clear()
            self.title.setText("Connect a tool")
            self.instructions.setText("Switchboard is not running yet.")
            self.snippet.setPlainText("")
            return
        routes = tuple(r.name for r in self.bridge.config.routes() if r.enabled and "*" not in r.name)
        self.tools = setups(Connection(url, self.key or "<your access key>", routes))
        names = [t.name for t in self.tools]
        if [self.list.item(i).text() for i in range(self.list.count())] != names:
            self.list.clear()
            self.list.addItems(names)
        self.list.setCurrentRow(min(row, len(names) - 1))
        self.show_tool(self.list.currentRow())
        self.read_applied()

    def read_applied(self) -> None:
        tools = list(self.tools)

        def work() -> None:  # worker thread: the disk
            self.applied_read.emit(frozenset(t.id for t in tools if t.can_apply and t.is_applied()))

        threading.Thread(target=work, name="switchboard-connect-state", daemon=True).start()

    def on_applied_read(self, applied: frozenset[str]) -> None:
        self.applied = applied
        tool = self.current()
        self.restore_button.setEnabled(tool is not None and tool.id in applied)

    def current(self) -> ToolSetup | None:
        row = self.list.currentRow()
        return self.tools[row] if 0 <= row < len(self.tools) else None

    def text_for(self, tool: ToolSetup) -> str:
        if self.show_key.isChecked() or not self.key:
            return tool.snippet
        return tool.snippet.replace(self.key, mask(self.key))

    def show_tool(self, row: int) -> None:
        tool = self.current()
        if tool is None:
            return
        self.title.setText(tool.name)
        self.instructions.setText(tool.instructions)
        self.snippet.setPlainText(self.text_for(tool))
        self.apply_button.setVisible(tool.can_apply)
        self.restore_button.setVisible(tool.can_apply)
        self.restore_button.setEnabled(tool.can_apply and tool.id in self.applied)
        self.apply_button.setToolTip(f"Writes {tool.config_path} (a backup is kept)" if tool.config_path else "")
        self.status.setText("")

    def copy(self) -> None:
        tool = self.current()
        if tool is not None:
            QGuiApplication.clipboard().setText(tool.snippet)  # the real key: that is what the tool needs
            self.status.setText("Copied.")

    def run_file_job(self, job: str) -> None:
        tool = self.current()
        if tool is None or not self.key:
            self.status.setText("Waiting for the access key…")
            return
        self.apply_button.setEnabled(False)
        self.restore_button.setEnabled(False)

        def work() -> None:  # worker thread: the disk
            try:
                if job == "apply":
                    tool.apply()
                    self.file_done.emit(f"Wrote {tool.config_path}. Restore puts the original back.", True)
                else:
                    tool.restore()
                    self.file_done.emit(f"Restored {tool.config_path} as it was.", True)
            except (ConnectError, OSError) as exc:
                self.file_done.emit(str(exc), False)

        threading.Thread(target=work, name="switchboard-connect", daemon=True).start()

    def on_file_done(self, message: str, ok: bool) -> None:
        self.status.setText(message if ok else f"Not done: {message}")
        self.apply_button.setEnabled(True)
        self.read_applied()
