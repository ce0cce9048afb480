"""The request log page's data: requests as they run, and pages of the log read on workers."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.worker import deliver, logged
from proxy.api import IN_PROGRESS, RequestProgress, RequestRecord, RequestStarted


class RequestLogService(QObject):
    """Signals:
    request_started(object): a request was routed and runs (a ``RequestRecord`` with status
        ``in_progress``); only after :meth:`watch_requests`.
    request_progress(str, str): a running request's id and its streamed text since the last
        one (batched by the gateway; only while body capture is on); after :meth:`watch_requests`.
    page_loaded(object, object): the answer to :meth:`load_page`: the rows (oldest first, without
        bodies) and the ``before`` that was asked for.
    record_fetched(str, object): the answer to :meth:`fetch_record`: the id and the full row
        (bodies included), or ``None`` when it is not written yet.
    """

    request_started = Signal(object)
    request_progress = Signal(str, str)
    page_loaded = Signal(object, object)
    record_fetched = Signal(str, object)

    def __init__(self, bridge: GatewayLifecycle) -> None:
        super().__init__(bridge)
        self._api = bridge.api
        self._watch: Callable[[], None] | None = None

    def watch_requests(self) -> None:
        """Start emitting ``request_started`` and ``request_progress`` (idempotent)."""
        if self._watch is None:
            self._watch = self._api.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:  # gateway thread: emit, nothing else
        if isinstance(event, RequestStarted):
            record = RequestRecord(
                event.id,
                event.started_at,
                event.surface,
                IN_PROGRESS,
                0,
                client=event.client,
                requested_model=event.model,
                route=event.route,
                stream=event.stream,
            )
            self.request_started.emit(record)
        elif isinstance(event, RequestProgress):
            self.request_progress.emit(event.id, event.text)

    def load_page(self, limit: int, before: tuple[float, str] | None = None) -> None:
        """Read log rows on a worker thread (its own SQLite connection); ``page_loaded`` follows
        (an empty page when the log is damaged or locked: never a crash)."""
        deliver(
            "switchboard-bridge-log",
            lambda: self._api.log_page(limit, before),
            lambda records: self.page_loaded.emit(records, before),
            logged("could not read the request log", []),
        )

    def fetch_record(self, request_id: str) -> None:
        """Read one full log row on a worker thread; ``record_fetched`` follows."""
        deliver(
            "switchboard-bridge-log",
            lambda: self._api.log_record(request_id),
            lambda record: self.record_fetched.emit(request_id, record),
            logged(f"could not read request {request_id} from the log", None),
        )
