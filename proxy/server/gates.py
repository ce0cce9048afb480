"""What the guard middleware checks per request: allowed hosts and origins, access keys, body size.

Computed once per config (and again when access keys change) by :class:`~proxy.server.app.HttpServer`,
held in a :class:`GateBox` on the app so a change is one assignment and requests never see half of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.config.schema import GatewayConfig
from proxy.storage.access_keys import AccessKeys


@dataclass(frozen=True)
class Gates:
    """Precomputed values for the security middleware."""

    allowed_hosts: frozenset[str]
    allowed_origins: frozenset[str]
    access_keys: AccessKeys | None
    max_body_bytes: int


DEFAULT_PORTS = (80, 443)
"""Ports a client may leave out of the Host header (HTTP's and HTTPS's defaults)."""


def build_gates(config: GatewayConfig, port: int | None, access_keys: AccessKeys | None) -> Gates:
    """The gates for ``config`` served on ``port`` (the configured one until bound).

    The Host header must name this server: a loopback name or one of ``server.allowed_hosts``,
    with the port; on port 80 or 443 also without it (the default port, which clients omit).
    Any other name is refused whatever the port, so DNS rebinding still fails."""
    port = port or config.server.port
    names = {"127.0.0.1", "localhost", "[::1]", *(h.lower() for h in config.server.allowed_hosts)}
    hosts = {f"{n}:{port}" for n in names} | {h.lower() for h in config.server.allowed_hosts if ":" in h}
    if port in DEFAULT_PORTS:  # clients leave out the scheme's default port: "Host: 127.0.0.1" means :80
        hosts |= names
    return Gates(frozenset(hosts), frozenset(config.server.allowed_origins), access_keys, config.server.max_body_bytes)


class GateBox:
    """The gates in force (replaced whole on a change)."""

    __slots__ = ("current",)

    def __init__(self, gates: Gates | None = None) -> None:
        self.current = gates or Gates(frozenset(), frozenset(), None, 0)  # refuses everything until set
