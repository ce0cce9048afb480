"""GatewayBridge: the only place Qt meets the gateway.

The gateway runs on its own thread and loop (:class:`proxy.runner.GatewayThread`). Its event
callbacks run on gateway threads, so they only emit Qt signals, which Qt queues to the GUI
thread. Starting and stopping happen on worker threads too: the GUI thread never waits on the
network, the disk or the keychain.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from PySide6.QtCore import QObject, Signal

from proxy.errors import SwitchboardError
from proxy.events import ConfigRejected, RequestFinished, RequestLogged
from proxy.gateway import GatewayOptions
from proxy.models import RequestRecord
from proxy.runner import GatewayThread

log = logging.getLogger(__name__)


class GatewayBridge(QObject):
    """Qt face of a :class:`GatewayThread`.

    Signals:
        started(str): the gateway listens; the argument is its base URL.
        start_failed(str): the gateway could not start; the argument says why.
        stopped(): the gateway has stopped (after draining).
        request_finished(object): a request ended (a :class:`RequestRecord`, cost not yet known).
        request_logged(object): a request's log row is written (a :class:`RequestRecord` with cost).
        config_rejected(str): an edit of the config file was refused; the text lists the problems.
        access_key_fetched(str): the answer to :meth:`fetch_access_key` ("" if not available).
    """

    started = Signal(str)
    start_failed = Signal(str)
    stopped = Signal()
    request_finished = Signal(object)
    request_logged = Signal(object)
    config_rejected = Signal(str)
    access_key_fetched = Signal(str)

    def __init__(self, options: GatewayOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = GatewayThread(options)
        self.thread.events.connect(self._on_gateway_event)
        self.base_url: str | None = None
        self.requests_today = 0
        self._recent: deque[RequestRecord] = deque(maxlen=50)
        self.request_finished.connect(self._remember)  # queued: runs on the GUI thread

    def _on_gateway_event(self, event: object) -> None:  # runs on gateway threads: signals only
        if isinstance(event, RequestFinished):
            self.request_finished.emit(event.record)
        elif isinstance(event, RequestLogged):
            self.request_logged.emit(event.record)
        elif isinstance(event, ConfigRejected):
            self.config_rejected.emit(f"{event.source}:\n" + "\n".join(event.problems))

    def start(self) -> None:
        """Start the gateway on a worker thread; ``started`` or ``start_failed`` follows."""

        def run() -> None:
            try:
                url = self.thread.start()
            except SwitchboardError as exc:
                self.start_failed.emit(str(exc))
                return
            except Exception as exc:  # report, never crash the tray
                log.exception("gateway failed to start")
                self.start_failed.emit(f"{type(exc).__name__}: {exc}")
                return
            self.base_url = url
            self.started.emit(url)

        threading.Thread(target=run, name="switchboard-bridge-start", daemon=True).start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the gateway and wait (in-flight requests drain, bounded), then emit ``stopped``.
        Blocks: for tests and shutdown; the GUI uses :meth:`stop_async`."""
        self.thread.stop(timeout)
        self.stopped.emit()

    def stop_async(self, timeout: float = 15.0) -> None:
        """Stop on a worker thread; ``stopped`` is emitted when done."""
        threading.Thread(target=self.stop, args=(timeout,), name="switchboard-bridge-stop", daemon=True).start()

    def recent(self, limit: int = 5) -> list[RequestRecord]:
        """The latest finished requests, newest last (kept in memory: no disk on the GUI thread)."""
        return list(self._recent)[-limit:]

    def _remember(self, record: RequestRecord) -> None:
        self._recent.append(record)
        self.requests_today += 1

    def route_names(self) -> list[tuple[str, bool]]:
        snapshot = self.thread.gateway.snapshot
        if snapshot is None:
            return []
        return [(r.name, r.enabled) for r in snapshot.config.routes]

    def fetch_access_key(self) -> None:
        """Read the ``default`` access key from the keychain on a worker thread; emits
        ``access_key_fetched`` with the key, or an empty string when it cannot be shown."""

        def run() -> None:
            try:
                value = self.thread.gateway.access_store.reveal("default") or ""
            except Exception:
                value = ""
            self.access_key_fetched.emit(value)

        threading.Thread(target=run, name="switchboard-bridge-key", daemon=True).start()
