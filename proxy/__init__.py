"""Switchboard's headless gateway: an OpenAI-compatible proxy on localhost.

This package never imports Qt or ``desktop``; the tray app is one client of it.
"""

from proxy.config.schema import GatewayConfig
from proxy.domain.events import (
    GatewayEvents,
    RequestFinished,
    RequestFirstByte,
    RequestLogged,
    RequestStarted,
    ServerStarted,
    ServerStopped,
)
from proxy.domain.records import RequestRecord
from proxy.engine.gateway import Gateway, GatewayOptions
from proxy.host.runner import GatewayThread
from proxy.server.app import new_gateway

__all__ = [
    "Gateway",
    "new_gateway",
    "GatewayConfig",
    "GatewayEvents",
    "GatewayOptions",
    "GatewayThread",
    "RequestFinished",
    "RequestFirstByte",
    "RequestLogged",
    "RequestRecord",
    "RequestStarted",
    "ServerStarted",
    "ServerStopped",
]
