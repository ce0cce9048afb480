"""The request log: SQLite (WAL) written by one thread, in batches, never on the event loop.

The event loop hands finished :class:`~proxy.domain.records.RequestRecord` objects to
:meth:`RequestLog.submit` (a non-blocking put on a bounded queue). The writer thread owns the
only writing connection: every 100 ms it prices the queued records and inserts them, at most 500
rows per transaction, and then emits :class:`~proxy.domain.events.RequestLogged`. Readers (CLI, tray) open
their own connections through :func:`read_recent`.

Rows are two-phase so a crash loses nothing: :meth:`RequestLog.begin` queues an ``in_progress``
row when a request arrives and the final record replaces it. A request that ends within the same
batch (most do) never has its ``in_progress`` row written at all, so the common case costs no
extra write. At start, rows still ``in_progress`` from a previous run become ``interrupted``.

Environmental failures (disk full, database locked) are counted and logged, and the proxy keeps
serving. An unexpected exception in the writer (a bug) is logged (redacted, like every log
record) and counted too, and the writer carries on: it never dies and silently stops logging.

Retention (``logging.retention_days``): the writer deletes rows older than that when it starts and
every ``PURGE_SECONDS`` after, ``PURGE_BATCH`` rows per transaction and at most
``PURGE_BATCHES_PER_TICK`` transactions between two write batches (so a big purge never holds up
logging), then gives the freed pages back to the file system (a new database is created with
``auto_vacuum = INCREMENTAL``).
"""

from __future__ import annotations

import calendar
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from proxy.domain.events import GatewayEvents, RequestLogged
from proxy.domain.pricing import PriceRef, cost_usd
from proxy.domain.records import IN_PROGRESS, INTERRUPTED, RECORD_FIELDS, RequestRecord

log = logging.getLogger(__name__)

TABLE = "requests"
BATCH_ROWS = 500
BATCH_SECONDS = 0.1
QUEUE_BOUND = 10_000
PURGE_SECONDS = 3600.0
PURGE_BATCH = 1000
PURGE_BATCHES_PER_TICK = 20

_COLUMNS: dict[str, type] = {
    "id": str,
    "started_at": float,
    "surface": str,
    "status": str,
    "http_status": int,
    "client": str,
    "user_agent": str,
    "requested_model": str,
    "route": str,
    "provider": str,
    "upstream_model": str,
    "error": str,
    "stream": int,
    "ttfb_ms": float,
    "latency_ms": float,
    "tokens_in": int,
    "tokens_out": int,
    "tokens_cached": int,
    "tokens_cache_write": int,
    "cost": float,
    "attempts": int,
    "cache": str,
    "variant": str,
    "cost_saved": float,
    "attempt_log": str,
    "request_body": str,
    "response_body": str,
    "app": str,
}
assert set(_COLUMNS) == set(RECORD_FIELDS), "request log columns must follow RequestRecord"


_COLUMNS_V1 = {
    k: v
    for k, v in _COLUMNS.items()
    if k not in ("attempt_log", "cache", "cost_saved", "variant", "tokens_cache_write", "app")
}


def _migration_1(db: sqlite_utils.Database) -> None:
    table = db.table(TABLE)  # a Table (db[name] may also be a View, which cannot be created)
    table.create(_COLUMNS_V1, pk="id", not_null={"started_at", "surface", "status", "http_status"})
    table.create_index(["started_at"])


def _migration_2(db: sqlite_utils.Database) -> None:
    """Every attempt of a request (routing engine)."""
    db.execute(f"ALTER TABLE {TABLE} ADD COLUMN attempt_log TEXT")


def _migration_3(db: sqlite_utils.Database) -> None:
    """Response cache outcome and the money it saved."""
    db.execute(f"ALTER TABLE {TABLE} ADD COLUMN cache TEXT")
    db.execute(f"ALTER TABLE {TABLE} ADD COLUMN cost_saved REAL")


