"""The config history: every version, newest first, its diff against the one before, and Roll back."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.windows.status import confirmed, plain_label


class HistoryDialog(QDialog):
    """Config versions, newest first, with a coloured diff of each against the one before it, and
    Roll back."""

    def __init__(self, bridge: GatewayBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setWindowTitle("Config history")
        self.versions = QListWidget()
        self.versions.setAccessibleName("Config versions")
        self.diff = QPlainTextEdit()
        self.diff.setReadOnly(True)
        self.diff.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.diff.setAccessibleName("What this version changed")
        font = self.diff.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.diff.setFont(font)
        self.rollback_button = QPushButton("Roll back to this version")
        self.rollback_button.setEnabled(False)
        self.status = plain_label("")
        self.count = plain_label("Reading the history…")
        listing = QWidget()
        llayout = QVBoxLayout(listing)
        llayout.setContentsMargins(0, 0, 0, 0)
        llayout.addWidget(self.count)
        llayout.addWidget(self.versions, 1)
        split = QSplitter()
        split.addWidget(listing)
        split.addWidget(self.diff)
        split.setSizes([260, 520])
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.rollback_button)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self.resize(820, 480)
        self.versions.currentItemChanged.connect(self._on_selected)
        self.rollback_button.clicked.connect(self._rollback)
        bridge.config.history_loaded.connect(self._on_history)
        bridge.config.diff_loaded.connect(self._on_diff)
        bridge.config.answered.connect(self._on_result)
        bridge.config_applied.connect(lambda *_: self.reload())
        self.reload()

    def reload(self) -> None:
        self.bridge.config.load_history()

    def selected(self) -> int | None:
        item = self.versions.currentItem()
        number: int | None = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return number

    def _on_history(self, versions: list[Any]) -> None:
        keep = self.selected()
        self.versions.blockSignals(True)
        self.versions.clear()
        for i, v in enumerate(reversed(versions)):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v.time))
            label = f"{v.number}  ·  {when}\n{v.summary}  ({v.author})"
            if i == 0:
                label = f"{v.number}  ·  {when}  · in force\n{v.summary}  ({v.author})"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, v.number)
            self.versions.addItem(item)
            if v.number == keep:
                self.versions.setCurrentItem(item)
        self.versions.blockSignals(False)
        self.count.setText(
            f"{len(versions)} version{'s' if len(versions) != 1 else ''} kept" if versions else "No saved versions yet"
        )
        if self.versions.currentItem() is None and self.versions.count():
            self.versions.setCurrentRow(0)
        else:
            self._on_selected()

    def _on_selected(self, *_: object) -> None:
        number = self.selected()
        self.rollback_button.setEnabled(number is not None and self.versions.currentRow() > 0)
        if number is not None:
            self.bridge.config.load_diff(number)

    def _on_diff(self, number: int, text: str) -> None:
        if number != self.selected():
            return  # an older answer
        self.diff.clear()
        cursor = self.diff.textCursor()
        palette = self.diff.palette()
        plain = QTextCharFormat()
        plain.setForeground(palette.text())
        added, removed, hunk = QTextCharFormat(), QTextCharFormat(), QTextCharFormat()
        added.setForeground(QColor("#1f8a3b"))
        removed.setForeground(QColor("#c62828"))
        hunk.setForeground(palette.placeholderText())
        for line in text.splitlines(keepends=True) or ["(no change)"]:
            if line.startswith(("+++", "---", "@@")):
                fmt = hunk
            elif line.startswith("+"):
                fmt = added
            elif line.startswith("-"):
                fmt = removed
            else:
                fmt = plain
            cursor.insertText(line, fmt)
        self.diff.moveCursor(QTextCursor.MoveOperation.Start)

    def _rollback(self) -> None:
        number = self.selected()
        if number is None:
            return
        if not confirmed(
            self, "Roll back", f"Put version {number} back in force? Your current setup stays in the history."
        ):
            return
        self.rollback_button.setEnabled(False)
        self.status.setText(f"Rolling back to version {number}…")
        self.bridge.config.rollback(number)

    def _on_result(self, action: str, ok: bool, message: str) -> None:
        if action == "rollback":
            self.status.setText(message if ok else f"Not rolled back: {message}")
