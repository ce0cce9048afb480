"""RequestLogModel: the request log as a Qt table model, fed live, filtered in place.

Rows are kept in arrival order (newest last) in a plain list, at most :data:`MAX_ROWS`; when more
arrive the oldest leave the table (they stay in the database: "Load older" or ``switchboard logs``
reach them). Captured bodies are never kept here: the detail pane reads one full row when asked.

Live records are not inserted one by one: :meth:`add` queues them and a timer inserts the queue
every :data:`FLUSH_MS` with one ``beginInsertRows``, so 50 or 500 requests a second cost the view
a few updates a second. A record whose id is already in the table (a running request that has
now ended) replaces its row.

Filtering happens here rather than in a ``QSortFilterProxyModel``: a proxy asks Python once per
row through Qt, which is slow at 100,000 rows; here one list comprehension over precomputed
lowercase search text picks the visible rows (``_view``, absolute positions, ascending).
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from proxy.api import IN_PROGRESS, OK, RequestRecord

MAX_ROWS = 100_000
FLUSH_MS = 150
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
"""``data(index, RECORD_ROLE)`` is the row's :class:`RequestRecord` (without bodies)."""

COLUMNS = (
    "Time",
    "Client",
    "API",
    "Model",
    "Route",
    "Served by",
    "Status",
    "Attempts",
    "TTFB",
    "Total",
    "Tokens",
    "Cost",
    "Cache",
)
HEADER_TIPS = {
    "Client": "The access key the tool used",
    "API": "The API the tool spoke (surface): chat, messages, responses, embeddings…",
    "Model": "The model name the tool asked for",
    "Served by": "The provider and model that answered",
    "Attempts": "Targets tried, retries and fallbacks included",
    "TTFB": "Time to the first byte of the answer",
    "Total": "Time until the request ended",
    "Tokens": "Input → output tokens",
}
_NUMERIC = frozenset({"Attempts", "TTFB", "Total", "Tokens", "Cost"})
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class LogFilter:
    """What the table shows; empty fields match everything.

    ``text`` matches (case-insensitively, as a substring) the requested and upstream model, route,
    provider, client and error. ``since``/``until`` are Unix times of the request's start.
    """

    text: str = ""
    status: str = ""
    route: str = ""
    provider: str = ""
    since: float | None = None
    until: float | None = None

    @property
    def is_empty(self) -> bool:
        return self == LogFilter()

    def matches(self, record: RequestRecord, haystack: str) -> bool:
        return (
            (not self.text or self.text.lower() in haystack)
            and (not self.status or record.status == self.status)
            and (not self.route or record.route == self.route)
            and (not self.provider or record.provider == self.provider)
            and (self.since is None or record.started_at >= self.since)
            and (self.until is None or record.started_at < self.until)
        )


def haystack(r: RequestRecord) -> str:
    """The lowercase text a filter's ``text`` is looked for in."""
    return f"{r.requested_model}\x00{r.upstream_model}\x00{r.route}\x00{r.provider}\x00{r.client}\x00{r.error}".lower()


def light(record: RequestRecord) -> RequestRecord:
    """The record without captured bodies (what the table keeps)."""
    if record.request_body is None and record.response_body is None:
        return record
    return record.replace(request_body=None, response_body=None)


def cell(r: RequestRecord, column: int) -> str:
    """The text of one cell (also what the CSV of the page's "copy" shows)."""
    name = COLUMNS[column]
    if name == "Time":
        moment = datetime.fromtimestamp(r.started_at)
        if moment.date() == date.today():
            return moment.strftime("%H:%M:%S")
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if name == "Client":
        return r.client or "—"
    if name == "API":
        return r.surface
    if name == "Model":
        return r.requested_model or "—"
    if name == "Route":
        return r.route or "—"
    if name == "Served by":
        return f"{r.provider}/{r.upstream_model}" if r.provider else "—"
    if name == "Status":
        if r.status == IN_PROGRESS:
            return "running…"
        return r.status if r.status == OK or not r.http_status else f"{r.status} ({r.http_status})"
    if name == "Attempts":
        return str(r.attempts) if r.attempts else "—"
    if name == "TTFB":
        return f"{r.ttfb_ms:,.0f} ms" if r.ttfb_ms is not None else "—"
    if name == "Total":
        return f"{r.latency_ms:,.0f} ms" if r.latency_ms is not None else "—"
    if name == "Tokens":
        if r.tokens_in is None and r.tokens_out is None:
            return "—"
        return f"{r.tokens_in or 0:,} → {r.tokens_out or 0:,}"
    if name == "Cost":
        if r.cost is None:
            return "—"
        return "$0" if r.cost == 0 else f"${r.cost:.4f}" if r.cost >= 0.0001 else f"${r.cost:.6f}"
    if name == "Cache":
        return r.cache or "—"
    raise IndexError(column)


