"""Gateway: owns the aiohttp app, the config snapshot, the upstream adapters and the request log.

Lifecycle: :meth:`Gateway.start` loads the config (or the zero-config default), opens the
request log, binds the server and returns the base URL; :meth:`Gateway.stop` stops accepting,
lets in-flight requests finish for ``server.drain_timeout`` seconds, and closes everything.

Every request captures :attr:`Gateway.snapshot` when it starts and keeps it to the end, so a
config change (:meth:`Gateway.apply_config`) never affects requests in flight. The attempt loop
(:meth:`Gateway.forward`) lives here and only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from proxy.cache.store import ResponseCache
from proxy.config import GatewayConfig, Limits
from proxy.errors import GatewayStartError, UpstreamConnectError
from proxy.events import (
    BudgetThreshold,
    ConfigApplied,
    GatewayEvent,
    GatewayEvents,
    KeyFailing,
    RequestFinished,
    RequestStarted,
    ServerStarted,
    ServerStopped,
    TargetHealthChanged,
)
from proxy.metrics import Metrics
from proxy.models import RequestRecord
from proxy.paths import Home, resolve_config_path
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.reload import ReloadMixin
from proxy.routing.attempts import AttemptLoop, Prime, no_route_error
from proxy.routing.health import HealthBoard, TargetHealth
from proxy.routing.limits import LimitKeeper
from proxy.routing.resolve import Attempt, Resolution
from proxy.routing.simulate import Simulator, cut_after_first_content, failure
from proxy.server.exchange import Exchange
from proxy.server.handlers import add_routes
from proxy.server.keys import GATEWAY
from proxy.server.middlewares import MIDDLEWARES, add_cors_headers
from proxy.snapshot import Gates, Snapshot, build_snapshot
from proxy.storage.access_keys import AccessKeys, AccessKeyStore
from proxy.storage.config_store import ConfigStore, Version
from proxy.storage.keychain import KeychainStore
from proxy.storage.request_log import RequestLog, month_spend
from proxy.storage.secrets import SecretResolver
from proxy.threads import in_thread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayOptions:
    """How to run: where state lives, which config, and overrides from the command line."""

    home: Path | None = None
    config_path: Path | None = None
    host: str | None = None
    port: int | None = None
    discover_local: bool = True
    """Without a config file, probe Ollama and LM Studio on localhost and add them if they answer."""


class Gateway(ReloadMixin):
    """The headless gateway. Not thread-safe: use it from its event loop (see ``GatewayThread``)."""

    def __init__(
        self,
        options: GatewayOptions | None = None,
        *,
        config: GatewayConfig | None = None,
        secrets: SecretResolver | None = None,
        events: GatewayEvents | None = None,
    ) -> None:
        self.options = options or GatewayOptions()
        self.home = Home.resolve(self.options.home)
        self.config_path = resolve_config_path(self.home, self.options.config_path)
        self.store = ConfigStore(self.config_path)
        self.events = events or GatewayEvents()
        self.secrets = secrets or SecretResolver(keychain=KeychainStore())
        self._initial_config = config
        self.snapshot: Snapshot | None = None  # type: ignore[assignment]
        self.gates: Gates | None = None  # type: ignore[assignment]
        self.cache: ResponseCache | None = None
        self._cache_thread = ThreadPoolExecutor(1, thread_name_prefix="switchboard-cache")
        self.metrics = Metrics()
        self.limits = LimitKeeper()
        self.request_log = RequestLog(self.home.log_db, self.events, self._observe_logged)
        self.started_at = time.time()
        self.access_keys: AccessKeys | None = None
        self.base_url: str | None = None
        self.port: int | None = None
        self.host: str | None = None
        self.in_flight = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._requested: tuple[str, int] | None = None
        self._applied_hash: str | None = None
        self.access_store = AccessKeyStore(self.home.access_keys_index, self.secrets.keychain)
        self.created_access_key: tuple[str, bool] | None = None
        """(key, kept in keychain) when this start created the first access key."""
        self._watch_marks: tuple[float | None, float | None] = (None, None)
        self._watch_task: asyncio.Task[None] | None = None
        self.health = HealthBoard(on_change=self._on_health_change)
        self.attempts = AttemptLoop(self.health, on_key_failing=self._on_key_failing)
        self.paused = False
        """Set from any thread (the tray's Pause): model requests get 503 ``paused`` until cleared."""
        self.simulator = Simulator()
        """Simulated failures armed for route targets (the routing editor's "Simulate failure")."""
        self.config_lock = asyncio.Lock()
        """Held while a config is applied and saved, so the file watcher never sees it half done."""
        self._retired: dict[int, Any] = {}
        """Adapters replaced by a reload or a key change, closed after the drain time (or at stop)."""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> str:
        """Start serving; returns the base URL.

        Raises:
            ConfigError: the config file is invalid (and no earlier version is).
            GatewayStartError: the address cannot be bound (port in use ...).
        """
        config = await self.load_config()
        self.limits = LimitKeeper()  # a start after a failed one counts this month's spend once
        await in_thread(self.home.ensure)
        if config.server.require_auth and AccessKeys.from_env() is None:
            self.created_access_key = await in_thread(self.access_store.ensure_default)
        self.access_keys = await in_thread(self.access_store.load)
        self._watch_marks = await in_thread(self._side_file_marks)
        self.request_log.retention_days = config.logging.retention_days
        await in_thread(self.request_log.start)
        await in_thread(self._load_spend, config)
        self.limits.on_threshold = self._on_budget
        self.snapshot = await in_thread(self._build_snapshot, config)
        app = web.Application(middlewares=MIDDLEWARES, client_max_size=1024**3, handler_args={"max_field_size": 16384})
        app[GATEWAY] = self
        app.on_response_prepare.append(add_cors_headers)
        add_routes(app)
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
        host, port = self._address(config)
        try:
            await self._bind(host, port)
        except GatewayStartError:
            await runner.cleanup()
            self._runner = None
            self.request_log.close()
            raise
        self.gates = self._build_gates(config)
        if not await self._rebinding_guard_holds():
            await runner.cleanup()
            self._runner = None
            self.request_log.close()
            raise GatewayStartError(
                "Refusing to serve: a request with a foreign Host header was not refused, so the DNS-rebinding "
                "guard is not working (check server.allowed_hosts)."
            )
        self._watch_task = asyncio.create_task(self._watch_files(), name="switchboard-config-watch")
        self.events.emit(ServerStarted(self.base_url or ""))
        return self.base_url or ""

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
        host = self.options.host or config.server.host
        port = self.options.port if self.options.port is not None else config.server.port
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
        bound = site._server.sockets[0].getsockname() if site._server and site._server.sockets else (host, port)  # type: ignore[union-attr]
        self.host, self.port = host, int(bound[1])
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{self.port}"
        if old is not None:
            await old.stop()

    async def cache_get(self, key: str) -> bytes | None:
        """A cached answer, read on the cache's own thread (opened on first use)."""
        return await asyncio.get_running_loop().run_in_executor(self._cache_thread, self._cache_call, "get", key)

    def cache_put(self, key: str, route: str, body: bytes, ttl: float, max_entries: int) -> None:
        """Store an answer in the background (never delays the response)."""
        self._cache_thread.submit(self._cache_call, "put", key, route, body, ttl, max_entries)

    def _cache_call(self, op: str, *args: Any) -> Any:
        try:
            if self.cache is None:
                self.cache = ResponseCache(self.home.cache_dir / "responses.db")
            return getattr(self.cache, op)(*args)
        except sqlite3.Error:
            log.exception("response cache %s failed; answering without the cache", op)
            return None

    async def stop(self) -> None:
        """Stop accepting, drain in-flight requests (bounded), close upstream sessions and the log."""
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
            self._watch_task = None
        if self._runner is not None:
            await self._runner.cleanup()  # waits up to drain_timeout for in-flight handlers
            self._runner = None
            self._site = None
        if self.snapshot is not None:
            for adapter in self.snapshot.adapters.values():
                await adapter.close()
        while self._retired:  # replaced by a reload or a key change, not yet closed
            await self._retired.popitem()[1].close()
        await in_thread(self.request_log.close)
        self._cache_thread.shutdown(wait=True)
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        self._cache_thread = ThreadPoolExecutor(1, thread_name_prefix="switchboard-cache")
        self.events.emit(ServerStopped())

    async def apply_config(self, config: GatewayConfig) -> None:
        """Swap in a new config without dropping requests.

        Requests in flight keep the snapshot they started with; adapters of unchanged providers
        (and their connection pools) are kept. A new address is bound before the old one stops
        accepting, so streams in flight on the old port finish.

        Raises:
            GatewayStartError: the new address cannot be bound (the old config stays in force).
        """
        old = self.snapshot
        snapshot = await in_thread(self._build_snapshot, config, old)
        if self._runner is not None and self._address(config) != self._requested:
            await self._bind(*self._address(config))
        self.snapshot = snapshot
        self.gates = self._build_gates(config)
        self.request_log.set_retention(config.logging.retention_days)
        self._retire(old, snapshot)

    def _retire(self, old: Snapshot | None, new: Snapshot) -> None:
        """Close the adapters (and their connection pools) of ``old`` that ``new`` no longer uses,
        once requests in flight on them had ``drain_timeout`` to finish, or when the gateway stops."""
        if old is None:
            return
        retired = {id(a): a for pid, a in old.adapters.items() if new.adapters.get(pid) is not a}
        if not retired:
            return
        self._retired.update(retired)

        def close() -> None:
            for key in retired:
                adapter = self._retired.pop(key, None)
                if adapter is not None:
                    asyncio.ensure_future(adapter.close())

        asyncio.get_running_loop().call_later(new.config.server.drain_timeout + 1, close)

    async def save_config(self, config: GatewayConfig, author: str, summary: str | None = None) -> Version:
        """Apply ``config``, then save it as a new version of the config file.

        In that order, so a config that cannot take effect is never saved: one whose port is in use
        leaves the file, the history and the running gateway exactly as they were (a saved but
        unusable port would stop the next start). If the save itself fails, the previous config is
        applied again.

        Raises:
            GatewayStartError: the new address cannot be bound (nothing changed).
            OSError: the file could not be written (the previous config is back in force).
        """
        async with self.config_lock:
            previous = self.snapshot.config if self.snapshot is not None else None
            await self.apply_config(config)
            try:
                version = await in_thread(self.store.save, config, author, summary)
            except BaseException:
                if previous is not None:
                    await self.apply_config(previous)
                raise
            self._applied_hash = version.sha256
        self.events.emit(ConfigApplied(version.number, version.author, version.summary))
        return version

    def _build_snapshot(self, config: GatewayConfig, previous: Snapshot | None = None) -> Snapshot:
        """Runs off the loop: resolving keys may touch the keychain."""
        return build_snapshot(config, self.secrets, previous)

    def _build_gates(self, config: GatewayConfig) -> Gates:
        port = self.port or config.server.port
        names = {"127.0.0.1", "localhost", "[::1]", *(h.lower() for h in config.server.allowed_hosts)}
        hosts = {f"{n}:{port}" for n in names} | {h.lower() for h in config.server.allowed_hosts if ":" in h}
        keys = self.access_keys if config.server.require_auth else None
        if config.server.require_auth and keys is None:
            keys = self.access_keys = AccessKeys.from_env() or self.access_store.load()
        return Gates(frozenset(hosts), frozenset(config.server.allowed_origins), keys, config.server.max_body_bytes)

    # -- requests --------------------------------------------------------------------------------

    def request_began(self, ex: Exchange) -> None:
        self.in_flight += 1
        self.request_log.begin(ex.id, ex.started_at, ex.surface, ex.user_agent)  # written if it outlives a batch

    def request_ended(self, ex: Exchange) -> None:
        self.in_flight -= 1
        while ex.on_end:
            ex.on_end.pop()()
        if ex.finished:
            return
        ex.finished = True
        record = ex.record()
        tokens = (record.tokens_in or 0) + (record.tokens_out or 0)
        if tokens and record.cache != "hit":
            if record.client is not None:
                self.limits.add_tokens(f"key:{record.client}", tokens)
            if record.route is not None:
                self.limits.add_tokens(f"route:{record.route}", tokens)
        self.request_log.submit(record, ex.price)
        if self.events.has_subscribers:
            self.events.emit(RequestFinished(record))

    def _observe_logged(self, record: RequestRecord) -> None:
        """On the log writer thread, once a record is priced: metrics and budgets."""
        self.metrics.observe(record)
        if record.cost and self.snapshot is not None:
            self._count_spend(self.snapshot.config, record.client, record.route, record.cost, record.started_at)

    def _count_spend(self, config: GatewayConfig, client: str | None, route: str | None, usd: float, at: float) -> None:
        if client is not None:
            self.limits.add_spend(f"key:{client}", usd, config.key_limits.get(client, Limits()), at)
        if route is not None:
            route_config = next((r for r in config.routes if r.name == route), None)
            self.limits.add_spend(f"route:{route}", usd, route_config.limits if route_config else Limits(), at)

    def _load_spend(self, config: GatewayConfig) -> None:
        """Spend this month (by key, route and day) from the log, so budgets survive restarts."""
        for client, route, day_start, usd in month_spend(self.home.log_db):
            self._count_spend(config, client, route, usd, day_start)

    def _on_budget(self, scope: str, period: str, fraction: float, spent: float) -> None:
        self.events.emit(BudgetThreshold(scope, period, fraction, spent))

    def _on_health_change(self, key: tuple[str, str], health: TargetHealth) -> None:
        self.events.emit(TargetHealthChanged(f"{key[0]}/{key[1]}", health.state, health.last_error))

    def _on_key_failing(self, provider: str, message: str) -> None:
        self.events.emit(KeyFailing(provider, message))

    def status(self) -> dict[str, object]:
        """What ``switchboard status`` shows: uptime, load, log health, per-target health."""
        latest = self.store.latest() if self._initial_config is None else None
        return {
            "base_url": self.base_url,
            "uptime_s": round(time.time() - self.started_at, 1),
            "in_flight": self.in_flight,
            "config_version": latest.number if latest else None,
            "log": {"written": self.request_log.written, "dropped": self.request_log.dropped},
            "targets": self.health.snapshot(),
        }

    def emit_if_watched(self, event: GatewayEvent) -> None:
        if self.events.has_subscribers:
            self.events.emit(event)

    def resolve(
        self,
        ex: Exchange,
        snap: Snapshot,
        model: str,
        *,
        user: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> Resolution:
        """Where ``model`` goes (for an A/B split: this client's variant), once the request is
        within its key's and route's limits.

        Raises:
            ApiError: 404 in OpenAI's shape when no route or provider matches; 429 over a limit.
        """
        resolution = snap.resolver.resolve(model)
        if resolution is None:
            raise no_route_error(model)
        if resolution.variants:
            policy = resolution.policy
            sticky: object = ex.client
            if policy.sticky == "user" and isinstance(user, str) and user:
                sticky = user
            elif policy.sticky == "header" and headers is not None and headers.get(policy.sticky_header):
                sticky = headers[policy.sticky_header]
            resolution = resolution.for_client(str(sticky or "anonymous"))
            ex.variant = resolution.variant
        ex.route = resolution.route
        scopes = []
        if ex.client is not None and (key_limits := snap.config.key_limits.get(ex.client)) is not None:
            scopes.append((f"key:{ex.client}", key_limits))
        if resolution.route is not None:
            scopes.append((f"route:{resolution.route}", resolution.policy.limits))
        self.limits.check(*scopes)
        if self.events.has_subscribers:
            self.events.emit(RequestStarted(ex.id, ex.started_at, ex.surface, model, ex.client, ex.stream, ex.route))
        return resolution

    async def forward(
        self,
        ex: Exchange,
        snap: Snapshot,
        resolution: Resolution,
        build: Callable[[Attempt, bool], UpstreamCall],
        prime: Prime | None = None,
    ) -> UpstreamReply:
        """Run the attempt loop (``routing/attempts.py``) over the resolution's targets.

        Raises:
            ApiError: the client's own mistake, or the last target's failure.
        """

        async def call(attempt: Attempt, upstream_call: UpstreamCall) -> UpstreamReply:
            adapter = snap.adapters[attempt.provider]
            fault = self.simulator.take(attempt.provider, attempt.model)
            if fault is None:
                return await adapter.call(upstream_call)
            provider = snap.config.provider(attempt.provider)
            error = failure(fault, attempt.provider, provider.timeouts.first_token if provider else 0.0)
            if error is not None:
                raise error
            reply = await adapter.call(upstream_call)
            if reply.events is not None:
                return cut_after_first_content(reply, attempt.provider)
            raise UpstreamConnectError(attempt.provider, "connection dropped before the answer (simulated)")

        def stream_usage(attempt: Attempt) -> bool:
            return snap.adapters[attempt.provider].supports_stream_usage

        self.attempts.prices = snap.price
        attempt, reply = await self.attempts.run(ex, resolution, call, build, stream_usage, prime)
        ex.provider, ex.upstream_model = attempt.provider, attempt.model  # the answering target (hedging)
        ex.price = snap.price_ref(attempt)
        return reply


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (for tests and tools)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
