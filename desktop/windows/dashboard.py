"""Dashboard: requests, errors, latency, tokens and cost over time; per route and provider; spend
against budgets; what fallbacks and the cache saved.

The data is read on a worker thread by the bridge (:meth:`desktop.services.dashboard.DashboardService.load`, its own
read-only SQLite connections) and arrives whole as a :class:`DashboardData`. New log rows refresh
the page at most every :data:`REFRESH_EVERY` seconds while it is visible, and not at all while it
is hidden (it catches up when shown).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.services import GatewayBridge
from desktop.widgets.cards import Card, card, scaled_label
from desktop.widgets.chart import ChartWidget, Series, series_color
from desktop.widgets.formats import count, duration, money, money_axis, percent
from desktop.widgets.guarded import TabWidget
from proxy.api import Bucket
from proxy.api.dashboard import RANGES, BudgetLine, DashboardData

REFRESH_EVERY = 2.0
"""Seconds between refreshes caused by new requests, at most."""
SLIDE_EVERY_MS = 60_000
"""While visible, refresh this often even without traffic, so the time window moves on."""
TABLE_COLUMNS = ("Name", "Requests", "Errors", "Error rate", "p50", "p95", "Tokens", "Cost", "Saved", "Prompt cache")
"""``Saved``: by the response cache; ``Prompt cache``: what the providers' prompt caches saved."""
PRICE_UNKNOWN = "price unknown"
"""The cost where no request had a known price but some used tokens (not "$0.00": that reads as free)."""


