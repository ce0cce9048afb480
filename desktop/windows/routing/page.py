"""The routing page: the list of routes, and the editor of the selected one (see the package
docstring). It owns the route being edited as plain data; its parts show and edit pieces of it."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.widgets.schema_form import plain_problems
from desktop.windows.routing import variants
from desktop.windows.routing.changes import describe_change
from desktop.windows.routing.form import RouteForm
from desktop.windows.routing.history import HistoryDialog
from desktop.windows.routing.targets import TargetsBox
from desktop.windows.routing.trying import TryBox
from desktop.windows.routing.variants import VariantsBox
from desktop.windows.status import confirmed, heading, plain_label
from proxy.api import GatewayConfig, RouteConfig

SAVE_DELAY_MS = 600
"""A valid edit is saved this long after the last change (a burst of edits makes one version)."""


class RoutingPage(QWidget):
    """The routing editor.

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

        self.routes = QListWidget()
        self.routes.setAccessibleName("Routes")
        self.routes.setToolTip("Tick a route to turn it on; untick to turn it off.")
        self.new_button = QPushButton("New route")
        self.delete_button = QPushButton("Delete")
        self.history_button = QPushButton("History…")
        self.form = RouteForm(self)
        self.targets = TargetsBox()
        self.variants = VariantsBox()
        self.trying = TryBox(bridge, lambda: self.original_name)
        self.status = plain_label("")
        self.status.setAccessibleName("Save status")
        self.editor = QWidget()
        self._lay_out()

        self.routes.currentItemChanged.connect(self._on_route_selected)
        self.routes.itemChanged.connect(self._on_route_ticked)
        self.new_button.clicked.connect(self.new_route)
        self.delete_button.clicked.connect(self.delete_route)
        self.history_button.clicked.connect(self.show_history)
        self.form.edited.connect(self._edited)
        self.variants.edited.connect(self._edited)
        self.variants.pick.currentIndexChanged.connect(self._on_variant_picked)
        self.variants.split_button.clicked.connect(self.split_variants)
        self.variants.add_button.clicked.connect(self.add_variant)
        self.variants.remove_button.clicked.connect(self.remove_variant)
        self.targets.changed.connect(self._on_targets_changed)
        self.targets.problem.connect(self.status.setText)
        self.trying.test_button.clicked.connect(self.test_route)
        bridge.config.answered.connect(self._on_result)
        bridge.config_applied.connect(self._on_config_applied)
        bridge.started.connect(lambda _url: self.reload())
        QShortcut(QKeySequence.StandardKey.Save, self, self.save_now)
        self.reload()

    def _lay_out(self) -> None:
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
        fields = QWidget()
        inner = QVBoxLayout(fields)
        inner.addLayout(self.form.basics())
        inner.addWidget(self.targets)
        inner.addWidget(self.variants)
        inner.addWidget(self.form.fallback_box())
        inner.addWidget(self.form.cache_box())
        inner.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(fields)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        right = QVBoxLayout(self.editor)
        right.addWidget(scroll, 1)
        right.addWidget(self.trying)
        right.addWidget(self.status)
        split = QSplitter()
        split.addWidget(left_box)
        split.addWidget(self.editor)
        split.setStretchFactor(1, 1)
        split.setSizes([200, 600])
        QVBoxLayout(self).addWidget(split)

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
            self.targets.set_config(config)
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
        self.trying.refresh_pending()

    def _populate(self) -> None:
        """Widgets from ``self.route``; no signals fire as edits while it runs."""
        route = self.route
        assert route is not None
        self._loading = True
        try:
            self.form.load(route)
            self.trying.show_route(route)
            variants = route.get("variants") or []
            self.variant_index = min(self.variant_index, max(0, len(variants) - 1))
            self.variants.load(variants, self.variant_index)
            self._show_targets()
        finally:
            self._loading = False

    def current_targets(self) -> list[dict[str, Any]]:
        """The target list being edited: the route's, or the selected variant's."""
        assert self.route is not None
        variants = self.route.get("variants") or []
        targets: list[dict[str, Any]] = (
            variants[min(self.variant_index, len(variants) - 1)]["targets"] if variants else self.route["targets"]
        )
        return targets

    def _show_targets(self) -> None:
        assert self.route is not None
        variants = self.route.get("variants") or []
        name = variants[min(self.variant_index, len(variants) - 1)]["name"] if variants else None
        self.targets.show_targets(self.current_targets(), self.route["strategy"] == "weighted", name)
        self.trying.fill_fault_targets(self.route)

    # -- editing ----------------------------------------------------------------------------------

    def _collect(self) -> None:
        """``self.route`` from the widgets (targets are edited in place by their box)."""
        route = self.route
        assert route is not None
        self.form.store(route)
        variants = route.get("variants") or []
        if variants:
            self.variants.store(variants, min(self.variant_index, len(variants) - 1))

    def _edited(self, *_: object) -> None:
        if self._loading or self.route is None:
            return
        strategy = self.route["strategy"]
        self._collect()
        if self.route["strategy"] != strategy:
            self._strategy_changed()
        self.variants.show_share(self.route.get("variants") or [], self.variant_index)
        self._check_and_schedule()

    def _strategy_changed(self) -> None:
        assert self.route is not None
        if self.route["strategy"] == "weighted":  # default weights (all 1) become an even split
            for targets in [self.route["targets"], *(v["targets"] for v in self.route.get("variants") or [])]:
                if targets and all(t.get("weight", 1.0) == 1.0 for t in targets):
                    for t in targets:
                        t["weight"] = float(round(100 / len(targets)))
        self._show_targets()

    def _on_targets_changed(self) -> None:
        """A drag, a move, an added or removed target, a weight."""
        if self.route is None:
            return
        self.trying.fill_fault_targets(self.route)
        self._check_and_schedule()

    def split_variants(self) -> None:
        if self.route is None or not self.route["targets"]:
            return
        self.variant_index = variants.split(self.route)
        self._populate()
        self._check_and_schedule()

    def add_variant(self) -> None:
        if self.route is None or not self.route.get("variants"):
            return
        self.variant_index = variants.add(self.route, self.current_targets())
        self._populate()
        self._check_and_schedule()

    def remove_variant(self) -> None:
        if self.route is None or not self.route.get("variants"):
            return
        self.variant_index = variants.remove(self.route, self.variant_index)
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
            return plain_problems(exc, GatewayConfig)
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
            self.form.enabled.setChecked(on)
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
        if not ok:
            return
        if not name:
            self.status.setText("Not added: a route needs a name (the model name your tools will ask for).")
            return
        provider = self.targets.add_provider.currentText() or (config.providers[0].id if config.providers else "")
        model = self.targets.add_model.currentText().strip() or "echo"
        route = {"name": name, "targets": [{"provider": provider, "model": model}]}
        try:
            GatewayConfig.model_validate({**config.model_dump(), "routes": [*config.model_dump()["routes"], route]})
        except ValidationError as exc:
            self.status.setText("Not added: " + " ".join(plain_problems(exc, GatewayConfig)))
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
        if not confirmed(self, "Delete route", f"Delete the route {name}? Tools asking for it get 404."):
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
        self.trying.start_test(self.original_name)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.route is not None:
            self.trying.refresh_pending()
