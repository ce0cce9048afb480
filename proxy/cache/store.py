"""The cache store: SQLite on disk, a TTL per entry and a bound on entries (least recently used
goes first). One connection, used from one worker thread: call it off the event loop."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

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