class StatCard(Card):
    """A headline number with a caption above and a detail line below."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.caption = scaled_label(caption.upper(), 0.8, bold=True, faint=True)
        self.value = scaled_label("–", 1.7, bold=True)
        self.detail = scaled_label("", 0.9, faint=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)


class BudgetRow(QWidget):
    """One budget: who and which period, a bar, and the amounts."""

    def __init__(self, line: BudgetLine) -> None:
        super().__init__()
        self.line = line
        period = "today" if line.period == "day" else "this month"
        self.label = scaled_label(f"{line.label} · {period}")
        self.amount = scaled_label(f"{money(line.spent)} of {money(line.limit)}", faint=True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(min(1000, round(line.fraction * 1000)))
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setAccessibleName(f"{line.label} {period}: {percent(line.fraction)} of the budget")
        hue = "red" if line.fraction >= 1 else "orange" if line.fraction >= 0.8 else "green"
        palette = self.bar.palette()
        palette.setColor(QPalette.ColorRole.Highlight, series_color(palette, hue))
        self.bar.setPalette(palette)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.label, 1)
        top.addWidget(self.amount)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.bar)


def _table() -> QTableWidget:
    table = QTableWidget(0, len(TABLE_COLUMNS))
    table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setFrameShape(QFrame.Shape.NoFrame)
    header = table.horizontalHeader()
    # every column shares the width (no sideways scroll at 900×600); a clipped heading has its tooltip
    header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    header.setMinimumSectionSize(36)
    header.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    for column, title in enumerate(TABLE_COLUMNS):
        heading = table.horizontalHeaderItem(column)
        if heading is not None:
            heading.setToolTip(title)
    table.setMinimumHeight(170)
    return table


def _fill(table: QTableWidget, groups: tuple[Bucket, ...], empty_name: str, prompt_saved: Mapping[str, float]) -> None:
    table.setRowCount(len(groups))
    for row, b in enumerate(groups):
        cells = (
            b.group or empty_name,
            count(b.requests),
            count(b.errors),
            percent(b.error_rate),
            duration(b.percentile(50)),
            duration(b.percentile(95)),
            count(b.tokens_in + b.tokens_out),
            PRICE_UNKNOWN if b.price_unknown else money(b.cost),
            money(b.cost_saved) if b.cost_saved else "–",
            money(prompt_saved[b.group]) if prompt_saved.get(b.group) else "–",
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(row, column, item)


class DashboardPage(QWidget):
    """Signals:
    loaded(): new data is on the page (after a refresh).
    """

    loaded = Signal()

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.range_key = "hour"
        self.data: DashboardData | None = None
        self.is_loading = False
        self.is_stale = True
        self._wanted_again = False
        self._last_load = 0.0
        self.refreshes = 0
        """How many loads this page asked for (tests check the debounce with it)."""

        title = scaled_label("Dashboard", 1.5, bold=True)
        self.updated = scaled_label("", 0.9, faint=True)
        self.range_buttons = QButtonGroup(self)
        ranges = QHBoxLayout()
        ranges.setSpacing(0)
        for r in RANGES.values():
            button = QPushButton(r.label)
            button.setCheckable(True)
            button.setChecked(r.key == self.range_key)
            button.setProperty("range", r.key)
            button.setAccessibleName(f"Show {r.label.lower()}")
            self.range_buttons.addButton(button)
            ranges.addWidget(button)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(12)
        header.addWidget(self.updated, 0, Qt.AlignmentFlag.AlignBottom)
        header.addStretch(1)
        header.addLayout(ranges)

        self.cards = {
            "requests": StatCard("Requests"),
            "errors": StatCard("Error rate"),
            "latency": StatCard("Latency p50 / p95"),
            "tokens": StatCard("Tokens"),
            "cost": StatCard("Cost"),
        }
        cards = QHBoxLayout()
        cards.setSpacing(10)
        for c in self.cards.values():
            cards.addWidget(c)

        self.charts = {
            "requests": ChartWidget("Requests", count, whole=True),
            "latency": ChartWidget("Latency", duration),
            "tokens": ChartWidget("Tokens", count, whole=True),
            "cost": ChartWidget("Cost", money_axis),
        }
        charts = QGridLayout()
        charts.setSpacing(10)
        for i, chart in enumerate(self.charts.values()):
            charts.addWidget(chart, i // 2, i % 2)

        self.by_route = _table()
        self.by_provider = _table()
        self.by_provider.setHorizontalHeaderItem(0, QTableWidgetItem("Provider"))
        self.by_route.setHorizontalHeaderItem(0, QTableWidgetItem("Route"))
        self.breakdown = TabWidget()
        self.breakdown.addTab(self.by_route, "By route")
        self.breakdown.addTab(self.by_provider, "By provider")
        self.breakdown.setDocumentMode(True)
        breakdown_card, breakdown_layout = card()
        breakdown_layout.addWidget(scaled_label("Breakdown", bold=True))
        breakdown_layout.addWidget(self.breakdown)

        spend_card, spend = card()
        spend.addWidget(scaled_label("Spend and budgets", bold=True))
        totals = QHBoxLayout()
        self.spent_today = scaled_label("–", 1.4, bold=True)
        self.spent_month = scaled_label("–", 1.4, bold=True)
        for caption, value in (("Today (UTC)", self.spent_today), ("This month", self.spent_month)):
            column = QVBoxLayout()
            column.setSpacing(0)
            column.addWidget(scaled_label(caption, 0.9, faint=True))
            column.addWidget(value)
            totals.addLayout(column)
            totals.addSpacing(28)
        totals.addStretch(1)
        spend.addLayout(totals)
        self.budget_box = QVBoxLayout()
        self.budget_box.setSpacing(2)
        spend.addLayout(self.budget_box)
        self.no_budget = scaled_label(
            "No budgets set. Give a route or an access key a daily or monthly limit to follow spend here.",
            0.9,
            faint=True,
        )
        self.no_budget.setWordWrap(True)
        spend.addWidget(self.no_budget)
        self.budget_rows: list[BudgetRow] = []

        saved_card, saved = card()
        saved.addWidget(scaled_label("Saved by Switchboard", bold=True))
        self.rescued = scaled_label("–", 1.4, bold=True)
        self.rescued_detail = scaled_label("requests rescued by a fallback", 0.9, faint=True)
        self.cache_saved = scaled_label("–", 1.4, bold=True)
        self.cache_detail = scaled_label("cache hits", 0.9, faint=True)
        grid = QGridLayout()
        grid.setVerticalSpacing(0)
        grid.addWidget(self.rescued, 0, 0)
        grid.addWidget(self.rescued_detail, 1, 0)
        grid.addWidget(self.cache_saved, 0, 1)
        grid.addWidget(self.cache_detail, 1, 1)
        saved.addLayout(grid)

        side = QVBoxLayout()
        side.setSpacing(10)
        side.addWidget(spend_card)
        side.addWidget(saved_card)
        side.addStretch(1)
        bottom = QHBoxLayout()
        bottom.setSpacing(10)
        bottom.addWidget(breakdown_card, 3)
        bottom.addLayout(side, 2)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addLayout(cards)
        layout.addLayout(charts)
        layout.addLayout(bottom)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.timeout.connect(self.refresh)
        self._slide = QTimer(self)
        self._slide.setInterval(SLIDE_EVERY_MS)
        self._slide.timeout.connect(self.refresh)
        self.range_buttons.buttonClicked.connect(lambda button: self.set_range(button.property("range")))
        bridge.dashboard.loaded.connect(self.on_loaded)
        bridge.request_logged.connect(self.on_request_logged)
        bridge.started.connect(lambda _url: self.on_request_logged(None))

    # -- loading -------------------------------------------------------------------------------

    def set_range(self, key: str) -> None:
        if key == self.range_key:
            return
        self.range_key = key
        for button in self.range_buttons.buttons():
            button.setChecked(button.property("range") == key)
        self.refresh()

    def refresh(self) -> None:
        """Ask the bridge for fresh data (one load at a time; a wish made meanwhile is kept)."""
        self._debounce.stop()
        if self.bridge.base_url is None:
            return
        if self.is_loading:
            self._wanted_again = True
            return
        self.is_loading = True
        self.is_stale = False
        self._last_load = time.monotonic()
        self.refreshes += 1
        self.bridge.dashboard.load(self.range_key)

    def on_request_logged(self, _record: object) -> None:
        if not self.isVisible():
            self.is_stale = True  # caught up in showEvent
            return
        if self._debounce.isActive() or self.is_loading:
            self._wanted_again = self._wanted_again or self.is_loading
            return
        wait = max(0.0, REFRESH_EVERY - (time.monotonic() - self._last_load))
        self._debounce.start(round(wait * 1000))

    def on_loaded(self, data: DashboardData) -> None:
        self.is_loading = False
        if data.range.key == self.range_key:
            self.show_data(data)
        else:
            self._wanted_again = True  # the range changed while this was loading
        if self._wanted_again:
            self._wanted_again = False
            if data.range.key != self.range_key:
                self.refresh()
            else:
                self.on_request_logged(None)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._slide.start()
        if self.is_stale:
            self.refresh()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.ApplicationPaletteChange and self.data is not None:
            self.show_data(self.data)  # budget bars take their colours from the palette

    def hideEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._slide.stop()
        self._debounce.stop()

    # -- showing -------------------------------------------------------------------------------

    def show_data(self, data: DashboardData) -> None:
        self.data = data
        total = data.total
        p50, p95 = total.percentile(50), total.percentile(95)
        self.cards["requests"].set(count(total.requests), f"{count(total.rejected)} refused by limits or routing")
        self.cards["errors"].set(percent(total.error_rate), f"{count(total.errors)} failed")
        self.cards["latency"].set(f"{duration(p50)} / {duration(p95)}", "successful requests")
        self.cards["tokens"].set(
            count(total.tokens_in + total.tokens_out), f"{count(total.tokens_in)} in · {count(total.tokens_out)} out"
        )
        if total.price_unknown:  # $0.00 would read as "free"
            self.cards["cost"].set(PRICE_UNKNOWN, "no price is known for the models used")
        else:
            self.cards["cost"].set(
                money(total.cost), f"{money(total.cost / total.requests)} per request" if total.requests else ""
            )

        s = data.series
        starts, width = data.starts, data.range.bucket_seconds
        self.charts["requests"].set_data(
            starts,
            width,
            [
                Series("Answered", tuple(float(b.requests - b.errors - b.rejected) for b in s), "blue", "bar"),
                Series("Refused", tuple(float(b.rejected) for b in s), "orange", "bar"),
                Series("Failed", tuple(float(b.errors) for b in s), "red", "bar"),
            ],
        )
        self.charts["latency"].set_data(
            starts,
            width,
            [
                Series("p50", tuple(b.percentile(50) for b in s), "blue", connect_gaps=True),
                Series("p95", tuple(b.percentile(95) for b in s), "orange", connect_gaps=True),
            ],
        )
        self.charts["tokens"].set_data(
            starts,
            width,
            [
                Series("In", tuple(float(b.tokens_in) for b in s), "teal", "bar"),
                Series("Out", tuple(float(b.tokens_out) for b in s), "purple", "bar"),
            ],
        )
        self.charts["cost"].set_data(
            starts,
            width,
            [
                Series("Cost", tuple(b.cost for b in s), "green"),
            ],
        )

        _fill(self.by_route, data.by_route, "(no route)", data.prompt_cache_saved)
        _fill(self.by_provider, data.by_provider, "(none: refused before routing)", data.prompt_cache_saved_by_provider)

        self.spent_today.setText(money(data.spent_today))
        self.spent_month.setText(money(data.spent_month))
        for row in self.budget_rows:
            self.budget_box.removeWidget(row)
            row.deleteLater()
        self.budget_rows = [BudgetRow(line) for line in data.budgets]
        for row in self.budget_rows:
            self.budget_box.addWidget(row)
        self.no_budget.setVisible(not data.budgets)

        self.rescued.setText(count(total.fallbacks))
        self.cache_saved.setText(money(total.cost_saved))
        self.cache_detail.setText(f"saved by {count(total.cache_hits)} cache hit{'s' * (total.cache_hits != 1)}")
        self.updated.setText(
            f"{data.range.label} · updated {time.strftime('%H:%M:%S', time.localtime(data.loaded_at))}"
        )
        self.loaded.emit()
