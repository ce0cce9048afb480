"""Typed keys for values stored on the aiohttp application and requests."""

from __future__ import annotations

from aiohttp import web

from proxy.domain.exchange import Exchange
from proxy.engine.gateway import Gateway
from proxy.server.gates import GateBox

GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway", Gateway)
GATES: web.AppKey[GateBox] = web.AppKey("gates", GateBox)
EXCHANGE: web.RequestKey[Exchange] = web.RequestKey("switchboard.exchange", Exchange)
ORIGIN: web.RequestKey[str] = web.RequestKey("switchboard.origin", str)
