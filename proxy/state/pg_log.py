"""The request log shared by every replica, in PostgreSQL, with this replica's SQLite log as its spool.

Every row is first written by the ordinary :class:`~proxy.storage.request_log.RequestLog` to the
replica's local SQLite file (two-phase rows, batched, off the loop, as in desktop mode). The
shipper here reads the rows written since its mark (in rowid order: a row replaced by its final
record gets a new rowid, so order is the order of writing) and upserts them into PostgreSQL, up to
``BATCH`` per transaction, then moves its mark (a small file next to the log). PostgreSQL down or
restarting: the mark stays, the rows wait in SQLite, and they are shipped in order when it returns.
A row is never lost (it is on disk before it is shipped) and never duplicated (the upsert is keyed
on the request id, so shipping again after a crash between commit and mark rewrites the same row).

Each replica has an owner id and a heartbeat row; every replica marks the ``in_progress`` rows of
replicas whose heartbeat is older than ``STALE_SECONDS`` as ``interrupted`` (a replica that was
killed). Retention deletes old rows in bounded batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import asyncpg

from proxy.domain.records import IN_PROGRESS, INTERRUPTED, RECORD_FIELDS, RequestRecord
from proxy.storage.request_log import last_rowid, read_since
from proxy.support.threads import in_thread

log = logging.getLogger(__name__)

BATCH = 500
SHIP_SECONDS = 0.1
RETRY_SECONDS = 0.5
HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 3.0
PURGE_SECONDS = 3600.0
PURGE_BATCH = 1000
PG_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

_COLUMNS = (*RECORD_FIELDS, "owner")
_UPSERT = (
    f"INSERT INTO requests ({', '.join(_COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(_COLUMNS)))}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _COLUMNS if c != 'id')} "
    f"WHERE requests.status IN ('{IN_PROGRESS}', '{INTERRUPTED}') OR EXCLUDED.status <> '{IN_PROGRESS}'"
)


class PgLog:
    """Ships this replica's log rows to PostgreSQL and keeps its heartbeat (see the module doc)."""

    def __init__(self, pool: asyncpg.Pool, log_db: Path, name: str, retention_days: float = 30.0) -> None:
        self.pool = pool
        self.log_db = log_db
        self.mark_path = log_db.with_name(log_db.name + ".pg-shipped")
        self.owner = f"{name}-{os.urandom(6).hex()}"
        self.name = name
        self.retention_days = retention_days
        self.mark = 0
        self.shipped = 0
        self.failures = 0
        self.interrupted = 0
        self.up = True
        self._tasks: list[asyncio.Task[None]] = []
        self._next_purge = 0.0

    async def start(self) -> None:
        self.mark = await in_thread(self._read_mark)
        async with self.pool.acquire() as conn:
            await conn.execute("INSERT INTO replicas (owner, name) VALUES ($1, $2)", self.owner, self.name)
        self._tasks = [asyncio.ensure_future(self._ship_loop()), asyncio.ensure_future(self._heartbeat_loop())]

    def _read_mark(self) -> int:
        try:
            mark = int(self.mark_path.read_text().strip() or 0)
        except (OSError, ValueError):
            mark = 0
        if mark > last_rowid(self.log_db):  # the log was started afresh: ship it all again
            mark = 0
        return mark

    def _write_mark(self, mark: int) -> None:
        tmp = self.mark_path.with_suffix(".tmp")
        tmp.write_text(str(mark))
        os.replace(tmp, self.mark_path)

    def _state(self, up: bool, exc: BaseException | None = None) -> None:
        if up != self.up:
            self.up = up
            if up:
                log.warning("PostgreSQL is back; shipping the spooled log rows")
            else:
                log.warning("PostgreSQL is unreachable (%s); log rows wait in the local spool", type(exc).__name__)

    async def ship_once(self) -> int:
        """Ship what is waiting (one batch); returns the rows shipped. Raises a PostgreSQL error."""
        rows, last = await in_thread(read_since, self.log_db, self.mark, BATCH)
        if not rows:
            return 0
        values = [(*(getattr(r, f) for f in RECORD_FIELDS), self.owner) for r in rows]
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await conn.executemany(_UPSERT, values)
        self.mark = last
        await in_thread(self._write_mark, last)
        self.shipped += len(rows)
        return len(rows)

    async def _ship_loop(self) -> None:
        while True:
            try:
                while await self.ship_once() >= BATCH:
                    pass
                self._state(True)
                if time.monotonic() >= self._next_purge:
                    await self._purge()
                await asyncio.sleep(SHIP_SECONDS)
            except asyncio.CancelledError:
                raise
            except PG_ERRORS as exc:
                self.failures += 1
                self._state(False, exc)
                await asyncio.sleep(RETRY_SECONDS)
            except Exception:  # a bug: logged, and the shipper carries on
                log.exception("shipping log rows to PostgreSQL failed")
                await asyncio.sleep(RETRY_SECONDS)

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(
                        "INSERT INTO replicas (owner, name) VALUES ($1, $2) "
                        "ON CONFLICT (owner) DO UPDATE SET heartbeat = now()",
                        self.owner,
                        self.name,
                    )
                    status = await conn.execute(
                        f"UPDATE requests SET status = '{INTERRUPTED}', "
                        "error = 'the replica serving this request stopped (no heartbeat)' "
                        f"WHERE status = '{IN_PROGRESS}' AND owner IN (SELECT owner FROM replicas "
                        "WHERE heartbeat < now() - make_interval(secs => $1))",
                        STALE_SECONDS,
                    )
                    self.interrupted += int(status.split()[-1])
                    await conn.execute("DELETE FROM replicas WHERE heartbeat < now() - interval '1 day'")
            except asyncio.CancelledError:
                raise
            except PG_ERRORS:
                pass  # the shipper reports the outage
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _purge(self) -> None:
        cutoff = time.time() - self.retention_days * 86400
        async with self.pool.acquire() as conn:
            for _ in range(20):
                status = await conn.execute(
                    "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE started_at < $1 LIMIT $2)",
                    cutoff,
                    PURGE_BATCH,
                )
                if int(status.split()[-1]) < PURGE_BATCH:
                    self._next_purge = time.monotonic() + PURGE_SECONDS
                    return

    async def stop(self) -> None:
        """Ship what is left (the local log is closed and flushed by now), leave the replicas table."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(*PG_ERRORS):
            async with asyncio.timeout(5):
                while await self.ship_once():
                    pass
                async with self.pool.acquire() as conn:
                    await conn.execute("DELETE FROM replicas WHERE owner = $1", self.owner)


def record_from_row(row: Any) -> RequestRecord:
    return RequestRecord(**{f: row[f] for f in RECORD_FIELDS})
