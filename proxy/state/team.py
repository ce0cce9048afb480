"""TeamState: the shared engines of one replica, started with the gateway when a state URL is set.

The engine asks it for the shared stores (limits, breakers, cache) and starts the PostgreSQL log
shipper next to its local log. A wrong URL or credentials at start is a ``GatewayStartError``
naming the setting (the password never shown); an engine that fails later is reported once per
outage: a log line, a :class:`~proxy.domain.events.StateEngineChanged` event and the
``switchboard_state_up`` gauge, while the gateway keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from proxy.config.state import StateConfig
from proxy.domain.errors import GatewayStartError
from proxy.domain.events import GatewayEvents, StateEngineChanged
from proxy.state.urls import DATABASE_ENV, REDIS_ENV, StateUrls, safe_url, scrub

log = logging.getLogger(__name__)

START_TIMEOUT = 5.0


class TeamState:
    def __init__(self, urls: StateUrls, config: StateConfig, events: GatewayEvents, name: str | None = None) -> None:
        self.urls = urls
        self.config = config
        self.events = events
        self.name = name or socket.gethostname()
        self.redis: Any = None  # RedisLink
        self.limits: Any = None  # RedisLimitStore
        self.cache: Any = None  # RedisCacheStore
        self.health: Any = None  # SharedHealthBoard
        self.pool: Any = None  # asyncpg.Pool
        self.log: Any = None  # PgLog
        self.sync: Any = None  # TeamSync (access keys, config versions)

    # -- start -------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Reach the engines and migrate the database. Raises ``GatewayStartError``."""
        if self.urls.redis:
            await self._connect_redis(self.urls.redis)
        if self.urls.database:
            await self._connect_pg(self.urls.database)

    async def _connect_redis(self, url: str) -> None:
        try:
            from proxy.state.redis_cache import RedisCacheStore
            from proxy.state.redis_limits import RedisLimitStore
            from proxy.state.redis_link import RedisLink
        except ImportError as exc:
            raise GatewayStartError(_missing("state.redis_url", exc)) from None
        try:
            link = RedisLink(url, self.config.key_prefix, self._on_redis)
        except ValueError as exc:
            raise GatewayStartError(_bad("state.redis_url", REDIS_ENV, url, str(exc))) from None
        try:
            await asyncio.wait_for(link.connect(), START_TIMEOUT)
        except (ConnectionError, TimeoutError) as exc:
            await link.close()
            raise GatewayStartError(_bad("state.redis_url", REDIS_ENV, url, str(exc) or "timed out")) from None
        self.redis = link
        self.limits = RedisLimitStore(link, fail_closed=self.config.on_redis_down == "fail_closed")
        self.cache = RedisCacheStore(link)
        log.info("team mode: Redis at %s", link.shown)

    async def _connect_pg(self, url: str) -> None:
        try:
            import asyncpg

            from proxy.state.pg_schema import migrate
        except ImportError as exc:
            raise GatewayStartError(_missing("state.database_url", exc)) from None
        try:
            self.pool = await asyncio.wait_for(
                asyncpg.create_pool(url, min_size=1, max_size=4, command_timeout=10), START_TIMEOUT
            )
            async with self.pool.acquire() as conn:
                applied = await migrate(conn)
        except Exception as exc:  # asyncpg raises many kinds (OSError, auth, bad DSN ...): all mean "cannot use it"
            if self.pool is not None:
                await self.pool.close()
                self.pool = None
            await self.close_redis()
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise GatewayStartError(_bad("state.database_url", DATABASE_ENV, url, scrub(detail, url))) from None
        from proxy.state.pg_team import TeamSync

        self.sync = TeamSync(self.pool, url)
        if applied:
            log.info("team mode: applied %d PostgreSQL schema migrations", applied)
        log.info("team mode: PostgreSQL at %s", safe_url(url))

    def health_board(self, **kwargs: Any) -> Any:
        """The shared breaker board (Redis), or ``None``."""
        if self.redis is None:
            return None
        from proxy.state.redis_health import SharedHealthBoard

        self.health = SharedHealthBoard(self.redis, **kwargs)
        return self.health

    async def start(self, log_db: Path, retention_days: float, port: int | None = None) -> None:
        """After the local log started: the breaker listener and the log shipper."""
        if self.health is not None:
            await self.health.start()
        if self.pool is not None:
            from proxy.state.pg_log import PgLog

            name = f"{self.name}:{port}" if port else self.name
            self.log = PgLog(self.pool, log_db, name, retention_days)
            await self.log.start()

    def register_metrics(self, registry: CollectorRegistry) -> None:
        up = Gauge(
            "switchboard_state_up", "Shared state engine reachable (1) or not (0).", ("engine",), registry=registry
        )
        if self.redis is not None:
            up.labels("redis").set_function(lambda: 1.0 if self.redis.up else 0.0)
        if self.pool is not None:
            up.labels("postgresql").set_function(lambda: 1.0 if self.log is None or self.log.up else 0.0)

    # -- running -----------------------------------------------------------------------------------

    def _on_redis(self, up: bool, detail: str) -> None:
        self.events.emit(StateEngineChanged("redis", up, detail))

    def readiness(self) -> dict[str, Any]:
        """Per engine: up or not, and what it did (``/health`` and ``switchboard status``)."""
        out: dict[str, Any] = {}
        if self.redis is not None:
            out["redis"] = {
                "up": self.redis.up,
                "url": self.redis.shown,
                "outages": self.redis.outages,
                "shared_limits": {
                    "admitted": self.limits.admitted,
                    "refused": self.limits.refused,
                    "fallbacks": self.limits.fallbacks,
                },
            }
        if self.pool is not None:
            shipper = self.log
            out["postgresql"] = {
                "up": shipper.up if shipper is not None else True,
                "shipped": shipper.shipped if shipper is not None else 0,
                "failures": shipper.failures if shipper is not None else 0,
                "owner": shipper.owner if shipper is not None else None,
            }
        return out

    @property
    def ready(self) -> bool:
        return all(engine["up"] for engine in self.readiness().values())

    async def stop(self) -> None:
        """After the local log closed: ship the rest, stop listening, close the engines."""
        if self.sync is not None:
            await self.sync.stop()
        if self.log is not None:
            await self.log.stop()
            self.log = None
        if self.health is not None:
            await self.health.stop()
        if self.limits is not None:
            await self.limits.drain()
        if self.cache is not None:
            await self.cache.close()
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        await self.close_redis()

    async def close_redis(self) -> None:
        if self.redis is not None:
            await self.redis.close()
            self.redis = None


def _missing(setting: str, exc: ImportError) -> str:
    return (
        f"{setting} is set, but team mode needs the 'team' extra (pip install 'switchboard[team]'): "
        f"{exc.name} is missing"
    )


def _bad(setting: str, env: str, url: str, detail: str) -> str:
    return f"cannot use {setting} ({env}) {safe_url(url)}: {scrub(detail, url)}"
