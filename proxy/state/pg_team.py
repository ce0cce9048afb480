"""Access keys and config versions shared by every replica through PostgreSQL, changes announced
with LISTEN/NOTIFY (delivered in under a millisecond on loopback, PLATFORM.md T2), so a revoked key
is refused and a saved or rolled-back config is served by every replica within a second.

Access keys: the table holds names and SHA-256 hashes only (never a key). The keys in force are
the team's unrevoked keys, plus ``SWITCHBOARD_ACCESS_KEY`` when set (a bootstrap key). At start a
replica adds its local keys (``access-key new`` on any machine) to the table; a revoked one stays
revoked. ``switchboard access-key new/revoke/list`` with a database URL work on the table.

Config versions: a config this replica applied from its own file or a save (``ConfigApplied``) is
inserted as a new version in its canonical text and announced; the others save it as their own
config file (their local history keeps it too). At start a replica takes the team's newest
version, or publishes its own when there is none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from proxy.config.schema import GatewayConfig, parse_config
from proxy.config.store import config_text, content_hash
from proxy.domain.errors import ConfigError
from proxy.storage.access_keys import ACCESS_KEY_ENV, AccessKeyInfo, AccessKeys, key_hash
from proxy.support.threads import in_thread

log = logging.getLogger(__name__)

KEYS_CHANNEL = "switchboard_access_keys"
CONFIG_CHANNEL = "switchboard_config"


class ConfigHost(Protocol):
    """What config sync needs of its gateway (``proxy.engine.gateway.Gateway``)."""

    config_path: Path

    async def save_config(self, config: GatewayConfig, author: str, summary: str | None = None) -> Any: ...


async def upsert_keys(conn: Any, infos: list[AccessKeyInfo]) -> None:
    await conn.executemany(
        "INSERT INTO access_keys (name, hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        [(k.name, k.sha256, k.created) for k in infos],
    )
    await conn.execute(f"NOTIFY {KEYS_CHANNEL}")


async def revoke_key(conn: Any, name: str) -> bool:
    status = await conn.execute(
        "UPDATE access_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL", name, time.time()
    )
    await conn.execute(f"NOTIFY {KEYS_CHANNEL}")
    return bool(int(status.split()[-1]))


class TeamSync:
    """One LISTEN connection for keys and config; see the module doc."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.url = url
        self.origin = os.urandom(6).hex()
        self.on_keys: Callable[[AccessKeys], Awaitable[None] | None] | None = None
        self.host: ConfigHost | None = None
        self.current: str | None = None
        """Canonical hash of the team version in force here (received or published): not sent back."""
        self.applied_remote = 0
        self._conn: asyncpg.Connection | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._watch: asyncio.Task[None] | None = None

    # -- access keys -------------------------------------------------------------------------------

    async def load_keys(self) -> AccessKeys:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT name, hash FROM access_keys WHERE revoked_at IS NULL ORDER BY name")
        hashes = {r["name"]: r["hash"] for r in rows}
        env = os.environ.get(ACCESS_KEY_ENV)
        if env:
            AccessKeys.from_env()  # registers the value with the redactor
            hashes["env"] = key_hash(env)
        return AccessKeys(hashes)

    async def seed_keys(self, infos: list[AccessKeyInfo]) -> None:
        if infos:
            async with self.pool.acquire() as conn:
                await upsert_keys(conn, infos)

    # -- config versions ---------------------------------------------------------------------------

    async def publish_config(self, text: str, author: str, summary: str | None) -> None:
        try:
            config = parse_config(text)
        except ConfigError:
            return
        canonical = config_text(config)
        digest = content_hash(canonical)
        if digest == self.current:
            return
        self.current = digest
        async with self.pool.acquire() as conn:
            number = await conn.fetchval(
                "INSERT INTO config_versions (created_at, author, summary, sha256, text) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING number",
                time.time(),
                author,
                summary,
                digest,
                canonical,
            )
            await conn.execute("SELECT pg_notify($1, $2)", CONFIG_CHANNEL, f"{self.origin}:{number}")

    def config_applied(self, author: str, summary: str | None) -> None:
        """This replica applied a config (its file, a save, a rollback): publish it."""
        if self.host is None:
            return
        path = self.host.config_path

        async def publish() -> None:
            try:
                text = await in_thread(path.read_text, "utf-8")
                await self.publish_config(text, author, summary)
            except _PUBLISH_ERRORS as exc:
                log.warning("could not publish the config version to PostgreSQL (%s)", type(exc).__name__)

        self._spawn(publish())

    async def _apply_version(self, number: int | None) -> None:
        async with self.pool.acquire() as conn:
            if number is None:
                row = await conn.fetchrow("SELECT * FROM config_versions ORDER BY number DESC LIMIT 1")
            else:
                row = await conn.fetchrow("SELECT * FROM config_versions WHERE number = $1", number)
        if row is None or self.host is None:
            return
        if row["sha256"] == self.current:
            return
        self.current = row["sha256"]
        try:
            config = parse_config(row["text"], f"team config version {row['number']}")
        except ConfigError as exc:
            log.warning("team config version %s is invalid here; keeping ours:\n%s", row["number"], exc)
            return
        self.applied_remote += 1
        await self.host.save_config(config, "team", f"team version {row['number']} ({row['author']})")

    async def sync_config_at_start(self) -> None:
        """Take the team's newest config, or publish ours when the team has none."""
        if self.host is None:
            return
        async with self.pool.acquire() as conn:
            latest = await conn.fetchrow("SELECT sha256 FROM config_versions ORDER BY number DESC LIMIT 1")
        try:
            ours = content_hash(config_text(parse_config(await in_thread(self.host.config_path.read_text, "utf-8"))))
        except (OSError, ConfigError):
            ours = None
        if latest is None:
            if ours is not None:
                self.config_applied("initial", "first replica of the team")
            return
        if ours == latest["sha256"]:
            self.current = ours
        else:
            await self._apply_version(None)

    # -- listening ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._listen()
        self._watch = asyncio.ensure_future(self._keep_listening())

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.url)
        await conn.add_listener(KEYS_CHANNEL, self._notified)
        await conn.add_listener(CONFIG_CHANNEL, self._notified)
        self._conn = conn

    async def _keep_listening(self) -> None:
        """Reconnect the LISTEN connection after PostgreSQL restarts (and reload what may have changed)."""
        while True:
            await asyncio.sleep(0.5)
            if self._conn is not None and not self._conn.is_closed():
                continue
            try:
                await self._listen()
            except _PG_ERRORS:
                continue
            self._spawn(self._reload_keys())

    def _notified(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        payload = str(payload)
        if channel == KEYS_CHANNEL:
            self._spawn(self._reload_keys())
        elif channel == CONFIG_CHANNEL:
            origin, _, number = payload.partition(":")
            if origin != self.origin and number.isdigit():
                self._spawn(self._apply_version(int(number)))

    async def _reload_keys(self) -> None:
        if self.on_keys is None:
            return
        try:
            keys = await self.load_keys()
        except _PG_ERRORS:
            return
        result = self.on_keys(keys)
        if result is not None:
            await result

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._conn is not None:
            with contextlib.suppress(*_PG_ERRORS):
                await self._conn.close()


_PG_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
_PUBLISH_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
