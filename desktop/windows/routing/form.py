"""The route's own settings, each widget bound to a field of ``RouteConfig`` (see
:mod:`desktop.widgets.schema_form`): the range, the unset value and the tooltip come from the
schema; this module adds only the words and units people see."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QWidget

from desktop.widgets.schema_form import SchemaForm
from desktop.windows.status import plain_label
from proxy.api import RouteConfig

STRATEGIES = {
    "fallback": "Fallback: in order, the next one when one fails",
    "weighted": "Weighted: share requests by weight",
    "round-robin": "Round robin: take turns",
    "least-busy": "Least busy: fewest requests in flight",
    "lowest-latency": "Lowest latency: fastest recently",
    "lowest-cost": "Lowest cost: cheapest per token",
}
TRIGGERS = {
    "connection_errors": "Connection errors",
    "timeouts": "Timeouts",
    "rate_limits": "Rate limits (429)",
    "server_errors": "Server errors (5xx)",
    "context_length": "Prompt too long for the model",
    "auth_errors": "Key rejected (401/403)",
    "missing_key": "Key missing",
}
"""Short names for the check boxes; each field's description is its tooltip."""
HINTS = {
    "cooldown.seconds": "A target that keeps failing is skipped for this long, then tried again",
    "retries.budget": "Time for all attempts of one request together, before its answer starts; "
    "each provider's own connect and first-token timeouts still apply.",
    "hedge_after_ms": "If the first target has not started answering by then, also ask the next and keep the "
    "first answer",
}
"""Tooltips in the page's own words, where they say more than the field's description."""


class RouteForm(SchemaForm):
    """Name, note, on/off and strategy; fallback triggers, retries, cooldown and hedging; cache
    and limits. :meth:`load` and :meth:`store` read and write a route's ``model_dump()``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(RouteConfig, parent, HINTS)
        self.name = self.text("name", "Name")
        self.name.setAccessibleName("Route name")
        self.description = self.text("description", "Note", placeholder="optional note, shown in the tray")
        self.enabled = self.check("enabled", "On (tools can use this name)")
        self.strategy = self.choice("strategy", STRATEGIES, "Strategy")
        self.triggers = {key: self.check(f"triggers.{key}", label) for key, label in TRIGGERS.items()}
        self.retries = self.number("retries.max_retries", "Retries on the same target")
        self.cooldown_failures = self.number("cooldown.failures", "Cool down after", suffix=" failures in a row")
        self.cooldown_seconds = self.number("cooldown.seconds", "…then skip it for", decimals=0, suffix=" s")
        self.budget = self.number("retries.budget", "Give up after", decimals=0, suffix=" s for all attempts")
        self.hedge = self.number("hedge_after_ms", "Hedge after", step=250, suffix=" ms", unset="off")
        self.cache_on = self.check("cache.enabled", "Answer identical requests from the cache")
        self.cache_ttl = self.number("cache.ttl", "Keep answers for", scale=60, decimals=0, suffix=" min")
        # the schema leaves these unbounded: the caps are the boxes' own
        self.rpm = self.number("limits.requests_per_minute", "Requests per minute", cap=1_000_000, unset="no limit")
        self.tpm = self.number(
            "limits.tokens_per_minute", "Tokens per minute", cap=100_000_000, step=1000, unset="no limit"
        )
        self.daily = self.number("limits.daily_usd", "Daily budget", prefix="$", cap=1_000_000, unset="no budget")
        self.monthly = self.number("limits.monthly_usd", "Monthly budget", prefix="$", cap=1_000_000, unset="no budget")

    def _rows(self, layout: QFormLayout, *widgets: QWidget) -> QFormLayout:
        for widget in widgets:
            layout.addRow(self.label(widget), widget)
        return layout

    def basics(self) -> QFormLayout:
        return self._rows(QFormLayout(), self.name, self.description, self.enabled, self.strategy)

    def fallback_box(self) -> QGroupBox:
        box = QGroupBox("Fallback")
        grid = QGridLayout(box)
        grid.addWidget(plain_label("Move on to the next target on:"), 0, 0, 1, 2)
        for i, check in enumerate(self.triggers.values()):
            grid.addWidget(check, 1 + i // 2, i % 2)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._rows(form, self.retries, self.cooldown_failures, self.cooldown_seconds, self.budget, self.hedge)
        grid.addLayout(form, 5, 0, 1, 2)
        return box

    def cache_box(self) -> QGroupBox:
        box = QGroupBox("Cache and limits")
        self._rows(QFormLayout(box), self.cache_on, self.cache_ttl, self.rpm, self.tpm, self.daily, self.monthly)
        return box
