"""HttpServer: the aiohttp app that serves a :class:`~proxy.engine.gateway.Gateway` to clients.

The engine knows no HTTP; this is its :class:`~proxy.engine.gateway.Listener`. It owns the app
(middlewares, routes), the runner and the listening site, the startup self-check of the DNS
rebinding guard, and the values the guards check per request (:class:`Gates`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Any

from aiohttp import web

from proxy.config.schema import GatewayConfig
from proxy.domain.errors import GatewayStartError
from proxy.engine.gateway import Gateway, GatewayOptions
from proxy.server.gates import GateBox, Gates, build_gates
from proxy.server.keys import GATES, GATEWAY
from proxy.server.middlewares import MIDDLEWARES, add_cors_headers
from proxy.server.surfaces.table import register as register_surfaces

log = logging.getLogger(__name__)


class HttpServer:
    """Binds, serves and stops the gateway's HTTP endpoint. Use it from the gateway's loop."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.gates = GateBox()
        self.base_url: str | None = None
        self.host: str | None = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._requested: tuple[str, int] | None = None

    async def start(self, config: GatewayConfig) -> str:
        """Bind and serve; returns the base URL.

        Raises:
            GatewayStartError: the address cannot be bound, or the Host guard does not hold.
        """
        app = web.Application(middlewares=MIDDLEWARES, client_max_size=1024**3, handler_args={"max_field_size": 16384})
        app[GATEWAY] = self.gateway
        app[GATES] = self.gates
        app.on_response_prepare.append(add_cors_headers)
        register_surfaces(app)
        runner = web.AppRunner(
            app,
            handler_cancellation=True,  # a client that disconnects cancels its upstream call at once
            access_log=None,  # the request log is the access log
            shutdown_timeout=config.server.drain_timeout,
            lingering_time=1.0,  # after refusing an unread body, do not keep reading it for long
            # From the connection's start: a client that has not sent a whole request head by then
            # (slow-loris), or idles that long between requests, is disconnected.
            keepalive_timeout=config.server.idle_timeout,
        )
        await runner.setup()
        self._runner = runner
        try:
            await self._bind(*self._address(config))
        except GatewayStartError:
            await self.stop()
            raise
        self.refresh(config)
        if not await self._rebinding_guard_holds():
            await self.stop()
            raise GatewayStartError(
                "Refusing to serve: a request with a foreign Host header was not refused, so the DNS-rebinding "
                "guard is not working (check server.allowed_hosts)."
            )
        return self.base_url or ""

    async def apply(self, config: GatewayConfig) -> None:
        """Listen where ``config`` says (a new address is bound before the old one stops accepting,
        so streams in flight on the old port finish), and check requests as it says.

        Raises:
            GatewayStartError: the new address cannot be bound (nothing changed).
        """
        if self._runner is not None and self._address(config) != self._requested:
            await self._bind(*self._address(config))
        self.refresh(config)

    def refresh(self, config: GatewayConfig) -> None:
        """Recompute what the guards check (hosts, origins, access keys, body size)."""
        self.gates.current = self._build_gates(config)

    async def stop(self) -> None:
        """Stop accepting; in-flight requests get up to ``server.drain_timeout`` to finish."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def _rebinding_guard_holds(self) -> bool:
        """Startup self-check: a request naming a foreign host must get 403 before we say we are ready."""
        assert self.host is not None and self.port is not None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5)
            writer.write(
                f"GET /health HTTP/1.1\r\nHost: rebind-probe.invalid:{self.port}\r\nConnection: close\r\n\r\n".encode()
            )
            status_line = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            await writer.wait_closed()
        except (OSError, TimeoutError) as exc:
            log.error("the startup Host check could not run: %s", exc)
            return False
        return status_line.split(b" ")[1:2] == [b"403"]

    def _address(self, config: GatewayConfig) -> tuple[str, int]:
        """Where to listen: the command line wins over the config."""
        options: GatewayOptions = self.gateway.options
        host = options.host or config.server.host
        port = options.port if options.port is not None else config.server.port
        return host, port

    async def _bind(self, host: str, port: int) -> None:
        """Listen on a new address; the previous site (if any) stops accepting afterwards,
        while its in-flight requests run to completion."""
        assert self._runner is not None
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise GatewayStartError(
                    f"Port {port} on {host} is already in use by another program.", port_in_use=port
                ) from None
            raise GatewayStartError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        old, self._site = self._site, site
        self._requested = (host, port)
        server: Any = site._server  # aiohttp keeps the asyncio server private; it knows the bound port
        bound = server.sockets[0].getsockname() if server is not None and server.sockets else (host, port)
        self.host, self.port = host, int(bound[1])
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{self.port}"
        if old is not None:
            await old.stop()

    def _build_gates(self, config: GatewayConfig) -> Gates:
        return build_gates(config, self.port, self.gateway.access_keys_for(config))


def new_gateway(options: GatewayOptions | None = None, **kwargs: Any) -> Gateway:
    """A :class:`Gateway` served over HTTP by an :class:`HttpServer` (what ``switchboard serve``,
    the tray app and the tests run); ``kwargs`` go to :class:`Gateway`."""
    return Gateway(options, listener=HttpServer, **kwargs)
