"""The routing editor's checks: test a route, and simulated failures of its targets."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.worker import in_worker


class RoutingService(QObject):
    """Signals:
    route_tested(object): the answer to :meth:`test_route` (a ``RouteTestResult``).
    """

    route_tested = Signal(object)

    def __init__(self, bridge: GatewayLifecycle) -> None:
        super().__init__(bridge)
        self._api = bridge.api

    def test_route(self, route: str) -> None:
        """Send a small request through ``route``; ``route_tested`` follows."""
        in_worker("switchboard-bridge-route-test", lambda: self.route_tested.emit(self._api.test_route(route)))

    def simulate_failure(self, provider: str, model: str, fault: str, count: int) -> dict[str, list[str]]:
        """Arm a simulated failure (memory only, quick: safe on the GUI thread); returns what is
        pending. Raises ``ValueError`` for an unknown fault or count."""
        return self._api.simulate_failure(provider, model, fault, count)

    def clear_simulated(self) -> dict[str, list[str]]:
        return self._api.clear_simulated()

    def pending_simulated(self) -> dict[str, list[str]]:
        return self._api.pending_simulated()