class RequestLogModel(QAbstractTableModel):
    """The rows of the log page.

    Signals:
        flushed(int): queued records went into the table; the argument is how many rows were
            appended to the visible ones (the page follows the newest when it is at the bottom).
        values_seen(): a route or provider not seen before arrived (for the filter menus).
    """

    flushed = Signal(int)
    values_seen = Signal()

    def __init__(self, parent: Any = None, max_rows: int = MAX_ROWS, flush_ms: int = FLUSH_MS) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        self._records: list[RequestRecord] = []
        self._hay: list[str] = []
        self._base = 0
        """The absolute position of ``_records[0]``: positions never change while a row lives."""
        self._pos: dict[str, int] = {}
        """Request id -> absolute position."""
        self._filter = LogFilter()
        self._view: list[int] | None = None
        """Absolute positions of the visible rows, ascending; ``None`` when nothing is filtered."""
        self._pending: list[RequestRecord] = []
        self.routes: set[str] = set()
        self.providers: set[str] = set()
        self.dropped = 0
        """Rows that left the table because it was full."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)
        self._error_colour = _error_colour()

    # -- feeding ----------------------------------------------------------------------------------

    def add(self, record: RequestRecord) -> None:
        """Queue a record (new, or a newer state of a row); it shows at the next flush."""
        self._pending.append(record)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Insert (or update) everything queued, with one insertion for the new rows."""
        self._timer.stop()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        new: list[RequestRecord] = []
        new_at: dict[str, int] = {}
        updated: list[int] = []
        for record in pending:
            record = light(record)
            at = self._pos.get(record.id)
            if at is not None:
                self._records[at - self._base] = record
                self._hay[at - self._base] = haystack(record)
                updated.append(at)
            elif (i := new_at.get(record.id)) is not None:
                new[i] = record
            else:
                new_at[record.id] = len(new)
                new.append(record)
        if updated:
            self._refresh(updated)
        appended = self._append(new) if new else 0
        self._trim()
        self._note_values(new)
        self.flushed.emit(appended)

    def prepend(self, records: list[RequestRecord]) -> int:
        """Put older rows (oldest first) above the others, skipping ids already here and never
        beyond :attr:`max_rows`; returns how many were added."""
        room = self.max_rows - len(self._records)
        fresh = [light(r) for r in records if r.id not in self._pos]
        fresh = fresh[len(fresh) - room :] if room > 0 else []
        if not fresh:
            return 0
        hay = [haystack(r) for r in fresh]
        start = self._base - len(fresh)
        visible = (
            len(fresh)
            if self._view is None
            else sum(1 for r, h in zip(fresh, hay, strict=True) if self._filter.matches(r, h))
        )
        if visible:
            self.beginInsertRows(QModelIndex(), 0, visible - 1)
        self._records[:0] = fresh
        self._hay[:0] = hay
        self._base = start
        for offset, r in enumerate(fresh):
            self._pos[r.id] = start + offset
        if self._view is not None:
            f = self._filter
            self._view[:0] = [start + i for i, (r, h) in enumerate(zip(fresh, hay, strict=True)) if f.matches(r, h)]
        if visible:
            self.endInsertRows()
        self._note_values(fresh)
        return len(fresh)

    def _append(self, new: list[RequestRecord]) -> int:
        hay = [haystack(r) for r in new]
        start = self._base + len(self._records)
        if self._view is None:
            first, count = len(self._records), len(new)
            matching: list[int] = []
        else:
            f = self._filter
            matching = [start + i for i, (r, h) in enumerate(zip(new, hay, strict=True)) if f.matches(r, h)]
            first, count = len(self._view), len(matching)
        if count:
            self.beginInsertRows(QModelIndex(), first, first + count - 1)
        self._records.extend(new)
        self._hay.extend(hay)
        for offset, r in enumerate(new):
            self._pos[r.id] = start + offset
        if self._view is not None:
            self._view.extend(matching)
        if count:
            self.endInsertRows()
        return count

    def _refresh(self, positions: list[int]) -> None:
        """Rows whose record changed: repaint them, and under a filter let them in or out."""
        last = len(COLUMNS) - 1
        for at in sorted(set(positions)):
            if self._view is None:
                row = at - self._base
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
                continue
            matches = self._filter.matches(self._records[at - self._base], self._hay[at - self._base])
            row = bisect.bisect_left(self._view, at)
            shown = row < len(self._view) and self._view[row] == at
            if shown and matches:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
            elif shown:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._view[row]
                self.endRemoveRows()
            elif matches:
                self.beginInsertRows(QModelIndex(), row, row)
                self._view.insert(row, at)
                self.endInsertRows()

    def _trim(self) -> None:
        extra = len(self._records) - self.max_rows
        if extra <= 0:
            return
        cut = self._base + extra  # absolute positions below this go
        rows = extra if self._view is None else bisect.bisect_left(self._view, cut)
        if rows:
            self.beginRemoveRows(QModelIndex(), 0, rows - 1)
        for r in self._records[:extra]:
            del self._pos[r.id]
        del self._records[:extra]
        del self._hay[:extra]
        self._base = cut
        if self._view is not None:
            del self._view[:rows]
        self.dropped += extra
        if rows:
            self.endRemoveRows()

    def _note_values(self, records: Iterable[RequestRecord]) -> None:
        before = len(self.routes) + len(self.providers)
        for r in records:
            if r.route:
                self.routes.add(r.route)
            if r.provider:
                self.providers.add(r.provider)
        if len(self.routes) + len(self.providers) != before:
            self.values_seen.emit()

    # -- filtering ---------------------------------------------------------------------------------

    @property
    def filter(self) -> LogFilter:
        return self._filter

    def set_filter(self, log_filter: LogFilter) -> None:
        """Show only the rows ``log_filter`` matches (one model reset)."""
        if log_filter == self._filter:
            return
        self.beginResetModel()
        self._filter = log_filter
        if log_filter.is_empty:
            self._view = None
        else:
            f, base = log_filter, self._base
            self._view = [
                base + i for i, (r, h) in enumerate(zip(self._records, self._hay, strict=True)) if f.matches(r, h)
            ]
        self.endResetModel()

    # -- reading -----------------------------------------------------------------------------------

    def record(self, row: int) -> RequestRecord:
        """The record shown in ``row``."""
        at = row if self._view is None else self._view[row] - self._base
        return self._records[at]

    def visible_records(self) -> list[RequestRecord]:
        """The rows shown, top to bottom (for export)."""
        if self._view is None:
            return list(self._records)
        base, records = self._base, self._records
        return [records[at - base] for at in self._view]

    def row_of(self, request_id: str) -> int | None:
        """The row showing ``request_id``, if it is shown."""
        at = self._pos.get(request_id)
        if at is None:
            return None
        if self._view is None:
            return at - self._base
        row = bisect.bisect_left(self._view, at)
        return row if row < len(self._view) and self._view[row] == at else None

    @property
    def total(self) -> int:
        """Rows held, shown or not."""
        return len(self._records)

    @property
    def oldest(self) -> RequestRecord | None:
        return self._records[0] if self._records else None

    # -- QAbstractTableModel -----------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        if parent.isValid():
            return 0
        return len(self._records) if self._view is None else len(self._view)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return _RIGHT if COLUMNS[section] in _NUMERIC else _LEFT
            if role == Qt.ItemDataRole.ToolTipRole:
                return HEADER_TIPS.get(COLUMNS[section])
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self.record(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return cell(record, index.column())
        if role == RECORD_ROLE:
            return record
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if COLUMNS[index.column()] in _NUMERIC else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if record.status not in (OK, IN_PROGRESS):
                return self._error_colour
            if record.status == IN_PROGRESS:
                return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.ToolTipRole and record.error:
            return f"<qt>{html.escape(record.error)}</qt>"  # escaped: an error's text is shown, never rendered
        return None


def _error_colour() -> QColor:
    """A red that reads on the palette's base colour, light or dark."""
    base = QGuiApplication.palette().color(QPalette.ColorRole.Base)
    return QColor("#ff8a80") if base.lightness() < 128 else QColor("#c62828")
