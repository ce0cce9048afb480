"""GatewayBridge: the only place Qt meets the gateway, with the services the pages use."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktop.services.access_keys import AccessKeysService
from desktop.services.activity import Activity
from desktop.services.config import ConfigService
from desktop.services.connect import ConnectService
from desktop.services.dashboard import DashboardService
from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.playground import PlaygroundService
from desktop.services.providers import ProvidersService
from desktop.services.request_log import RequestLogService
from desktop.services.routing import RoutingService
from proxy.api import GatewayOptions


class GatewayBridge(GatewayLifecycle):
    """The gateway's lifecycle and events (see :class:`GatewayLifecycle`) and one service per page
    (see :mod:`desktop.services`); create it on the GUI thread."""

    def __init__(self, options: GatewayOptions, parent: QObject | None = None) -> None:
        super().__init__(options, parent)
        # each service connects to the lifecycle's signals before any page does
        self.activity = Activity(self)
        self.config = ConfigService(self)
        self.providers = ProvidersService(self, self.config)
        self.routing = RoutingService(self)
        self.log = RequestLogService(self)
        self.dashboard = DashboardService(self)
        self.access_keys = AccessKeysService(self)
        self.connect_tools = ConnectService(self)
        self.playground = PlaygroundService(self, self.access_keys.read_client_key)

    def before_start(self) -> None:  # the start worker
        self.activity.read_history()

    def before_stop(self) -> None:  # the stop worker: our own client streams must not hold up the drain
        self.playground.stop_all()
