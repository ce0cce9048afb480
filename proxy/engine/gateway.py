"""Gateway: the engine. It owns the config snapshot, the upstream adapters, the request log, the
health of the targets and the feature hooks (limits, failure simulator, cache, metrics:
``engine/hooks``); it knows no HTTP.

Lifecycle: :meth:`Gateway.start` loads the config (or the zero-config default), opens the
request log, starts its :class:`Listener` (``proxy.server.app.HttpServer`` binds the port) and
returns the base URL; :meth:`Gateway.stop` stops the listener (in-flight requests finish for
``server.drain_timeout`` seconds), and closes everything.

Every request captures :attr:`Gateway.snapshot` when it starts and keeps it to the end, so a
config change (:meth:`Gateway.apply_config`) never affects requests in flight. A model request
goes through :meth:`Gateway.serve`: resolve, the hooks' ``on_request`` (refuse or answer early),
the attempt loop (:meth:`Gateway.forward`, the only one), the hooks' ``on_response``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from proxy.config.schema import GatewayConfig, default_config
from proxy.config.store import ConfigStore, Version, content_hash
from proxy.domain.errors import ConfigError, GatewayStartError
from proxy.domain.events import (
    ConfigApplied,
    ConfigRejected,
    GatewayEvent,
    GatewayEvents,
    KeyFailing,
    RequestFinished,
    RequestStarted,
    ServerStarted,
    ServerStopped,
    TargetHealthChanged,
)
from proxy.domain.exchange import Exchange
from proxy.domain.records import RequestRecord
from proxy.engine.hooks import Cache, Limits, ModelRequest, default_hooks
from proxy.engine.hooks.base import ReportingAttempts
from proxy.engine.loop_health import GcWatch, LagProbe, settle_heap
from proxy.engine.metrics import Metrics
from proxy.engine.snapshot import Snapshot, build_snapshot
from proxy.engine.watcher import ConfigWatcher
from proxy.providers.base import UpstreamReply
from proxy.providers.discovery import discover_local_servers
from proxy.routing.attempts import AttemptLoop, no_route_error
from proxy.routing.health import HealthBoard, TargetHealth
from proxy.routing.resolve import Attempt, Resolution
from proxy.routing.simulate import Simulator
from proxy.state.team import TeamState
from proxy.state.urls import state_urls
from proxy.storage.access_keys import AccessKeys, AccessKeyStore
from proxy.storage.keychain import KeychainStore
from proxy.storage.request_log import RequestLog
from proxy.storage.secrets import SecretResolver
from proxy.support.paths import Home, resolve_config_path
from proxy.support.threads import in_thread

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
    own_process: bool = False
    """The gateway is what this process is for (``switchboard``, ``switchboard serve``): after
    start, freeze the heap (:func:`~proxy.engine.loop_health.settle_heap`). Off for embedding
    and tests, where a frozen heap would keep other things' garbage."""


class Listener(Protocol):
    """What serves a gateway to its clients (``proxy.server.app.HttpServer``); the engine calls it
    and never knows the protocol."""

    base_url: str | None
    host: str | None
    port: int | None

    async def start(self, config: GatewayConfig) -> str:
        """Start serving; returns the base URL. Raises ``GatewayStartError``."""
        ...

    async def apply(self, config: GatewayConfig) -> None:
        """Serve as ``config`` says (a new address is bound first). Raises ``GatewayStartError``,
        with nothing changed."""
        ...

    def refresh(self, config: GatewayConfig) -> None:
        """Access keys or the config changed: check requests against the new ones."""
        ...

    async def stop(self) -> None:
        """Stop serving; in-flight requests drain for ``server.drain_timeout``."""
        ...


