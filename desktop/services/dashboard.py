"""The dashboard's data: aggregates of the request log, read on a worker thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.worker import in_worker

log = logging.getLogger(__name__)


class DashboardService(QObject):
    """Signals:
    loaded(object): the answer to :meth:`load`, a ``proxy.api.dashboard.DashboardData``.
    """

    loaded = Signal(object)

    def __init__(self, bridge: GatewayLifecycle) -> None:
        super().__init__(bridge)
        self._bridge = bridge

    def load(self, range_key: str) -> None:
        """Read the dashboard's data for ``range_key`` (see ``proxy.api.dashboard.RANGES``) on a
        worker thread, through read-only connections of its own; ``loaded`` follows (not at all if
        the log cannot be read: that is logged). Budgets come from the config in force."""
        config = self._bridge.status.config if self._bridge.status is not None else None
        api = self._bridge.api

        def work() -> None:
            try:
                data = api.dashboard(range_key, config)
            except Exception:
                log.warning("could not read the dashboard data", exc_info=True)
                return
            self.loaded.emit(data)

        in_worker("switchboard-bridge-dashboard", work)
