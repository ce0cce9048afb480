"""Routing: the visual editor for routes (public model names and where they go).

A list of routes on the left; on the right, the selected route: its targets in fallback order
(drag a row, or Alt+Up/Alt+Down, to reorder), the strategy, a weight slider per target when the
strategy uses weights, an A/B split into variants, fallback triggers, retries, cooldown and
hedging, cache and limits. Every edit is checked at once against the same pydantic rules as the
config file; a valid edit is saved as a new config version shortly after the last change and
applied to the running gateway without dropping requests (requests in flight keep the config
they started with). "Test this route" sends a small request through it; "Simulate failure"
makes a chosen target fail for its next calls; "History" shows every version with a diff and
rolls back.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.windows.status import heading, plain_label
from proxy.api import FAULTS, GatewayConfig, RouteConfig, RouteTestResult, validation_problems

SAVE_DELAY_MS = 600
"""A valid edit is saved this long after the last change (a burst of edits makes one version)."""
MIME = "application/x-switchboard-target-rows"

STRATEGIES = {
    "fallback": "Fallback: in order, the next one when one fails",
    "weighted": "Weighted: share requests by weight",
    "round-robin": "Round robin: take turns",
    "least-busy": "Least busy: fewest requests in flight",
    "lowest-latency": "Lowest latency: fastest recently",
    "lowest-cost": "Lowest cost: cheapest per token",
}
TRIGGERS = {
    "connection_errors": "Connection errors",
    "timeouts": "Timeouts",
    "rate_limits": "Rate limits (429)",
    "server_errors": "Server errors (5xx)",
    "context_length": "Prompt too long for the model",
    "auth_errors": "Key rejected (401/403)",
    "missing_key": "Key missing",
}
FAULT_LABELS = {
    "error": "Server error (500)",
    "429": "Rate limited (429)",
    "timeout": "Timeout",
    "cut": "Stream cut",
}


def _target_label(target: dict[str, Any]) -> str:
    return f"{target['provider']} / {target['model']}"


def describe_change(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """One line for the config history saying what an edit of a route changed."""
    name = new["name"]
    if old is None:
        return f"add route {name}"
    parts = []
    if old["name"] != name:
        parts.append(f"renamed from {old['name']}")
    old_t, new_t = old.get("targets") or [], new.get("targets") or []
    if [_target_label(t) for t in old_t] != [_target_label(t) for t in new_t]:
        if sorted(map(_target_label, old_t)) == sorted(map(_target_label, new_t)):
            parts.append("fallback order " + " → ".join(_target_label(t) for t in new_t))
        else:
            parts.append("targets " + ", ".join(_target_label(t) for t in new_t))
    elif [t.get("weight") for t in old_t] != [t.get("weight") for t in new_t]:
        parts.append("weights " + ", ".join(f"{t['model']} {t.get('weight', 1):g}" for t in new_t))
    if old.get("variants") != new.get("variants"):
        parts.append("A/B split " + ", ".join(f"{v['name']} {v.get('weight', 1):g}" for v in new.get("variants") or []))
    for key in ("strategy", "enabled", "description"):
        if old.get(key) != new.get(key):
            parts.append(f"{key} {new.get(key)}")
    for key in ("triggers", "retries", "cooldown", "cache", "limits", "hedge_after_ms"):
        if old.get(key) != new.get(key):
            parts.append(key.replace("_", " "))
    return f"route {name}: " + ("; ".join(parts) or "no change")


class TargetsModel(QAbstractTableModel):
    """The targets of a route (or of one A/B variant) in fallback order.

    Rows move by drag and drop inside the view: :meth:`dropMimeData` moves the rows itself and
    emits ``reordered``. It answers ``False`` so the view does not also remove the dragged rows
    (which it does after a move that the model reported as a copy).
    """

    HEADERS = ("#", "Provider", "Model", "Weight")
    reordered = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[dict[str, Any]] = []
        self.show_weights = False

    def set_targets(self, targets: list[dict[str, Any]], show_weights: bool) -> None:
        self.beginResetModel()
        self.targets = targets
        self.show_weights = show_weights
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.targets)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        target = self.targets[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == 0:
                return str(index.row() + 1)
            if column == 1:
                return target["provider"]
            if column == 2:
                return target["model"]
            return f"{target.get('weight', 1.0):g}" if self.show_weights else "–"
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Drag to change the fallback order (or Alt+Up / Alt+Down)"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled  # drops land between rows, never on one
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime = QMimeData()
        mime.setData(MIME, QByteArray(json.dumps(rows).encode()))
        return mime

    def dropMimeData(  # noqa: N802
        self,
        data: QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        if action != Qt.DropAction.MoveAction or not data.hasFormat(MIME):
            return False
        try:
            rows = [r for r in json.loads(bytes(data.data(MIME).data())) if 0 <= r < len(self.targets)]
        except (ValueError, TypeError):
            return False
        if parent.isValid():  # dropped onto a row: put the rows before it
            row = parent.row()
        if row < 0 or row > len(self.targets):
            row = len(self.targets)
        self.move_rows(rows, row)
        return False  # moved here; see the class docstring

    def move_rows(self, rows: list[int], to: int) -> None:
        """Move ``rows`` (indexes before the move) so they sit together before row ``to``."""
        moving = [self.targets[r] for r in rows]
        keep = [t for i, t in enumerate(self.targets) if i not in rows]
        to -= sum(1 for r in rows if r < to)
        new = keep[:to] + moving + keep[to:]
        if [id(t) for t in new] == [id(t) for t in self.targets]:
            return
        self.beginResetModel()
        self.targets[:] = new
        self.endResetModel()
        self.reordered.emit()


class TargetsView(QTableView):
    """The targets table: rows drag to reorder; Alt+Up and Alt+Down move the selected row."""

    move_requested = Signal(int)  # -1 up, +1 down

    def __init__(self) -> None:
        super().__init__()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDragDropOverwriteMode(False)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.verticalHeader().hide()
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setAccessibleName("Targets in fallback order")
        self.setMinimumHeight(110)
        self.setMaximumHeight(190)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.modifiers() & Qt.KeyboardModifier.AltModifier and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.move_requested.emit(-1 if event.key() == Qt.Key.Key_Up else 1)
            return
        super().keyPressEvent(event)


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
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

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
        answer = QMessageBox.question(
            self,
            "Roll back",
            f"Put version {number} back in force? Your current setup stays in the history.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.rollback_button.setEnabled(False)
        self.status.setText(f"Rolling back to version {number}…")
        self.bridge.config.rollback(number)

    def _on_result(self, action: str, ok: bool, message: str) -> None:
        if action == "rollback":
            self.status.setText(message if ok else f"Not rolled back: {message}")


class RoutingPage(QWidget):
    """The routing editor (see the module docstring).

    Signals:
        saved(str): an edit was saved and applied; the argument says what changed.
    """

    saved = Signal(str)

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.route: dict[str, Any] | None = None  # the route being edited, as plain data
        self.saved_route: dict[str, Any] | None = None  # the same route as last saved
        self.original_name: str | None = None
        self.variant_index = 0
        self._loading = False
        self._saving = False
        self.history: HistoryDialog | None = None
        self.save_timer = QTimer(self)
        self.save_timer.setSingleShot(True)
        self.save_timer.setInterval(SAVE_DELAY_MS)
        self.save_timer.timeout.connect(self.save)

        # -- left: the routes -------------------------------------------------------------------
        self.routes = QListWidget()
        self.routes.setAccessibleName("Routes")
        self.routes.setToolTip("Tick a route to turn it on; untick to turn it off.")
        self.new_button = QPushButton("New route")
        self.delete_button = QPushButton("Delete")
        self.history_button = QPushButton("History…")
        left = QVBoxLayout()
        left.addWidget(heading("Routes"))
        left.addWidget(self.routes, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.delete_button)
        left.addLayout(row)
        left.addWidget(self.history_button)
        left_box = QWidget()
        left_box.setLayout(left)
        left_box.setMaximumWidth(240)

        # -- right: the selected route ----------------------------------------------------------
        self.name = QLineEdit()
        self.name.setAccessibleName("Route name")
        self.description = QLineEdit()
        self.description.setPlaceholderText("optional note, shown in the tray")
        self.enabled = QCheckBox("On (tools can use this name)")
        self.strategy = QComboBox()
        for key, label in STRATEGIES.items():
            self.strategy.addItem(label, key)
        basics = QFormLayout()
        basics.addRow("Name", self.name)
        basics.addRow("Note", self.description)
        basics.addRow("", self.enabled)
        basics.addRow("Strategy", self.strategy)

        self.variants_box = QGroupBox("A/B split")
        self.variant_pick = QComboBox()
        self.variant_pick.setAccessibleName("Variant being edited")
        self.variant_name = QLineEdit()
        self.variant_name.setAccessibleName("Variant name")
        self.variant_split = QSlider(Qt.Orientation.Horizontal)
        self.variant_split.setRange(0, 100)
        self.variant_split.setAccessibleName("Variant share")
        self.variant_share = QLabel()
        self.split_button = QPushButton("Split into A/B variants")
        self.add_variant_button = QPushButton("Add variant")
        self.remove_variant_button = QPushButton("Remove variant")
        self.variants_hint = plain_label(
            "Send a share of your tools to another set of targets and compare them in the log and dashboard."
        )
        vgrid = QGridLayout(self.variants_box)
        vgrid.addWidget(self.variants_hint, 0, 0, 1, 4)
        editing, name, share = QLabel("Editing"), QLabel("Name"), QLabel("Share")
        vgrid.addWidget(editing, 1, 0)
        vgrid.addWidget(self.variant_pick, 1, 1)
        vgrid.addWidget(name, 1, 2)
        vgrid.addWidget(self.variant_name, 1, 3)
        vgrid.addWidget(share, 2, 0)
        vgrid.addWidget(self.variant_split, 2, 1, 1, 2)
        vgrid.addWidget(self.variant_share, 2, 3)
        vbuttons = QHBoxLayout()
        vbuttons.addWidget(self.split_button)
        vbuttons.addWidget(self.add_variant_button)
        vbuttons.addWidget(self.remove_variant_button)
        vbuttons.addStretch(1)
        vgrid.addLayout(vbuttons, 3, 0, 1, 4)
        self._variant_only = (
            editing,
            name,
            share,
            self.variant_pick,
            self.variant_name,
            self.variant_split,
            self.variant_share,
            self.remove_variant_button,
            self.add_variant_button,
        )
        """Shown only while the route has an A/B split."""

        self.targets_box = QGroupBox("Targets, in fallback order")
        self.targets_model = TargetsModel()
        self.targets_view = TargetsView()
        self.targets_view.setModel(self.targets_model)
        header = self.targets_view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.remove_target_button = QPushButton("Remove")
        self.add_provider = QComboBox()
        self.add_provider.setAccessibleName("Provider of the new target")
        self.add_model = QComboBox()
        self.add_model.setEditable(True)
        self.add_model.setAccessibleName("Model of the new target")
        self.add_model.lineEdit().setPlaceholderText("model name")
        self.add_target_button = QPushButton("Add target")
        self.weights = QWidget()
        self.weights_form = QFormLayout(self.weights)
        self.weights_form.setContentsMargins(0, 0, 0, 0)
        tlayout = QVBoxLayout(self.targets_box)
        tlayout.addWidget(self.targets_view, 1)
        moves = QHBoxLayout()
        moves.addWidget(self.up_button)
        moves.addWidget(self.down_button)
        moves.addWidget(self.remove_target_button)
        moves.addStretch(1)
        tlayout.addLayout(moves)
        add = QHBoxLayout()
        add.addWidget(self.add_provider)
        add.addWidget(self.add_model, 1)
        add.addWidget(self.add_target_button)
        tlayout.addLayout(add)
        tlayout.addWidget(self.weights)

        self.fallback_box = QGroupBox("Fallback")
        self.triggers = {key: QCheckBox(label) for key, label in TRIGGERS.items()}
        self.retries = QSpinBox()
        self.retries.setRange(0, 10)

        self.cooldown_failures = QSpinBox()
        self.cooldown_failures.setRange(1, 1000)
        self.cooldown_failures.setSuffix(" failures in a row")
        self.cooldown_seconds = QDoubleSpinBox()
        self.cooldown_seconds.setRange(0, 86400)
        self.cooldown_seconds.setDecimals(0)
        self.cooldown_seconds.setSuffix(" s")
        self.cooldown_seconds.setToolTip("A target that keeps failing is skipped for this long, then tried again")
        self.budget = QDoubleSpinBox()
        self.budget.setRange(1, 3600)
        self.budget.setDecimals(0)
        self.budget.setSuffix(" s for all attempts")
        self.budget.setToolTip(
            "Time for all attempts of one request together, before its answer starts; "
            "each provider's own connect and first-token timeouts still apply."
        )
        self.hedge = QSpinBox()
        self.hedge.setRange(0, 600_000)
        self.hedge.setSingleStep(250)
        self.hedge.setSpecialValueText("off")
        self.hedge.setSuffix(" ms")
        self.hedge.setToolTip(
            "If the first target has not started answering by then, also ask the next and keep the first answer"
        )
        fgrid = QGridLayout(self.fallback_box)
        fgrid.addWidget(plain_label("Move on to the next target on:"), 0, 0, 1, 2)
        for i, box in enumerate(self.triggers.values()):
            fgrid.addWidget(box, 1 + i // 2, i % 2)
        fform = QFormLayout()
        fform.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        fform.addRow("Retries on the same target", self.retries)
        fform.addRow("Cool down after", self.cooldown_failures)
        fform.addRow("…then skip it for", self.cooldown_seconds)
        fform.addRow("Give up after", self.budget)
        fform.addRow("Hedge after", self.hedge)
        fgrid.addLayout(fform, 5, 0, 1, 2)

        self.cache_box = QGroupBox("Cache and limits")
        self.cache_on = QCheckBox("Answer identical requests from the cache")
        self.cache_ttl = QSpinBox()
        self.cache_ttl.setRange(1, 30 * 24 * 60)
        self.cache_ttl.setSuffix(" min")
        self.rpm = QSpinBox()
        self.rpm.setRange(0, 1_000_000)
        self.rpm.setSpecialValueText("no limit")
        self.tpm = QSpinBox()
        self.tpm.setRange(0, 100_000_000)
        self.tpm.setSingleStep(1000)
        self.tpm.setSpecialValueText("no limit")
        self.daily = QDoubleSpinBox()
        self.daily.setRange(0, 1_000_000)
        self.daily.setPrefix("$")
        self.daily.setSpecialValueText("no budget")
        self.monthly = QDoubleSpinBox()
        self.monthly.setRange(0, 1_000_000)
        self.monthly.setPrefix("$")
        self.monthly.setSpecialValueText("no budget")
        cform = QFormLayout(self.cache_box)
        cform.addRow("", self.cache_on)
        cform.addRow("Keep answers for", self.cache_ttl)
        cform.addRow("Requests per minute", self.rpm)
        cform.addRow("Tokens per minute", self.tpm)
        cform.addRow("Daily budget", self.daily)
        cform.addRow("Monthly budget", self.monthly)

        self.try_box = QGroupBox("Try it")
        self.test_button = QPushButton("Test this route")
        self.test_result = plain_label("Sends a short request through this route and shows who answered.")
        self.fault_target = QComboBox()
        self.fault_target.setAccessibleName("Target to fail")
        self.fault_target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.fault_target.setMinimumContentsLength(16)
        self.fault_kind = QComboBox()
        for fault in FAULTS:
            self.fault_kind.addItem(FAULT_LABELS.get(fault, fault), fault)
        self.fault_kind.setAccessibleName("Kind of failure")
        self.fault_kind.setToolTip("Stream cut: the answer starts, then the connection drops after the first words")
        self.fault_count = QSpinBox()
        self.fault_count.setRange(1, 1000)
        self.fault_count.setPrefix("next ")
        self.fault_count.setSuffix(" calls")
        self.fault_count.setToolTip("By default, enough calls to use up this route's retries on the target.")
        self.simulate_button = QPushButton("Simulate failure")
        self.clear_button = QPushButton("Clear")
        self.pending = plain_label("")
        trylayout = QGridLayout(self.try_box)
        trylayout.addWidget(self.test_button, 0, 0)
        trylayout.addWidget(self.test_result, 0, 1, 1, 3)
        trylayout.addWidget(self.fault_target, 1, 0, 1, 2)
        trylayout.addWidget(self.fault_kind, 1, 2)
        trylayout.addWidget(self.fault_count, 1, 3)
        trylayout.addWidget(self.pending, 2, 0, 1, 2)
        trylayout.addWidget(self.simulate_button, 2, 2)
        trylayout.addWidget(self.clear_button, 2, 3)
        trylayout.setColumnStretch(1, 1)

        self.status = plain_label("")
        self.status.setAccessibleName("Save status")
        editor = QWidget()
        elayout = QVBoxLayout(editor)
        elayout.addLayout(basics)
        elayout.addWidget(self.targets_box)
        elayout.addWidget(self.variants_box)
        elayout.addWidget(self.fallback_box)
        elayout.addWidget(self.cache_box)
        elayout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(editor)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        right = QVBoxLayout()
        right.addWidget(self.scroll, 1)
        right.addWidget(self.try_box)
        right.addWidget(self.status)
        self.editor = QWidget()
        self.editor.setLayout(right)
        split = QSplitter()
        split.addWidget(left_box)
        split.addWidget(self.editor)
        split.setStretchFactor(1, 1)
        split.setSizes([200, 600])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

        # -- wiring -----------------------------------------------------------------------------
        self.routes.currentItemChanged.connect(self._on_route_selected)
        self.routes.itemChanged.connect(self._on_route_ticked)
        self.new_button.clicked.connect(self.new_route)
        self.delete_button.clicked.connect(self.delete_route)
        self.history_button.clicked.connect(self.show_history)
        for line in (self.name, self.description, self.variant_name):
            line.textEdited.connect(self._edited)
        for box in (self.enabled, self.cache_on, *self.triggers.values()):
            box.toggled.connect(self._edited)
        for spin in (
            self.retries,
            self.budget,
            self.cooldown_failures,
            self.cooldown_seconds,
            self.hedge,
            self.cache_ttl,
            self.rpm,
            self.tpm,
            self.daily,
            self.monthly,
        ):
            spin.valueChanged.connect(self._edited)
        self.strategy.currentIndexChanged.connect(self._on_strategy)
        self.variant_split.valueChanged.connect(self._edited)
        self.variant_pick.currentIndexChanged.connect(self._on_variant_picked)
        self.split_button.clicked.connect(self.split_variants)
        self.add_variant_button.clicked.connect(self.add_variant)
        self.remove_variant_button.clicked.connect(self.remove_variant)
        self.targets_model.reordered.connect(self._on_targets_changed)
        self.targets_view.move_requested.connect(self.move_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.remove_target_button.clicked.connect(self.remove_target)
        self.add_provider.currentIndexChanged.connect(self._fill_models)
        self.add_target_button.clicked.connect(self.add_target)
        self.test_button.clicked.connect(self.test_route)
        self.simulate_button.clicked.connect(self.simulate)
        self.clear_button.clicked.connect(self.clear_simulated)
        bridge.routing.route_tested.connect(self._on_tested)
        bridge.config.answered.connect(self._on_result)
        bridge.config_applied.connect(self._on_config_applied)
        bridge.started.connect(lambda _url: self.reload())
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save_now)
        self.reload()

    # -- reading the config in force --------------------------------------------------------------

    def config(self) -> GatewayConfig | None:
        return self.bridge.config.current

    def reload(self, select: str | None = None) -> None:
        """Fill the route list from the config in force (keeps the selection, or selects ``select``)."""
        config = self.config()
        current = select or self.original_name
        self.routes.blockSignals(True)
        self.routes.clear()
        if config is not None:
            for route in config.routes:
                label = route.name + ("   (default)" if route.name == config.default_route else "")
                item = QListWidgetItem(label)
                item.setData(Qt.ItemDataRole.UserRole, route.name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if route.enabled else Qt.CheckState.Unchecked)
                if route.description:
                    item.setToolTip(route.description)
                self.routes.addItem(item)
                if route.name == current:
                    self.routes.setCurrentItem(item)
            providers = [p.id for p in config.providers]
            keep = self.add_provider.currentText()
            self.add_provider.blockSignals(True)
            self.add_provider.clear()
            self.add_provider.addItems(providers)
            if keep in providers:
                self.add_provider.setCurrentText(keep)
            self.add_provider.blockSignals(False)
            self._fill_models()
        self.routes.blockSignals(False)
        if self.routes.currentItem() is None and self.routes.count():
            self.routes.setCurrentRow(0)
        else:
            self._on_route_selected()

    def _route_config(self, name: str | None) -> RouteConfig | None:
        config = self.config()
        if config is None or name is None:
            return None
        return next((r for r in config.routes if r.name == name), None)

    def _on_route_selected(self, *_: object) -> None:
        if self.save_timer.isActive():  # an edit waiting to be saved: save it before switching
            self.save_timer.stop()
            self.save()
        item = self.routes.currentItem()
        route = self._route_config(item.data(Qt.ItemDataRole.UserRole) if item is not None else None)
        self.editor.setEnabled(route is not None)
        self.delete_button.setEnabled(route is not None)
        if route is None:
            self.route = self.saved_route = self.original_name = None
            return
        self.original_name = route.name
        self.route = route.model_dump()
        self.saved_route = copy.deepcopy(self.route)
        self.variant_index = 0
        self.status.setText("")
        self._populate()
        self._refresh_pending()

    def _populate(self) -> None:
        """Widgets from ``self.route``; no signals fire as edits while it runs."""
        route = self.route
        assert route is not None
        self._loading = True
        try:
            self.name.setText(route["name"])
            self.description.setText(route.get("description") or "")
            self.enabled.setChecked(route["enabled"])
            self.strategy.setCurrentIndex(max(0, self.strategy.findData(route["strategy"])))
            for key, box in self.triggers.items():
                box.setChecked(route["triggers"][key])
            self.retries.setValue(route["retries"]["max_retries"])
            self.budget.setValue(route["retries"]["budget"])
            self.fault_count.setValue(route["retries"]["max_retries"] + 1)  # enough to see the fallback
            self.cooldown_failures.setValue(route["cooldown"]["failures"])
            self.cooldown_seconds.setValue(route["cooldown"]["seconds"])
            self.hedge.setValue(route.get("hedge_after_ms") or 0)
            self.cache_on.setChecked(route["cache"]["enabled"])
            self.cache_ttl.setValue(max(1, round(route["cache"]["ttl"] / 60)))
            limits = route["limits"]
            self.rpm.setValue(limits.get("requests_per_minute") or 0)
            self.tpm.setValue(limits.get("tokens_per_minute") or 0)
            self.daily.setValue(limits.get("daily_usd") or 0)
            self.monthly.setValue(limits.get("monthly_usd") or 0)
            variants = route.get("variants") or []
            self.variant_pick.clear()
            for v in variants:
                self.variant_pick.addItem(v["name"])
            self.variant_index = min(self.variant_index, max(0, len(variants) - 1))
            if variants:
                self.variant_pick.setCurrentIndex(self.variant_index)
                v = variants[self.variant_index]
                self.variant_name.setText(v["name"])
                self.variant_split.setValue(round(min(100.0, v["weight"])))
            for w in self._variant_only:
                w.setVisible(bool(variants))
            self.split_button.setVisible(not variants)
            self._update_share()
            self._show_targets()
        finally:
            self._loading = False

    def current_targets(self) -> list[dict[str, Any]]:
        """The target list being edited: the route's, or the selected variant's."""
        assert self.route is not None
        variants = self.route.get("variants") or []
        if variants:
            return variants[min(self.variant_index, len(variants) - 1)]["targets"]
        return self.route["targets"]

    def _show_targets(self) -> None:
        assert self.route is not None
        weighted = self.route["strategy"] == "weighted"
        variants = self.route.get("variants") or []
        title = "Targets, in fallback order"
        if variants:
            name = variants[min(self.variant_index, len(variants) - 1)]["name"]
            title = f"Targets of variant {name}, in fallback order"
        self.targets_box.setTitle(title)
        self.targets_model.set_targets(self.current_targets(), weighted)
        self.targets_view.setColumnHidden(3, not weighted)
        # one weight slider per target when the strategy shares by weight
        while self.weights_form.rowCount():
            self.weights_form.removeRow(0)
        self.weights.setVisible(weighted)
        if weighted:
            targets = self.current_targets()
            total = sum(t.get("weight", 1.0) for t in targets) or 1.0
            for i, target in enumerate(targets):
                slider = QSlider(Qt.Orientation.Horizontal)
                slider.setRange(0, 100)
                slider.setValue(round(min(100.0, target.get("weight", 1.0))))
                slider.setAccessibleName(f"Weight of {_target_label(target)}")
                share = QLabel(f"{100 * target.get('weight', 1.0) / total:.0f}%")
                share.setMinimumWidth(40)
                row = QHBoxLayout()
                row.addWidget(slider, 1)
                row.addWidget(share)
                slider.valueChanged.connect(lambda value, i=i: self._on_weight(i, value))
                self.weights_form.addRow(_target_label(target), row)
        self._fill_fault_targets()

    def _fill_fault_targets(self) -> None:
        assert self.route is not None
        keep = self.fault_target.currentData()
        self.fault_target.clear()
        targets = [*self.route["targets"], *(t for v in self.route.get("variants") or [] for t in v["targets"])]
        for provider, model in dict.fromkeys((t["provider"], t["model"]) for t in targets):
            self.fault_target.addItem(f"{provider} / {model}", f"{provider}\t{model}")
        if keep is not None:
            index = self.fault_target.findData(keep)
            if index >= 0:
                self.fault_target.setCurrentIndex(index)

    def _fill_models(self, *_: object) -> None:
        config = self.config()
        provider = self.add_provider.currentText()
        models: list[str] = []
        if config is not None:
            p = config.provider(provider)
            models = list(p.models) if p is not None else []
            for route in config.routes:
                for t in route.all_targets:
                    if t.provider == provider and t.model not in models:
                        models.append(t.model)
        keep = self.add_model.currentText()
        self.add_model.clear()
        self.add_model.addItems(models)
        self.add_model.setEditText(keep if keep else (models[0] if models else ""))

    # -- editing ----------------------------------------------------------------------------------

    def _collect(self) -> None:
        """``self.route`` from the widgets (targets are edited in place by their model)."""
        route = self.route
        assert route is not None
        route["name"] = self.name.text().strip()
        route["description"] = self.description.text().strip()
        route["enabled"] = self.enabled.isChecked()
        route["strategy"] = self.strategy.currentData()
        route["triggers"] = {key: box.isChecked() for key, box in self.triggers.items()}
        route["retries"]["max_retries"] = self.retries.value()
        route["retries"]["budget"] = self.budget.value()
        route["cooldown"]["failures"] = self.cooldown_failures.value()
        route["cooldown"]["seconds"] = self.cooldown_seconds.value()
        route["hedge_after_ms"] = self.hedge.value() or None
        route["cache"]["enabled"] = self.cache_on.isChecked()
        route["cache"]["ttl"] = float(self.cache_ttl.value() * 60)
        route["limits"] = {
            "requests_per_minute": self.rpm.value() or None,
            "tokens_per_minute": self.tpm.value() or None,
            "daily_usd": self.daily.value() or None,
            "monthly_usd": self.monthly.value() or None,
        }
        variants = route.get("variants") or []
        if variants:
            v = variants[min(self.variant_index, len(variants) - 1)]
            v["name"] = self.variant_name.text().strip()
            v["weight"] = float(self.variant_split.value())
            self.variant_pick.setItemText(self.variant_index, v["name"])

    def _edited(self, *_: object) -> None:
        if self._loading or self.route is None:
            return
        self._collect()
        self._update_share()
        self._check_and_schedule()

    def _on_strategy(self, *_: object) -> None:
        if self._loading or self.route is None:
            return
        self._collect()
        if self.route["strategy"] == "weighted":  # default weights (all 1) become an even split
            for targets in [self.route["targets"], *(v["targets"] for v in self.route.get("variants") or [])]:
                if targets and all(t.get("weight", 1.0) == 1.0 for t in targets):
                    for t in targets:
                        t["weight"] = float(round(100 / len(targets)))
        self._loading = True
        try:
            self._show_targets()
        finally:
            self._loading = False
        self._check_and_schedule()

    def _on_weight(self, index: int, value: int) -> None:
        targets = self.current_targets()
        if index < len(targets):
            targets[index]["weight"] = float(value)
            total = sum(t.get("weight", 1.0) for t in targets) or 1.0
            for row in range(self.weights_form.rowCount()):
                field = self.weights_form.itemAt(row, QFormLayout.ItemRole.FieldRole)
                if field is not None and field.layout() is not None and row < len(targets):
                    share = field.layout().itemAt(1).widget()
                    share.setText(f"{100 * targets[row].get('weight', 1.0) / total:.0f}%")
            self.targets_model.dataChanged.emit(self.targets_model.index(index, 3), self.targets_model.index(index, 3))
            self._check_and_schedule()

    def _update_share(self) -> None:
        variants = (self.route or {}).get("variants") or []
        if variants:
            total = sum(v["weight"] for v in variants) or 1.0
            v = variants[min(self.variant_index, len(variants) - 1)]
            self.variant_share.setText(f"{100 * v['weight'] / total:.0f}% of clients")

    def _on_targets_changed(self) -> None:
        """A drag, a move, an added or removed target."""
        if self.route is None:
            return
        self._loading = True
        try:
            selected = self.targets_view.currentIndex().row()
            self._show_targets()
            if selected >= 0:
                self.targets_view.selectRow(selected)
        finally:
            self._loading = False
        self._check_and_schedule()

    def move_selected(self, delta: int) -> None:
        row = self.targets_view.currentIndex().row()
        targets = self.current_targets()
        if row < 0 or not 0 <= row + delta < len(targets):
            return
        self.targets_model.move_rows([row], row + delta + (1 if delta > 0 else 0))
        self.targets_view.selectRow(row + delta)

    def remove_target(self) -> None:
        row = self.targets_view.currentIndex().row()
        targets = self.current_targets()
        if 0 <= row < len(targets):
            del targets[row]
            self._on_targets_changed()

    def add_target(self) -> None:
        if self.route is None:
            return
        provider, model = self.add_provider.currentText(), self.add_model.currentText().strip()
        if not provider or not model:
            self.status.setText("Pick a provider and type a model name to add a target.")
            return
        self.current_targets().append({"provider": provider, "model": model, "weight": 1.0})
        self._on_targets_changed()

    def split_variants(self) -> None:
        route = self.route
        if route is None or not route["targets"]:
            return
        targets = route["targets"]
        route["variants"] = [
            {"name": "a", "weight": 50.0, "targets": targets},
            {"name": "b", "weight": 50.0, "targets": copy.deepcopy(targets)},
        ]
        route["targets"] = []
        self.variant_index = 1
        self._populate()
        self._check_and_schedule()

    def add_variant(self) -> None:
        route = self.route
        if route is None or not route.get("variants"):
            return
        names = {v["name"] for v in route["variants"]}
        name = next(c for c in "abcdefghijklmnopqrstuvwxyz" + "".join(map(str, range(10))) if c not in names)
        route["variants"].append({"name": name, "weight": 50.0, "targets": copy.deepcopy(self.current_targets())})
        self.variant_index = len(route["variants"]) - 1
        self._populate()
        self._check_and_schedule()

    def remove_variant(self) -> None:
        route = self.route
        if route is None or not route.get("variants"):
            return
        del route["variants"][self.variant_index]
        if len(route["variants"]) == 1:  # one variant left: no split any more
            route["targets"] = route["variants"][0]["targets"]
            route["variants"] = []
        self.variant_index = 0
        self._populate()
        self._check_and_schedule()

    def _on_variant_picked(self, index: int) -> None:
        if self._loading or index < 0:
            return
        self._collect()
        self.variant_index = index
        self._populate()

    def problems(self) -> list[str]:
        """What is wrong with the edited route, checked with the config file's own rules."""
        config = self.config()
        if config is None or self.route is None:
            return ["The gateway is not running."]
        data = config.model_dump()
        index = next((i for i, r in enumerate(data["routes"]) if r["name"] == self.original_name), None)
        if index is None:
            data["routes"].append(self.route)
        else:
            data["routes"][index] = self.route
        if self.original_name == config.default_route and self.route["name"] != self.original_name:
            data["default_route"] = self.route["name"]
        try:
            GatewayConfig.model_validate(data)
        except ValidationError as exc:
            return validation_problems(exc)
        return []

    def _check_and_schedule(self) -> None:
        problems = self.problems()
        if problems:
            self.save_timer.stop()
            self.status.setText("Not saved: " + "; ".join(problems))
            return
        if self.route == self.saved_route:
            self.save_timer.stop()
            return
        self.status.setText("Saving…")
        self.save_timer.start()

    def save_now(self) -> None:
        if self.save_timer.isActive():
            self.save_timer.stop()
            self.save()

    def save(self) -> None:
        """Save the edited route as a new config version and apply it (on the gateway's loop)."""
        if self.route is None or self.route == self.saved_route:
            return  # the timer only runs for a valid edit (_check_and_schedule)
        route = RouteConfig.model_validate(self.route).model_dump(exclude_defaults=True)
        old_name = self.original_name
        summary = describe_change(self.saved_route, self.route)

        def mutate(data: dict[str, Any]) -> None:  # runs on the gateway loop, on the config in force
            routes = data.setdefault("routes", [])
            index = next((i for i, r in enumerate(routes) if r.get("name") == old_name), None)
            if index is None:
                routes.append(route)
            else:
                routes[index] = route
            if old_name is not None and data.get("default_route") == old_name:
                data["default_route"] = route["name"]

        self._saving = True
        self.saved_route = copy.deepcopy(self.route)
        self.original_name = self.route["name"]
        self.bridge.config.update(summary, mutate, action="route")

    def _on_result(self, action: str, ok: bool, message: str) -> None:
        if action == "route":
            self._saving = False
            if ok:
                self.status.setText(f"Saved and applied: {message}")
                self.saved.emit(message)
                if not self.save_timer.isActive():  # a rename shows in the list; nothing else moves
                    item = self.routes.currentItem()
                    if item is not None and item.data(Qt.ItemDataRole.UserRole) != self.original_name:
                        self.reload()
            else:
                self.status.setText(f"Not saved: {message}")
                self.saved_route = None  # the next edit tries again
        elif action == "route-list":
            self.status.setText(message if ok else f"Not done: {message}")

    def _on_config_applied(self, _version: int, _summary: str) -> None:
        if self.save_timer.isActive() or self._saving:
            return  # our own edit is on its way; do not overwrite the widgets under the user
        self.reload()

    # -- the route list ---------------------------------------------------------------------------

    def _on_route_ticked(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        on = item.checkState() == Qt.CheckState.Checked
        if name == self.original_name and self.route is not None:
            self._loading = True
            self.enabled.setChecked(on)
            self._loading = False
            self._edited()
            return

        def mutate(data: dict[str, Any]) -> None:
            for r in data.get("routes", []):
                if r.get("name") == name:
                    r["enabled"] = on

        self.bridge.config.update(f"route {name}: {'on' if on else 'off'}", mutate, action="route-list")

    def new_route(self) -> None:
        config = self.config()
        if config is None:
            return
        name, ok = QInputDialog.getText(self, "New route", "The model name your tools will ask for:")
        name = name.strip()
        if not ok or not name:
            return
        provider = self.add_provider.currentText() or (config.providers[0].id if config.providers else "")
        model = self.add_model.currentText().strip() or "echo"
        route = {"name": name, "targets": [{"provider": provider, "model": model}]}
        try:
            GatewayConfig.model_validate({**config.model_dump(), "routes": [*config.model_dump()["routes"], route]})
        except ValidationError as exc:
            self.status.setText("Not added: " + "; ".join(validation_problems(exc)))
            return

        def mutate(data: dict[str, Any]) -> None:
            data.setdefault("routes", []).append(route)

        self.original_name = name  # select it when the new config arrives
        self.bridge.config.update(f"add route {name}", mutate, action="route-list")

    def delete_route(self) -> None:
        name = self.original_name
        config = self.config()
        if name is None or config is None:
            return
        if config.default_route == name:
            self.status.setText(f"{name} takes unknown model names; pick another default in the tray menu first.")
            return
        answer = QMessageBox.question(self, "Delete route", f"Delete the route {name}? Tools asking for it get 404.")
        if answer != QMessageBox.StandardButton.Yes:
            return

        def mutate(data: dict[str, Any]) -> None:
            data["routes"] = [r for r in data.get("routes", []) if r.get("name") != name]

        self.original_name = None
        self.bridge.config.update(f"delete route {name}", mutate, action="route-list")

    def show_history(self) -> None:
        if self.history is None:
            self.history = HistoryDialog(self.bridge, self)
        else:
            self.history.reload()
        self.history.show()
        self.history.raise_()

    # -- trying the route -------------------------------------------------------------------------

    def test_route(self) -> None:
        if self.original_name is None:
            return
        self.save_now()
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Sending a short request to {self.original_name}…")
        self.bridge.routing.test_route(self.original_name)

    def _on_tested(self, result: RouteTestResult) -> None:
        self.test_button.setEnabled(True)
        if result.route != self.original_name:
            return
        tries = f", after {result.attempts} attempts" if result.attempts > 1 else ""
        if result.ok:
            self.test_result.setText(
                f"Answered by {result.provider} / {result.model} in {result.milliseconds:.0f} ms{tries}: "
                f"“{result.message}”"
            )
        else:
            status = f"HTTP {result.status}: " if result.status else ""
            self.test_result.setText(f"Failed{tries} ({status}{result.message})")
        self._refresh_pending()

    def simulate(self) -> None:
        key = self.fault_target.currentData()
        if key is None:
            return
        provider, _, model = key.partition("\t")
        try:
            fault, count = self.fault_kind.currentData(), self.fault_count.value()
            self.bridge.routing.simulate_failure(provider, model, fault, count)
        except ValueError as exc:
            self.pending.setText(str(exc))
            return
        self._refresh_pending()

    def clear_simulated(self) -> None:
        self.bridge.routing.clear_simulated()
        self._refresh_pending()

    def _refresh_pending(self) -> None:
        pending = self.bridge.routing.pending_simulated()
        if not pending:
            self.pending.setText("No failures simulated.")
            self.clear_button.setEnabled(False)
            return
        parts = []
        for target, faults in pending.items():
            kinds = ", ".join(f"{faults.count(f)}× {FAULT_LABELS.get(f, f).lower()}" for f in dict.fromkeys(faults))
            parts.append(f"{target.replace('/', ' / ', 1)}: {kinds}")
        self.pending.setText("Will fail next: " + "; ".join(parts))
        self.clear_button.setEnabled(True)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.route is not None:
            self._refresh_pending()
