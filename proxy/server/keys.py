"""Typed keys for values stored on the aiohttp application and requests."""

from __future__ import annotations

from aiohttp import web

from proxy.domain.exchange import Exchange
from proxy.engine.gateway import Gateway
from proxy.engine.snapshot import Snapshot
from proxy.server.gates import GateBox

GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway", Gateway)
GATES: web.AppKey[GateBox] = web.AppKey("gates", GateBox)
EXCHANGE: web.RequestKey[Exchange] = web.RequestKey("switchboard.exchange", Exchange)
ORIGIN: web.RequestKey[str] = web.RequestKey("switchboard.origin", str)


def snapshot_of(request: web.Request) -> Snapshot:
    """The config snapshot a request starts with (it keeps it to its end)."""
    snap = request.app[GATEWAY].snapshot
    assert snap is not None, "requests are served only once the gateway has started"
    return snap