class Gateway:
    """The headless gateway. Not thread-safe: use it from its event loop (see ``GatewayThread``)."""

    def __init__(
        self,
        options: GatewayOptions | None = None,
        *,
        config: GatewayConfig | None = None,
        secrets: SecretResolver | None = None,
        events: GatewayEvents | None = None,
        listener: Callable[[Gateway], Listener] | None = None,
    ) -> None:
        """Args:
        listener: makes what serves this gateway (``HttpServer``; ``proxy.server.app.new_gateway``
            passes it). Without one the gateway routes and logs but does not listen.
        """
        self.options = options or GatewayOptions()
        self.home = Home.resolve(self.options.home)
        self.config_path = resolve_config_path(self.home, self.options.config_path)
        self.store = ConfigStore(self.config_path)
        self.events = events or GatewayEvents()
        self.secrets = secrets or SecretResolver(keychain=KeychainStore())
        self._initial_config = config
        self.snapshot: Snapshot | None = None
        self.listener: Listener | None = listener(self) if listener is not None else None
        self.metrics = Metrics()
        self.simulator = Simulator()
        """Simulated failures armed for route targets (the routing editor's "Simulate failure")."""
        self.hooks = default_hooks(
            events=self.events,
            log_db=self.home.log_db,
            cache_db=self.home.cache_dir / "responses.db",
            config=lambda: self.snapshot.config if self.snapshot is not None else None,
            simulator=self.simulator,
            metrics=self.metrics,
        )
        self.request_log = RequestLog(self.home.log_db, self.events, self._observe_logged)
        self.started_at = time.time()
        self.access_keys: AccessKeys | None = None
        self.in_flight = 0
        self.lag = LagProbe(lambda: self.in_flight > 0)
        """Event-loop lag, sampled only while requests run."""
        self.gc_watch = GcWatch()
        self.applied_hash: str | None = None
        """Hash of the config file's text in force (the watcher skips a file it has applied)."""
        self.access_store = AccessKeyStore(self.home.access_keys_index, self.secrets.keychain)
        self.created_access_key: tuple[str, bool] | None = None
        """(key, kept in keychain) when this start created the first access key."""
        self.watcher = ConfigWatcher(self)
        self.health = HealthBoard(on_change=self._on_health_change)
        self.attempts = AttemptLoop(self.health, on_key_failing=self._on_key_failing)
        self.team: TeamState | None = None
        """Team mode's shared engines (Redis, PostgreSQL) while a state URL is set, else ``None``."""
        self.paused = False
        """Set from any thread (the tray's Pause): model requests get 503 ``paused`` until cleared."""
        self.config_lock = asyncio.Lock()
        """Held while a config is applied and saved, so the file watcher never sees it half done."""
        self._retired: dict[int, Any] = {}
        """Adapters replaced by a reload or a key change, closed after the drain time (or at stop)."""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> str:
        """Start serving; returns the base URL (``""`` without a listener).

        Raises:
            ConfigError: the config file is invalid (and no earlier version is).
            GatewayStartError: the address cannot be bound (port in use ...).
        """
        config = await self.load_config()
        await in_thread(self.home.ensure)
        if config.server.require_auth and AccessKeys.from_env() is None:
            self.created_access_key = await in_thread(self.access_store.ensure_default)
        self.access_keys = await in_thread(self.access_store.load)
        await self.watcher.mark()
        self.request_log.retention_days = config.logging.retention_days
        await self._start_team(config)
        if self.team is not None and self.team.sync is not None:  # the team's access keys (PostgreSQL)
            self.team.sync.on_keys = self._use_access_keys
            await self.team.sync.seed_keys(await in_thread(self.access_store.infos))
            self.access_keys = await self.team.sync.load_keys()
        await in_thread(self.request_log.start)
        if self.team is not None:
            await self.team.start(self.home.log_db, config.logging.retention_days, self.options.port)
        for start in self.hooks.start:  # e.g. budgets read this month's spend back from the log
            await start(config)
        self.snapshot = await in_thread(self.build_snapshot, config)
        url = ""
        if self.listener is not None:
            try:
                url = await self.listener.start(config)
            except GatewayStartError:
                self.request_log.close()
                if self.team is not None:
                    await self.team.stop()
                raise
        if self.team is not None and self.team.sync is not None:  # the team's config versions
            if not self.config_in_memory:
                self.team.sync.host = self
                await self.team.sync.sync_config_at_start()
            await self.team.sync.start()
        self.watcher.start()
        self.gc_watch.install()
        if self.options.own_process:
            settle_heap()  # what lives as long as the process is not walked by every full collection
        self.events.emit(ServerStarted(url))
        return url

    async def _start_team(self, config: GatewayConfig) -> None:
        """Team mode (a state URL set): reach the engines, then use the shared stores. Raises
        ``GatewayStartError`` naming the setting. Without a state URL nothing changes."""
        urls = state_urls(config.state)
        if not urls.any:
            return
        team = TeamState(urls, config.state, self.events)
        await team.connect()
        self.team = team
        team.register_metrics(self.metrics.registry)
        board = team.health_board(on_change=self._on_health_change)
        if board is not None:
            self.health = self.attempts.health = board
        for hook in self.hooks.all:
            if isinstance(hook, Limits) and team.limits is not None:
                hook.new_store = lambda: team.limits
            elif isinstance(hook, Cache) and team.cache is not None:
                hook.store = team.cache

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """``/health``: ready unless a shared state engine is unreachable (each engine's state)."""
        if self.team is None:
            return True, {}
        return self.team.ready, self.team.readiness()

    @property
    def config_in_memory(self) -> bool:
        """The config was given as an object (tests, embedding): no file to load or watch."""
        return self._initial_config is not None

    @property
    def base_url(self) -> str | None:
        """``http://host:port`` while listening (follows a port change), else ``None``."""
        return self.listener.base_url if self.listener is not None else None

    @property
    def host(self) -> str | None:
        return self.listener.host if self.listener is not None else None

    @property
    def port(self) -> int | None:
        return self.listener.port if self.listener is not None else None

    def access_keys_for(self, config: GatewayConfig) -> AccessKeys | None:
        """The access keys requests must present under ``config`` (``None``: none needed)."""
        if not config.server.require_auth:
            return None
        if self.access_keys is None:
            self.access_keys = AccessKeys.from_env() or self.access_store.load()
        return self.access_keys

    async def reload_access_keys(self) -> None:
        """Access keys were created or revoked: read them, and check requests against them now."""
        if self.team is not None and self.team.sync is not None:  # new local keys join the team's
            await self.team.sync.seed_keys(await in_thread(self.access_store.infos))
            self._use_access_keys(await self.team.sync.load_keys())
            return
        self.access_keys = await in_thread(self.access_store.load)
        self.refresh_listener()

    def _use_access_keys(self, keys: AccessKeys) -> None:
        self.access_keys = keys
        self.refresh_listener()

    def announce_config(self, version: Version) -> None:
        """A config version took effect here: tell subscribers (and, in team mode, the team)."""
        self.events.emit(ConfigApplied(version.number, version.author, version.summary))
        if self.team is not None and self.team.sync is not None and version.author != "team":
            self.team.sync.config_applied(version.author, version.summary)

    def refresh_listener(self) -> None:
        if self.listener is not None and self.snapshot is not None:
            self.listener.refresh(self.snapshot.config)

    async def stop(self) -> None:
        """Stop accepting, drain in-flight requests (bounded), close upstream sessions and the log."""
        await self.watcher.stop()
        await self.lag.stop()
        self.gc_watch.uninstall()
        if self.listener is not None:
            await self.listener.stop()  # waits up to drain_timeout for in-flight handlers
        if self.snapshot is not None:
            for adapter in self.snapshot.adapters.values():
                await adapter.close()
        while self._retired:  # replaced by a reload or a key change, not yet closed
            await self._retired.popitem()[1].close()
        await in_thread(self.request_log.close)
        for stop in self.hooks.stop:  # e.g. the cache finishes its writes and closes
            await stop()
        if self.team is not None:  # after the local log: the shipper sends its last rows
            await self.team.stop()
            self.team = None
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
        snapshot = await in_thread(self.build_snapshot, config, old)
        if self.listener is not None:
            await self.listener.apply(config)
        self.snapshot = snapshot
        self.request_log.set_retention(config.logging.retention_days)
        self.retire(old, snapshot)

    def retire(self, old: Snapshot | None, new: Snapshot) -> None:
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
            self.applied_hash = version.sha256
        self.announce_config(version)
        return version

    def build_snapshot(self, config: GatewayConfig, previous: Snapshot | None = None) -> Snapshot:
        """Runs off the loop: resolving keys may touch the keychain."""
        return build_snapshot(config, self.secrets, previous)

    # -- the config to start with ----------------------------------------------------------------

    async def load_config(self) -> GatewayConfig:
        """The config to start with.

        The config file if there is one (an invalid file falls back to the newest valid saved
        version, reported through :class:`ConfigRejected`; with none, ConfigError is raised);
        else the zero-config default with any local model servers that answer.
        """
        if self._initial_config is not None:
            return self._initial_config
        if not await in_thread(self.store.exists):
            discovered = await discover_local_servers() if self.options.discover_local else ()
            if discovered:
                log.info("found local model servers: %s", ", ".join(discovered))
            return default_config(discovered)
        await in_thread(self.store.sweep)
        try:
            config = await in_thread(self.store.load)
        except ConfigError as exc:
            fallback = await in_thread(self.last_good_version)
            if fallback is None:
                raise
            log.warning("config file is invalid; using saved version %d instead:\n%s", fallback[0], exc)
            self.events.emit(ConfigRejected(exc.source, tuple(exc.problems)))
            self.applied_hash = await in_thread(self.store.file_hash)
            return fallback[1]
        self.applied_hash = await in_thread(self.record_if_new, config)
        return config

    def last_good_version(self) -> tuple[int, GatewayConfig] | None:
        """The newest saved version that is valid, with its number (blocking: files)."""
        for version in reversed(self.store.history()):
            try:
                return version.number, self.store.version_config(version.number)
            except ConfigError:
                continue
        return None

    def record_if_new(self, config: GatewayConfig) -> str | None:
        """Record the file as a version unless it is the latest one already; returns its hash."""
        text = self.config_path.read_text(encoding="utf-8")
        digest = content_hash(text)
        latest = self.store.latest()
        if latest is None or latest.sha256 != digest:
            self.store.record(config, "file edit" if latest else "initial", text=text)
        return digest

    # -- requests --------------------------------------------------------------------------------

    def request_began(self, ex: Exchange) -> None:
        self.in_flight += 1
        self.lag.kick()
        self.request_log.begin(ex.id, ex.started_at, ex.surface, ex.user_agent)  # written if it outlives a batch

    def request_ended(self, ex: Exchange) -> None:
        self.in_flight -= 1
        while ex.on_end:
            ex.on_end.pop()()
        if ex.finished:
            return
        ex.finished = True
        record = ex.record()
        for on_ended in self.hooks.ended:
            on_ended(ex, record)
        self.request_log.submit(record, ex.price)
        if self.events.has_subscribers:
            self.events.emit(RequestFinished(record))

    def _observe_logged(self, record: RequestRecord) -> None:
        """On the log writer thread, once a record is priced: the hooks' ``on_logged`` (metrics, budgets)."""
        for on_logged in self.hooks.logged:
            on_logged(record)

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
            "loop": {**self.lag.as_dict(), **self.gc_watch.as_dict()},
            "targets": self.health.snapshot(),
            **({"state": self.team.readiness()} if self.team is not None else {}),
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
        """Where ``model`` goes (for an A/B split: this client's variant).

        Raises:
            ApiError: 404 in OpenAI's shape when no route or provider matches.
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
        return resolution

    async def serve(self, ex: Exchange, snap: Snapshot, request: ModelRequest) -> UpstreamReply:
        """Answer one model request: resolve it, let the hooks refuse or answer it (limits, the
        cache), else run the attempt loop and let the hooks see the reply.

        Returns:
            The reply (a stream primed to its first content), in the format its source spoke.

        Raises:
            ApiError: no route (404), over a limit (429), the client's own mistake, or the last
                target's failure.
        """
        resolution = self.resolve(ex, snap, request.model, user=request.user, headers=request.headers)
        reply = None
        for on_request in self.hooks.request:
            pending = on_request(ex, snap, resolution, request)
            if pending is not None and (reply := await pending) is not None:
                break  # answered early: later hooks are skipped
        if self.events.has_subscribers:
            self.events.emit(
                RequestStarted(ex.id, ex.started_at, ex.surface, request.model, ex.client, ex.stream, ex.route)
            )
        if reply is not None:
            return reply
        reply = await self.forward(ex, snap, resolution, request)
        for on_response in self.hooks.response:
            reply = on_response(ex, resolution, request, reply)
        return reply

    async def forward(
        self, ex: Exchange, snap: Snapshot, resolution: Resolution, request: ModelRequest
    ) -> UpstreamReply:
        """Run the attempt loop (``routing/attempts.py``) over the resolution's targets.

        Raises:
            ApiError: the client's own mistake, or the last target's failure.
        """
        adapters = snap.adapters
        on_attempt = self.hooks.attempt

        async def send(attempt: Attempt) -> UpstreamReply:
            adapter = adapters[attempt.provider]
            call = request.build(attempt, adapter.native, adapter.supports_stream_usage)
            call.prompt_caching = resolution.policy.prompt_caching
            for hook in on_attempt:
                instead = hook(snap, attempt, adapter, call)
                if instead is not None:
                    reply = await instead
                    break
            else:
                reply = await adapter.call(call)
            if request.stream and reply.events is not None:
                reply = await request.prime(reply, attempt.provider)
            return reply

        self.attempts.prices = snap.price
        watched = self.hooks.attempted
        report = ReportingAttempts(ex, watched) if watched else ex  # nobody watching: no detour
        attempt, reply = await self.attempts.run(report, resolution, send)
        ex.provider, ex.upstream_model = attempt.provider, attempt.model  # the answering target (hedging)
        ex.price = snap.price_ref(attempt)
        return reply