def _migration_4(db: sqlite_utils.Database) -> None:
    """A/B variants."""
    db.execute(f"ALTER TABLE {TABLE} ADD COLUMN variant TEXT")


def _migration_5(db: sqlite_utils.Database) -> None:
    """Prompt-cache writes (priced apart from plain input)."""
    db.execute(f"ALTER TABLE {TABLE} ADD COLUMN tokens_cache_write INTEGER")


def _migration_6(db: sqlite_utils.Database) -> None:
    """The calling app as it names itself (X-Title / HTTP-Referer)."""
    db.execute(f"ALTER TABLE {TABLE} ADD COLUMN app TEXT")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
]
"""Numbered schema migrations: ``MIGRATIONS[n]`` takes ``user_version`` n to n+1."""


def open_db(path: Path) -> sqlite_utils.Database:
    """Open (and migrate) the log database for writing."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA busy_timeout = 5000")
    if conn.execute("PRAGMA user_version").fetchone()[0] == 0 and not db.table_names():
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only possible before the first table
    db.enable_wal()
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA journal_size_limit = 67108864")
    try:
        path.chmod(0o600)
    except OSError:
        pass
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number in range(version, len(MIGRATIONS)):
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            MIGRATIONS[number](db)
            conn.execute(f"PRAGMA user_version = {number + 1}")
    return db


Begun = tuple[str, float, str, "str | None"]
"""A request that has just arrived: id, start time, surface, user agent (its ``in_progress`` row)."""
Pending = tuple["RequestRecord | Begun", "PriceRef | None", bool]
"""What waits for the writer: a finished record with its price (final), or a begun request."""


class RequestLog:
    """Owns the writer thread and its queue.

    The queue is a deque the writer drains on a timer (every ``BATCH_SECONDS``) while rows
    come: submitting does not wake a busy writer, so a burst of requests costs one thread switch
    per batch, not one per request. When a tick finds nothing to write, the writer sleeps until
    the next submission (or the next retention purge): idle, it never wakes up. Only the
    submission that finds it asleep pays one ``Event.set``.
    """

    def __init__(
        self, path: Path, events: GatewayEvents | None = None, observe: Callable[[RequestRecord], None] | None = None
    ) -> None:
        self.path = path
        self.events = events
        self.observe = observe
        """Called on the writer thread for every committed record (metrics)."""
        self.written = 0
        self.dropped = 0
        """Rows lost to a full queue or a failing disk (the tray shows this)."""
        self._pending: deque[Pending] = deque()
        """(record, price, final); for an ``in_progress`` row from :meth:`begin`, ``final`` is False
        and the first item is (id, started_at, surface, user_agent)."""
        self._submitted = 0
        self._done = 0
        self._wake = threading.Event()
        self._asleep = False
        """The writer waits for the next submission (set and read without a lock: see _sleep)."""
        self._stopping = False
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        placeholders = ", ".join("?" for _ in RECORD_FIELDS)
        self._sql = f"INSERT OR REPLACE INTO {TABLE} ({', '.join(RECORD_FIELDS)}) VALUES ({placeholders})"
        self.interrupted = 0
        """Rows found ``in_progress`` at start (the previous run stopped mid-request)."""
        self.recovered_from: Path | None = None
        """Where a damaged log database was moved at start (the tray tells the user)."""
        self.retention_days: float = 30.0
        """Rows older than this are deleted (set from ``logging.retention_days``; read by the writer)."""
        self.purged = 0
        """Rows deleted by retention since start."""
        self._next_purge = 0.0

    def start(self) -> None:
        try:
            db = open_db(self.path)  # migrate now, so a broken database shows at start
        except sqlite3.DatabaseError as exc:  # not a database, or damaged: keep it aside, start afresh
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked, read-only, disk full: environmental, not corruption
            aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{self.path}{suffix}")
                if part.exists():
                    part.rename(Path(f"{aside}{suffix}"))
            self.recovered_from = aside
            log.error(
                "the request log %s was damaged (%s); moved it to %s and started a new one", self.path, exc, aside
            )
            db = open_db(self.path)
        try:
            with db.conn:
                cursor = db.conn.execute(
                    f"UPDATE {TABLE} SET status = ?, error = ? WHERE status = ?",
                    (INTERRUPTED, "Switchboard stopped before this request finished", IN_PROGRESS),
                )
            self.interrupted = cursor.rowcount
            if self.interrupted:
                log.warning("%d requests were interrupted when Switchboard last stopped", self.interrupted)
        finally:
            db.conn.close()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="switchboard-log-writer", daemon=True)
        self._thread.start()

    def set_retention(self, days: float) -> None:
        """Keep rows for ``days``; a change takes effect at the writer's next tick."""
        if days != self.retention_days:
            self.retention_days = days
            self._next_purge = 0.0
            if self._asleep:
                self._rouse()

    def submit(self, record: RequestRecord, price: PriceRef | None = None) -> None:
        """Queue a record for writing. Never blocks; counts a drop when the queue is full."""
        if len(self._pending) >= QUEUE_BOUND:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:  # never a log line per request under overload
                log.warning("request log queue full; %d rows dropped so far", self.dropped)
            return
        self._pending.append((record, price, True))  # deque.append is atomic: no lock on the hot path
        self._submitted += 1
        if self._asleep:
            self._rouse()

    def begin(self, request_id: str, started_at: float, surface: str, user_agent: str | None) -> None:
        """Queue the ``in_progress`` row of a request that has just arrived (see the module doc).
        Only plain values cross here; the row itself is built on the writer thread, if needed."""
        if len(self._pending) >= QUEUE_BOUND:
            return  # its final record will be counted if it is dropped too
        self._pending.append(((request_id, started_at, surface, user_agent), None, False))
        self._submitted += 1
        if self._asleep:
            self._rouse()

    def _rouse(self) -> None:
        self._asleep = False
        self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far is committed (tests, shutdown)."""
        target = self._submitted
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return False
                self._idle.wait(min(remaining, 0.05))
        return True

    def close(self, timeout: float = 5.0) -> None:
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    # -- writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        db = open_db(self.path)
        try:
            while True:
                if self._pending or self._stopping:
                    self._wake.wait(BATCH_SECONDS)  # let the batch gather
                else:
                    self._sleep()
                self._wake.clear()
                stopping = self._stopping
                while self._pending:
                    batch: list[Pending] = []
                    while self._pending and len(batch) < BATCH_ROWS:
                        batch.append(self._pending.popleft())
                    try:
                        self._write(db, batch)
                    except Exception:  # a bug: the batch is lost, but the writer lives on (never silently)
                        self.dropped += len(batch)
                        log.exception("request log writer failed; %d rows dropped", len(batch))
                    finally:
                        with self._idle:
                            self._done += len(batch)
                            self._idle.notify_all()
                if stopping:
                    return
                if time.monotonic() >= self._next_purge:
                    self._purge_step(db)
        finally:
            db.conn.close()

    def _sleep(self) -> None:
        """Wait for the next submission, or until the next purge is due. ``_asleep`` is set
        before the queue is looked at again: a submission that came in between either is seen
        here or sees ``_asleep`` and sets the event (the GIL orders the two threads' steps)."""
        self._asleep = True
        due = self._next_purge - time.monotonic()
        if due > 0 and not self._pending and not self._stopping:
            self._wake.wait(due)
        self._asleep = False
        self._wake.clear()
        if self._pending and not self._stopping:
            self._wake.wait(BATCH_SECONDS)  # woken by the first row of a burst: let it gather

    def _purge_step(self, db: sqlite_utils.Database) -> None:
        """Delete rows past retention, a bounded amount per call; the next call comes at the next
        tick while rows remain, else after ``PURGE_SECONDS``."""
        cutoff = time.time() - self.retention_days * 86400
        deleted = 0
        try:
            for _ in range(PURGE_BATCHES_PER_TICK):
                with db.conn:
                    db.conn.execute("BEGIN")
                    cursor = db.conn.execute(
                        f"DELETE FROM {TABLE} WHERE rowid IN "
                        f"(SELECT rowid FROM {TABLE} WHERE started_at < ? LIMIT {PURGE_BATCH})",
                        (cutoff,),
                    )
                deleted += cursor.rowcount
                if cursor.rowcount < PURGE_BATCH:
                    self._next_purge = time.monotonic() + PURGE_SECONDS
                    break
            if deleted:
                # A no-op unless auto_vacuum is INCREMENTAL. It frees one page per step, and the
                # sqlite3 module's execute() steps once: executescript() runs it to the end.
                db.conn.executescript("PRAGMA incremental_vacuum;")
        except sqlite3.OperationalError as exc:  # locked, disk full: try again at the next schedule
            log.warning("deleting old request log rows failed (%s); will retry", exc)
            self._next_purge = time.monotonic() + min(PURGE_SECONDS, 60.0)
        if deleted:
            self.purged += deleted
            log.info("deleted %d request log rows older than %g days", deleted, self.retention_days)

    def _write(self, db: sqlite_utils.Database, items: list[Pending]) -> None:
        finished = {item.id for item, _, _ in items if isinstance(item, RequestRecord)}
        started = [
            RequestRecord(begun[0], begun[1], begun[2], IN_PROGRESS, 0, user_agent=begun[3])
            for begun, _, _ in items
            if not isinstance(begun, RequestRecord) and begun[0] not in finished
        ]
        records = []
        for record, price, _ in items:
            if not isinstance(record, RequestRecord):
                continue
            if price is not None and record.cost is None:
                try:
                    cost = cost_usd(
                        price, record.tokens_in, record.tokens_out, record.tokens_cached, record.tokens_cache_write
                    )
                except Exception:  # a pricing bug leaves the cost unknown; the row is still written
                    log.exception("pricing request %s failed; its cost is left unknown", record.id)
                    cost = None
                if record.cache == "hit":  # a hit costs nothing; it saved what the answer once cost
                    record = record.replace(cost=0.0, cost_saved=cost)
                elif cost is not None:  # no copy of the record when the price is unknown
                    record = record.replace(cost=cost)
            records.append(record)
        values = [tuple(getattr(r, f) for f in RECORD_FIELDS) for r in (*started, *records)]
        try:
            with db.conn:
                db.conn.execute("BEGIN")
                db.conn.executemany(self._sql, values)
        except sqlite3.OperationalError as exc:  # disk full, locked: environmental, not a bug
            self.dropped += len(records)
            log.error("request log write failed (%s); %d rows dropped", exc, len(records))
            return
        except sqlite3.Error:  # a bug (e.g. a constraint); the writer must survive it all the same
            self.dropped += len(records)
            log.exception("request log write failed; %d rows dropped", len(records))
            return
        self.written += len(records)
        try:
            if self.observe is not None:
                for record in records:
                    self.observe(record)
            if self.events is not None and self.events.has_subscribers:
                for record in records:
                    self.events.emit(RequestLogged(record))
        except Exception:  # the rows are committed; a failing listener must not stop the writer
            log.exception("a request log listener failed")


def _row_to_record(row: sqlite3.Row) -> RequestRecord:
    data = dict(row)
    data.pop("_rowid", None)
    data["stream"] = bool(data["stream"])
    return RequestRecord(**data)


def _connect_ro(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    if conn.execute("PRAGMA user_version").fetchone()[0] < 1:
        conn.close()
        return None
    return conn


def read_recent(path: Path, limit: int = 50) -> list[RequestRecord]:
    """The newest ``limit`` rows, oldest first.

    Opens its own read-only connection, so it never contends with the writer.
    """
    conn = _connect_ro(path)
    if conn is None:
        return []
    try:
        rows = conn.execute(f"SELECT * FROM {TABLE} ORDER BY rowid DESC LIMIT ?", (limit,)).fetchall()
    finally:
        conn.close()
    return [_row_to_record(r) for r in reversed(rows)]


def last_used_by_client(path: Path) -> dict[str, float]:
    """Access key name -> when it was last presented (``started_at`` of its newest request)."""
    conn = _connect_ro(path)
    if conn is None:
        return {}
    try:
        rows = conn.execute(
            f"SELECT client, max(started_at) FROM {TABLE} WHERE client IS NOT NULL GROUP BY client"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: row[1] for row in rows}


def read_since(path: Path, after_rowid: int, limit: int = 1000) -> tuple[list[RequestRecord], int]:
    """Rows written after ``after_rowid`` (in write order) and the last rowid seen (for --follow)."""
    conn = _connect_ro(path)
    if conn is None:
        return [], after_rowid
    try:
        rows = conn.execute(
            f"SELECT rowid AS _rowid, * FROM {TABLE} WHERE rowid > ? ORDER BY rowid LIMIT ?", (after_rowid, limit)
        ).fetchall()
    finally:
        conn.close()
    last = rows[-1]["_rowid"] if rows else after_rowid
    return [_row_to_record(r) for r in rows], last


def last_rowid(path: Path) -> int:
    conn = _connect_ro(path)
    if conn is None:
        return 0
    try:
        return int(conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {TABLE}").fetchone()[0])
    finally:
        conn.close()


def count_rows(path: Path) -> int:
    conn = _connect_ro(path)
    if conn is None:
        return 0
    try:
        return int(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])
    finally:
        conn.close()


def month_spend(path: Path) -> list[tuple[str | None, str | None, float, float]]:
    """Spend in the current UTC month: (client, route, a time in that day, dollars) per day."""
    conn = _connect_ro(path)
    if conn is None:
        return []
    now = time.gmtime()
    month_start = calendar.timegm((now.tm_year, now.tm_mon, 1, 0, 0, 0))
    try:
        rows = conn.execute(
            f"SELECT client, route, CAST((started_at - ?) / 86400 AS INTEGER) AS day, sum(cost) FROM {TABLE} "
            "WHERE started_at >= ? AND cost > 0 GROUP BY client, route, day",
            (month_start, month_start),
        ).fetchall()
    finally:
        conn.close()
    return [(r[0], r[1], month_start + r[2] * 86400 + 1, float(r[3])) for r in rows]


# -- request log page (desktop): pages of rows without bodies, and one full row ----------------------

LIGHT_FIELDS = tuple(f for f in RECORD_FIELDS if f not in ("request_body", "response_body"))
"""Every column but the captured bodies: what a table of many rows needs."""


def read_page(path: Path, limit: int, before: tuple[float, str] | None = None) -> list[RequestRecord]:
    """Up to ``limit`` rows without their bodies, oldest first: the newest ones, or with ``before``
    (``(started_at, id)`` of a row) the newest ones that started before it (the page above).

    Opens its own read-only connection, so it never contends with the writer.
    """
    conn = _connect_ro(path)
    if conn is None:
        return []
    columns = ", ".join(LIGHT_FIELDS)
    try:
        if before is None:
            sql = f"SELECT {columns} FROM {TABLE} ORDER BY started_at DESC, id DESC LIMIT ?"
            rows = conn.execute(sql, (limit,)).fetchall()
        else:
            sql = (
                f"SELECT {columns} FROM {TABLE} WHERE started_at < ? OR (started_at = ? AND id < ?) "
                "ORDER BY started_at DESC, id DESC LIMIT ?"
            )
            rows = conn.execute(sql, (before[0], before[0], before[1], limit)).fetchall()
    finally:
        conn.close()
    return [_row_to_record(r) for r in reversed(rows)]


def read_record(path: Path, request_id: str) -> RequestRecord | None:
    """One row with everything, bodies included (``None`` when it is not, or not yet, written)."""
    conn = _connect_ro(path)
    if conn is None:
        return None
    try:
        row = conn.execute(f"SELECT * FROM {TABLE} WHERE id = ?", (request_id,)).fetchone()
    finally:
        conn.close()
    return _row_to_record(row) if row is not None else None
