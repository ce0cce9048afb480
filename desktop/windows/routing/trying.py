"""Try it: send a short request through the route, and make one of its targets fail on purpose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QPushButton

from desktop.services import GatewayBridge
from desktop.widgets.guarded import ComboBox, SpinBox
from desktop.windows.status import plain_label
from proxy.api import FAULTS, RouteTestResult

FAULT_LABELS = {
    "error": "Server error (500)",
    "429": "Rate limited (429)",
    "timeout": "Timeout",
    "cut": "Stream cut",
}


class TryBox(QGroupBox):
    """ "Test this route" and "Simulate failure" for the route being edited; ``route_name`` says
    which one that is (a test's answer for another route is not shown)."""

    def __init__(self, bridge: GatewayBridge, route_name: Callable[[], str | None]) -> None:
        super().__init__("Try it")
        self.bridge = bridge
        self.route_name = route_name
        self.test_button = QPushButton("Test this route")
        self.test_result = plain_label("Sends a short request through this route and shows who answered.")
        self.fault_target = ComboBox()
        self.fault_target.setAccessibleName("Target to fail")
        self.fault_target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.fault_target.setMinimumContentsLength(16)
        self.fault_kind = ComboBox()
        for fault in FAULTS:
            self.fault_kind.addItem(FAULT_LABELS.get(fault, fault), fault)
        self.fault_kind.setAccessibleName("Kind of failure")
        self.fault_kind.setToolTip("Stream cut: the answer starts, then the connection drops after the first words")
        self.fault_count = SpinBox()
        self.fault_count.setRange(1, 1000)
        self.fault_count.setPrefix("next ")
        self.fault_count.setSuffix(" calls")
        self.fault_count.setToolTip("By default, enough calls to use up this route's retries on the target.")
        self.simulate_button = QPushButton("Simulate failure")
        self.clear_button = QPushButton("Clear")
        self.pending = plain_label("")
        grid = QGridLayout(self)
        grid.addWidget(self.test_button, 0, 0)
        grid.addWidget(self.test_result, 0, 1, 1, 3)
        grid.addWidget(self.fault_target, 1, 0, 1, 2)
        grid.addWidget(self.fault_kind, 1, 2)
        grid.addWidget(self.fault_count, 1, 3)
        grid.addWidget(self.pending, 2, 0, 1, 2)
        grid.addWidget(self.simulate_button, 2, 2)
        grid.addWidget(self.clear_button, 2, 3)
        grid.setColumnStretch(1, 1)
        self.simulate_button.clicked.connect(self.simulate)
        self.clear_button.clicked.connect(self.clear_simulated)
        bridge.routing.route_tested.connect(self._on_tested)

    def show_route(self, route: dict[str, Any]) -> None:
        """The route being edited: its targets to fail, enough calls to see its fallback."""
        self.fault_count.setValue(route["retries"]["max_retries"] + 1)
        self.fill_fault_targets(route)

    def fill_fault_targets(self, route: dict[str, Any]) -> None:
        """Every target of the route (variants' included), once each; the choice is kept."""
        keep = self.fault_target.currentData()
        self.fault_target.clear()
        targets = [*route["targets"], *(t for v in route.get("variants") or [] for t in v["targets"])]
        for provider, model in dict.fromkeys((t["provider"], t["model"]) for t in targets):
            self.fault_target.addItem(f"{provider} / {model}", f"{provider}\t{model}")
        if keep is not None:
            index = self.fault_target.findData(keep)
            if index >= 0:
                self.fault_target.setCurrentIndex(index)

    def start_test(self, route: str) -> None:
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Sending a short request to {route}…")
        self.bridge.routing.test_route(route)

    def _on_tested(self, result: RouteTestResult) -> None:
        self.test_button.setEnabled(True)
        if result.route != self.route_name():
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
        self.refresh_pending()

    def simulate(self) -> None:
        key = self.fault_target.currentData()
        if key is None:
            return
        provider, _, model = key.partition("\t")
        fault, count = self.fault_kind.currentData(), self.fault_count.value()
        try:
            self.bridge.routing.simulate_failure(provider, model, fault, count)
        except ValueError as exc:
            self.pending.setText(str(exc))
            return
        self.refresh_pending()

    def clear_simulated(self) -> None:
        self.bridge.routing.clear_simulated()
        self.refresh_pending()

    def refresh_pending(self) -> None:
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
