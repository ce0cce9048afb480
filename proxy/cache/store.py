"""The cache store: SQLite on disk, a TTL per entry and a bound on entries (least recently used
goes first).

:class:`CacheStore` is what the engine's cache hook uses; :class:`SqliteCacheStore` is the
default one, a :class:`ResponseCache` (one connection, blocking) run on its own worker thread."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    body BLOB NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    last_used REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS responses_last_used ON responses (last_used);
"""


class ResponseCache:
    """Stored chat completions (JSON bytes) by cache key."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(SCHEMA)
        try:
            path.chmod(0o600)
        except OSError:
            pass
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        now = time.time()
        with self._lock:
            row = self._conn.execute("SELECT body, expires FROM responses WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            if row[1] < now:
                self._conn.execute("DELETE FROM responses WHERE key = ?", (key,))
                return None
            self._conn.execute("UPDATE responses SET last_used = ?, hits = hits + 1 WHERE key = ?", (now, key))
            return bytes(row[0])

    def put(self, key: str, route: str, body: bytes, ttl: float, max_entries: int) -> None:
        now = time.time()
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, route, body, created, expires, last_used) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, route, body, now, now + ttl, now),
            )
            count = self._conn.execute("SELECT count(*) FROM responses WHERE route = ?", (route,)).fetchone()[0]
            if count > max_entries:
                self._conn.execute(
                    "DELETE FROM responses WHERE key IN (SELECT key FROM responses WHERE route = ? "
                    "ORDER BY last_used LIMIT ?)",
                    (route, count - max_entries),
                )

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CacheStore(Protocol):
    """Stored answers by cache key, for the engine's cache hook (SQLite here; Redis can be another)."""

    async def get(self, key: str) -> bytes | None:
        """The stored answer, or ``None`` (also when the store fails: the request goes upstream)."""

    def put(self, key: str, route: str, body: bytes, ttl: float, max_entries: int) -> None:
        """Store an answer in the background (never delays the response)."""

    async def close(self) -> None:
        """Finish pending writes and close; the store can be used again afterwards (a restart)."""


class SqliteCacheStore:
    """A :class:`ResponseCache` at ``path``, opened on first use, called on its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cache: ResponseCache | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="switchboard-cache")

    async def get(self, key: str) -> bytes | None:
        result: bytes | None = await asyncio.get_running_loop().run_in_executor(self._thread, self._call, "get", key)
        return result

    def put(self, key: str, route: str, body: bytes, ttl: float, max_entries: int) -> None:
        self._thread.submit(self._call, "put", key, route, body, ttl, max_entries)

    async def count(self) -> int | None:
        """Entries stored (for ``/metrics``), on the store's thread."""
        result: int | None = await asyncio.get_running_loop().run_in_executor(self._thread, self._call, "count")
        return result

    def _call(self, op: str, *args: Any) -> Any:
        try:
            if self.cache is None:
                self.cache = ResponseCache(self.path)
            return getattr(self.cache, op)(*args)
        except sqlite3.Error:
            log.exception("response cache %s failed; answering without the cache", op)
            return None

    async def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="switchboard-cache")
