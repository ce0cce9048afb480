"""Typed keys for values stored on the aiohttp application and requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from proxy.server.exchange import Exchange

if TYPE_CHECKING:
    from proxy.gateway import Gateway

GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway")
EXCHANGE: web.RequestKey[Exchange] = web.RequestKey("switchboard.exchange", Exchange)
ORIGIN: web.RequestKey[str] = web.RequestKey("switchboard.origin", str)
