"""Switchboard's headless gateway: an OpenAI-compatible proxy on localhost.

This package never imports Qt or ``desktop``; the tray app is one client of it.
"""

from proxy.config import GatewayConfig
from proxy.events import (
    GatewayEvents,
    RequestFinished,
    RequestFirstByte,
    RequestLogged,
    RequestStarted,
    ServerStarted,
    ServerStopped,
)
from proxy.gateway import Gateway, GatewayOptions
from proxy.models import RequestRecord
from proxy.runner import GatewayThread

__all__ = [
    "Gateway",
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
