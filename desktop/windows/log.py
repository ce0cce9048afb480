"""The Request log page: a live, filterable table of requests and a detail pane.

Rows come from the bridge: ``request_started`` (a running request), ``request_logged`` (its final
row, with cost). History is read on a worker thread (its own SQLite connection) the first time the
page shows, :data:`HISTORY_PAGE` rows at a time ("Load older" reads the page above). The table
keeps the newest :data:`~desktop.models.request_log_model.MAX_ROWS`; older rows stay in the
database (``switchboard logs``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.models import log_export
from desktop.models.request_log_model import COLUMNS, LogFilter, RequestLogModel
from desktop.services import GatewayBridge
from desktop.widgets.guarded import ComboBox
from desktop.windows.log_detail import RequestDetail
from desktop.windows.status import plain_label
from proxy.api import IN_PROGRESS, STATUSES, RequestRecord

HISTORY_PAGE = 10_000
"""Rows read from the database at a time (at first show, and per "Load older")."""
LIVE_TEXT_MAX = 1_000_000
"""Characters of streamed text kept per running request (its full answer is in the database)."""
TIME_RANGES = (
    ("Any time", None),
    ("Last 15 minutes", 15 * 60),
    ("Last hour", 3600),
    ("Last 24 hours", 86400),
    ("Last 7 days", 7 * 86400),
)
ANY_STATUS, ANY_ROUTE, ANY_PROVIDER = "Any status", "Any route", "Any provider"
_SAMPLES = {
    "Time": "00:00:00",
    "Client": "default",
    "API": "messages",
    "Model": "gpt-4o-mini",
    "Route": "coding",
    "Served by": "openai/gpt-4o-mini",
    "Status": "timeout (504)",
    "TTFB": "1,234 ms",
    "Total": "12,345 ms",
    "Tokens": "1,234 → 567",
    "Cost": "$0.0123",
}
"""Typical cell texts that size the columns (measuring 100,000 rows would take seconds)."""


def _combo(name: str, items: list[str]) -> ComboBox:
    combo = ComboBox()
    combo.setAccessibleName(name)
    combo.setToolTip(name)
    combo.addItems(items)
    combo.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToContents)
    return combo


class FittingTable(QTableView):
    """Columns start at their natural widths (a sample value or the title, whichever is wider) and
    shrink together when the view is narrower, so the table never scrolls sideways, until the
    user drags a column: then the widths are theirs."""

    def __init__(self) -> None:
        super().__init__()
        self.natural: list[int] = []
        self.user_sized = False
        self._fitting = False
        self.horizontalHeader().sectionResized.connect(self._resized)

    def set_natural(self, widths: list[int]) -> None:
        self.natural = widths
        # a stretched last section never gets narrower than the default size: make that its own
        self.horizontalHeader().setDefaultSectionSize(widths[-1])
        self.fit()

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return super().viewportEvent(event)

    def fit(self) -> None:
        if self.user_sized or not self.natural:
            return
        available = self.viewport().width() - self.natural[-1]
        total = sum(self.natural[:-1])
        scale = min(1.0, available / total) if total and available > 0 else 1.0
        self._fitting = True
        try:
            for column, width in enumerate(self.natural[:-1]):
                self.setColumnWidth(column, max(24, int(width * scale)))
            self.setColumnWidth(len(self.natural) - 1, self.natural[-1])  # at least; it stretches to the edge
        finally:
            self._fitting = False

    def _resized(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting and column < len(self.natural) - 1 and self.isVisible():
            self.user_sized = True  # a drag by the user (the last column only follows the view)


class LogPage(QWidget):
    """Signals:
    exported(str, int, str): an export ended: the file, the rows written, and an error for
        people (``""`` when it worked).
    """

    exported = Signal(str, int, str)

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.model = RequestLogModel(self)
        self._live: dict[str, list[str]] = {}
        """Streamed text of running requests, by id (dropped when the request's row is final)."""
        self._history_asked = False
        self._has_older = True

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by model, route, provider, client or error")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Filter text")
        self.status = _combo("Status", [ANY_STATUS, *STATUSES])
        self.route = _combo("Route", [ANY_ROUTE])
        self.provider = _combo("Provider", [ANY_PROVIDER])
        self.period = _combo("Time range", [name for name, _ in TIME_RANGES])
        self.follow = QCheckBox("Follow")
        self.follow.setToolTip("Keep the newest request in view")
        self.follow.setChecked(True)
        self.older = QPushButton("Load older")
        self.older.setToolTip(f"Read the {HISTORY_PAGE:,} requests before the oldest one shown")
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Write the rows shown (filters applied) to a file")
        menu = QMenu(self.export_button)
        menu.addAction("Shown rows as JSON Lines…", lambda: self._ask_export("jsonl"))
        menu.addAction("Shown rows as CSV…", lambda: self._ask_export("csv"))
        self.export_button.setMenu(menu)
        self.counts = plain_label()
        self.counts.setWordWrap(False)
        self.note = plain_label()

        self.table = FittingTable()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Requests")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = self.table.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform heights: no per-row sizing
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # never measures 100k rows
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        metrics = self.table.fontMetrics()
        self.table.set_natural(
            [
                max(metrics.horizontalAdvance(_SAMPLES.get(name, "")), metrics.horizontalAdvance(name)) + 14
                for name in COLUMNS
            ]
        )
        self.detail = RequestDetail()

        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        for combo in (self.status, self.route, self.provider, self.period):
            filters.addWidget(combo)
        filters.addWidget(self.follow)
        bar = QHBoxLayout()
        bar.addWidget(self.counts)
        bar.addWidget(self.note, 1)
        bar.addWidget(self.older)
        bar.addWidget(self.export_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

        self._filter_timer = QTimer(self, singleShot=True, interval=200)  # typing: filter once it pauses
        self._filter_timer.timeout.connect(self.apply_filter)
        self._fetch_timer = QTimer(self, singleShot=True, interval=80)  # arrow keys: read the row it stops on
        self._fetch_timer.timeout.connect(self._fetch_selected)
        self.search.textChanged.connect(lambda _text: self._filter_timer.start())
        for combo in (self.status, self.route, self.provider, self.period):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.follow.toggled.connect(lambda on: self.table.scrollToBottom() if on else None)
        self.table.verticalScrollBar().actionTriggered.connect(lambda _a: QTimer.singleShot(0, self._user_scrolled))
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.older.clicked.connect(self.load_older)
        self.model.flushed.connect(self._on_flushed)
        self.model.values_seen.connect(self._refresh_choices)
        self.model.modelReset.connect(self._on_reset)
        self.exported.connect(self._on_exported)
        bridge.request_logged.connect(self._on_record)
        bridge.log.request_started.connect(self.model.add)
        bridge.log.request_progress.connect(self._on_progress)
        bridge.log.page_loaded.connect(self._on_page)
        bridge.log.record_fetched.connect(self._on_fetched)
        bridge.log.watch_requests()
        self._update_counts()

    # -- history -----------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._history_asked:
            self.load_history()

    def load_history(self) -> None:
        """Read the newest rows on a worker thread (once; the page does it when first shown)."""
        if not self._history_asked:
            self._history_asked = True
            self.older.setEnabled(False)
            self.bridge.log.load_page(HISTORY_PAGE)
            self.model.routes.update(route.name for route in self.bridge.config.routes())  # offer idle routes too
            self._refresh_choices()

    def load_older(self) -> None:
        oldest = self.model.oldest
        if oldest is None:
            return
        self.older.setEnabled(False)
        self.bridge.log.load_page(HISTORY_PAGE, (oldest.started_at, oldest.id))

    def _on_page(self, records: list[RequestRecord], before: object) -> None:
        self.model.flush()  # live rows first, so a row read from disk and also arriving live shows once
        added = self.model.prepend(records)
        self._has_older = len(records) >= HISTORY_PAGE and self.model.total < self.model.max_rows
        self.older.setEnabled(self._has_older)
        if not self._has_older and self.model.total >= self.model.max_rows:
            self.note.setText(f"Showing the newest {self.model.max_rows:,}; older ones: switchboard logs")
        if added and self.follow.isChecked() and before is None:
            self.table.scrollToBottom()
        self._update_counts()

    # -- live rows ---------------------------------------------------------------------------------

    def _on_record(self, record: RequestRecord) -> None:
        self._live.pop(record.id, None)
        self.model.add(record)

    def _on_progress(self, request_id: str, text: str) -> None:
        parts = self._live.setdefault(request_id, [])
        if sum(map(len, parts)) < LIVE_TEXT_MAX:
            parts.append(text)
        shown = self.detail.record
        if shown is not None and shown.id == request_id and shown.status == IN_PROGRESS:
            self.detail.append_live(text)

    def _on_flushed(self, appended: int) -> None:
        if appended and self.follow.isChecked():
            self.table.scrollToBottom()
        shown = self.detail.record
        if shown is not None and shown.status == IN_PROGRESS:  # the running request it shows may have ended
            row = self.model.row_of(shown.id)
            if row is not None and self.model.record(row).status != IN_PROGRESS:
                self._show(self.model.record(row))
        self._update_counts()

    def _user_scrolled(self) -> None:
        bar = self.table.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum()
        if at_bottom != self.follow.isChecked():
            self.follow.setChecked(at_bottom)

    # -- filters -----------------------------------------------------------------------------------

    def current_filter(self) -> LogFilter:
        seconds = TIME_RANGES[self.period.currentIndex()][1]
        status = self.status.currentText()
        route = self.route.currentText()
        provider = self.provider.currentText()
        return LogFilter(
            text=self.search.text().strip(),
            status="" if status == ANY_STATUS else status,
            route="" if route == ANY_ROUTE else route,
            provider="" if provider == ANY_PROVIDER else provider,
            since=None if seconds is None else time.time() - seconds,
        )

    def apply_filter(self) -> None:
        """Filter the table as the controls say (the time range counts back from now)."""
        self._filter_timer.stop()
        selected = self.detail.record
        self.model.flush()
        self.model.set_filter(self.current_filter())
        row = self.model.row_of(selected.id) if selected is not None else None
        if row is not None:
            self.table.selectRow(row)
        if self.follow.isChecked() or row is None:
            self.table.scrollToBottom()
        else:
            self.table.scrollTo(self.model.index(row, 0))

    def _refresh_choices(self) -> None:
        for combo, values in ((self.route, self.model.routes), (self.provider, self.model.providers)):
            known = {combo.itemText(i) for i in range(1, combo.count())}
            for value in sorted(values - known):
                combo.addItem(value)

    def _on_reset(self) -> None:
        self._update_counts()

    def _update_counts(self) -> None:
        shown, held = self.model.rowCount(), self.model.total
        self.counts.setText(f"{shown:,} requests" if shown == held else f"{shown:,} of {held:,} requests")

    # -- detail ------------------------------------------------------------------------------------

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        self._show(self.model.record(rows[0].row()) if rows else None)

    def _show(self, record: RequestRecord | None) -> None:
        self.detail.show_record(record, "".join(self._live.get(record.id, ())) if record else "")
        if record is not None:
            self._fetch_timer.start()

    def _fetch_selected(self) -> None:
        if self.detail.record is not None:
            self.bridge.log.fetch_record(self.detail.record.id)

    def _on_fetched(self, request_id: str, record: RequestRecord | None) -> None:
        shown = self.detail.record
        if shown is not None and shown.id == request_id:
            self.detail.show_full(record)

    # -- export ------------------------------------------------------------------------------------

    def _ask_export(self, fmt: str) -> None:
        kind = "JSON Lines (*.jsonl)" if fmt == "jsonl" else "CSV (*.csv)"
        name, _ = QFileDialog.getSaveFileName(self, "Export the shown requests", f"switchboard-log.{fmt}", kind)
        if name:
            self.export_to(Path(name), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Write the shown rows to ``path`` on a worker thread; ``exported`` follows."""
        self.model.flush()
        records = self.model.visible_records()  # a snapshot: the table may change meanwhile

        def work() -> None:
            try:
                count = log_export.export(records, path, fmt)
            except (OSError, ValueError) as exc:
                self.exported.emit(str(path), 0, f"Could not write {path}: {exc}")
                return
            self.exported.emit(str(path), count, "")

        self.export_button.setEnabled(False)
        threading.Thread(target=work, name="switchboard-log-export", daemon=True).start()

    def _on_exported(self, path: str, count: int, error: str) -> None:
        self.export_button.setEnabled(True)
        self.note.setText(error or f"Exported {count:,} requests to {path}")
