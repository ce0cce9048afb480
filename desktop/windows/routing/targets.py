"""A route's targets in fallback order: the table (drag a row, or Alt+Up/Alt+Down, to reorder),
Move up/down, Remove, Add target, and a weight slider per target when the strategy shares by weight.

The targets are the route's plain data (``{"provider", "model", "weight"}`` dicts), edited in place:
the page owns the route and saves it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QByteArray, QMimeData, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.guarded import ComboBox, Slider
from desktop.windows.routing.changes import target_label
from proxy.api import GatewayConfig

MIME = "application/x-switchboard-target-rows"


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

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
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


class TargetsBox(QGroupBox):
    """The targets being edited (the route's, or one A/B variant's) and the controls around them.

    Signals:
        changed(): the targets were reordered, added, removed or re-weighted (in place).
        problem(str): what the user should do first, for the page's status line.
    """

    changed = Signal()
    problem = Signal(str)

    def __init__(self) -> None:
        super().__init__("Targets, in fallback order")
        self.targets: list[dict[str, Any]] = []
        self.variant: str | None = None
        self.config: GatewayConfig | None = None
        self.model = TargetsModel()
        self.view = TargetsView()
        self.view.setModel(self.model)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.remove_button = QPushButton("Remove")
        self.add_provider = ComboBox()
        self.add_provider.setAccessibleName("Provider of the new target")
        self.add_model = ComboBox()
        self.add_model.setEditable(True)
        self.add_model.setAccessibleName("Model of the new target")
        line = self.add_model.lineEdit()
        assert line is not None  # editable
        line.setPlaceholderText("model name")
        self.add_button = QPushButton("Add target")
        self.weights = QWidget()
        self.weights_form = QFormLayout(self.weights)
        self.weights_form.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        moves = QHBoxLayout()
        moves.addWidget(self.up_button)
        moves.addWidget(self.down_button)
        moves.addWidget(self.remove_button)
        moves.addStretch(1)
        layout.addLayout(moves)
        add = QHBoxLayout()
        add.addWidget(self.add_provider)
        add.addWidget(self.add_model, 1)
        add.addWidget(self.add_button)
        layout.addLayout(add)
        layout.addWidget(self.weights)
        self.model.reordered.connect(self._on_changed)
        self.view.move_requested.connect(self.move_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.remove_button.clicked.connect(self.remove_target)
        self.add_provider.currentIndexChanged.connect(self.fill_models)
        self.add_button.clicked.connect(self.add_target)

    def show_targets(self, targets: list[dict[str, Any]], weighted: bool, variant: str | None) -> None:
        """Show ``targets`` (edited in place from now on), of ``variant`` when the route is split."""
        self.targets, self.variant = targets, variant
        self.setTitle(f"Targets of variant {variant}, in fallback order" if variant else "Targets, in fallback order")
        self.model.set_targets(targets, weighted)
        self.view.setColumnHidden(3, not weighted)
        while self.weights_form.rowCount():
            self.weights_form.removeRow(0)
        self.weights.setVisible(weighted)
        if not weighted:
            return
        total = sum(t.get("weight", 1.0) for t in targets) or 1.0
        for i, target in enumerate(targets):
            slider = Slider()
            slider.setRange(0, 100)
            slider.setValue(round(min(100.0, target.get("weight", 1.0))))
            slider.setAccessibleName(f"Weight of {target_label(target)}")
            share = QLabel(f"{100 * target.get('weight', 1.0) / total:.0f}%")
            share.setMinimumWidth(40)
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(share)
            slider.valueChanged.connect(lambda value, i=i: self._on_weight(i, value))
            self.weights_form.addRow(target_label(target), row)

    def set_config(self, config: GatewayConfig) -> None:
        """Offer the providers of ``config`` (and their models) for a new target."""
        self.config = config
        providers = [p.id for p in config.providers]
        keep = self.add_provider.currentText()
        self.add_provider.blockSignals(True)
        self.add_provider.clear()
        self.add_provider.addItems(providers)
        if keep in providers:
            self.add_provider.setCurrentText(keep)
        self.add_provider.blockSignals(False)
        self.fill_models()

    def fill_models(self, *_: object) -> None:
        """The chosen provider's models, and those its routes use, as suggestions."""
        config = self.config
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

    def move_selected(self, delta: int) -> None:
        row = self.view.currentIndex().row()
        if row < 0 or not 0 <= row + delta < len(self.targets):
            return
        self.model.move_rows([row], row + delta + (1 if delta > 0 else 0))
        self.view.selectRow(row + delta)

    def remove_target(self) -> None:
        row = self.view.currentIndex().row()
        if 0 <= row < len(self.targets):
            del self.targets[row]
            self._on_changed()

    def add_target(self) -> None:
        provider, model = self.add_provider.currentText(), self.add_model.currentText().strip()
        if not provider or not model:
            self.problem.emit("Pick a provider and type a model name to add a target.")
            return
        self.targets.append({"provider": provider, "model": model, "weight": 1.0})
        self._on_changed()

    def _on_weight(self, index: int, value: int) -> None:
        targets = self.targets
        if index >= len(targets):
            return
        targets[index]["weight"] = float(value)
        total = sum(t.get("weight", 1.0) for t in targets) or 1.0
        for row in range(self.weights_form.rowCount()):
            field = self.weights_form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            shares = field.layout() if field is not None else None
            share = shares.itemAt(1) if shares is not None and row < len(targets) else None
            label = share.widget() if share is not None else None
            if isinstance(label, QLabel):
                label.setText(f"{100 * targets[row].get('weight', 1.0) / total:.0f}%")
        self.model.dataChanged.emit(self.model.index(index, 3), self.model.index(index, 3))
        self.changed.emit()

    def _on_changed(self) -> None:
        """A drag, a move, an added or removed target: shown again, keeping the selected row."""
        selected = self.view.currentIndex().row()
        self.show_targets(self.targets, self.model.show_weights, self.variant)
        if selected >= 0:
            self.view.selectRow(selected)
        self.changed.emit()
