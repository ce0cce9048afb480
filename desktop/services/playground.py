"""The Playground's runs: one chat streamed to several models at once through our own endpoint."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.playground_run import ColumnEvent, PlaygroundRun


class PlaygroundService(QObject):
    """Signals:
    reported(object): a :class:`ColumnEvent` of a run started by :meth:`send`.
    """

    reported = Signal(object)

    def __init__(self, bridge: GatewayLifecycle, access_key: Callable[[], str]) -> None:
        """``access_key``: the key the runs send (called on their worker threads: it may block)."""
        super().__init__(bridge)
        self._bridge = bridge
        self._access_key = access_key
        self._runs: dict[int, PlaygroundRun] = {}
        self._lock = threading.Lock()
        self._next_run = 0

    def send(self, models: list[str], messages: list[dict[str, Any]]) -> int:
        """Stream one chat to every model in ``models`` at once, through the gateway's endpoint
        (so each is logged and priced like any client's), on a worker thread with its own loop.
        Returns the run number; ``event`` reports each column's progress.

        Raises:
            RuntimeError: the gateway is not running.
        """
        base_url = self._bridge.base_url
        if base_url is None:
            raise RuntimeError("the gateway is not running")
        with self._lock:
            self._next_run += 1
            run_id = self._next_run

        def emit(event: ColumnEvent) -> None:  # worker thread
            self.reported.emit(event)

        run = PlaygroundRun(run_id, base_url, self._access_key, models, messages, emit)
        with self._lock:
            self._runs = {k: r for k, r in self._runs.items() if r.is_running}
            self._runs[run_id] = run
        run.start()
        return run_id

    def stop(self, run_id: int) -> None:
        """Cancel a run's streams (never blocks); each running column reports ``stopped``."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None:
            run.stop()

    def stop_all(self) -> None:  # the bridge's stop worker: waits for the runs to end
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop()
        for run in runs:
            run.thread.join(5)
