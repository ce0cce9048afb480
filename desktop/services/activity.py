"""Activity: the latest requests and today's counts, for the tray, kept in memory.

Filled once from the log when the gateway starts (read on the start worker), then from the
bridge's ``request_finished`` and ``request_logged`` signals: no disk on the GUI thread.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import date

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from proxy.api import RequestRecord

log = logging.getLogger(__name__)

RECENT_KEPT = 50
"""How many finished requests are kept in memory for the tray."""
HISTORY_READ = 500
"""How many log rows are read at start, to fill :meth:`Activity.recent` and count today's requests."""


class Activity(QObject):
    """Recent requests, requests and spend today (made by the bridge, before any page)."""

    _history_read = Signal(object)  # list[RequestRecord], oldest first; from the start worker

    def __init__(self, bridge: GatewayLifecycle) -> None:
        super().__init__(bridge)
        self._api = bridge.api
        self._recent: deque[RequestRecord] = deque(maxlen=RECENT_KEPT)
        self._day = date.today()
        self._today = 0
        self._is_today_partial = False
        self._spend_day = date.today()
        self._spend_today = 0.0
        # queued: these run on the GUI thread, in the order the workers emitted
        self._history_read.connect(self._on_history)
        bridge.request_finished.connect(self._on_request_finished)
        bridge.request_logged.connect(self._on_request_logged)

    def read_history(self) -> None:  # the start worker
        try:
            self._history_read.emit(self._api.recent_requests(HISTORY_READ))
        except Exception:  # a damaged log must not keep the gateway down
            log.warning("could not read the request log", exc_info=True)

    def recent(self, limit: int = 5) -> list[RequestRecord]:
        """The latest finished requests, newest first."""
        records = list(self._recent)[-limit:] if limit > 0 else []
        return records[::-1]

    @property
    def requests_today(self) -> int:
        """Requests since local midnight, this run and earlier ones (see :attr:`is_today_partial`)."""
        return self._today if self._day == date.today() else 0

    @property
    def is_today_partial(self) -> bool:
        """True when today's count hit the start-up read limit: the true number is higher."""
        return self._is_today_partial and self._day == date.today()

    @property
    def spend_today(self) -> float:
        """US dollars spent since local midnight (from the log rows read at start and since;
        like :attr:`requests_today`, partial when the start-up read hit its limit)."""
        return self._spend_today if self._spend_day == date.today() else 0.0

    def _on_history(self, records: list[RequestRecord]) -> None:
        self._recent.extend(records[-RECENT_KEPT:])
        today = date.today()
        self._day = today
        self._today = sum(1 for r in records if date.fromtimestamp(r.started_at) == today)
        self._is_today_partial = len(records) >= HISTORY_READ and self._today == len(records)
        self._spend_day = today
        self._spend_today = sum(r.cost or 0.0 for r in records if date.fromtimestamp(r.started_at) == today)

    def _on_request_finished(self, record: RequestRecord) -> None:
        self._recent.append(record)
        day = date.fromtimestamp(record.started_at)
        if day != self._day:  # first request after midnight
            self._day, self._today, self._is_today_partial = day, 0, False
        self._today += 1

    def _on_request_logged(self, record: RequestRecord) -> None:
        day = date.fromtimestamp(record.started_at)
        if day != self._spend_day:
            self._spend_day, self._spend_today = day, 0.0
        self._spend_today += record.cost or 0.0
