"""How well the gateway's own process keeps up: event-loop lag and garbage-collector pauses.

Both are read in ``/switchboard/status`` (``loop``) and in the Prometheus metrics.

- :class:`LagProbe` measures how late the event loop runs a timer, every ``INTERVAL`` seconds,
  but **only while requests are in flight**: an idle gateway has nothing to measure and must not
  wake up (issue 21, "idle at zero").
- :class:`GcWatch` times every collection with ``gc.callbacks`` (a few microseconds per
  collection, nothing per request), and :func:`settle_heap` freezes the objects that live as
  long as the process (imports, the config, price data) after start, so that later full
  collections do not walk them again and again.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

INTERVAL = 0.05
"""Seconds between two lag samples while requests run."""
SLOW_GC_MS = 5.0
"""A collection longer than this is counted as a slow pause (the issue's bar)."""


class LagProbe:
    """Event-loop lag, sampled while there is work (``busy()`` true)."""

    def __init__(self, busy: Callable[[], bool]) -> None:
        self._busy = busy
        self._task: asyncio.Task[None] | None = None
        self.last_ms = 0.0
        self.max_ms = 0.0
        """The worst lag since start (or since :meth:`reset`)."""
        self.samples = 0
        self.over_10ms = 0

    def kick(self) -> None:
        """Called when a request begins: start sampling unless it runs already."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sample(), name="switchboard-lag-probe")

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._busy():
                due = loop.time() + INTERVAL
                await asyncio.sleep(INTERVAL)
                lag = max(0.0, (loop.time() - due) * 1000)
                self.last_ms = lag
                self.samples += 1
                if lag > self.max_ms:
                    self.max_ms = lag
                if lag > 10:
                    self.over_10ms += 1
        finally:
            self._task = None

    async def stop(self) -> None:
        task = self._task
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def reset(self) -> None:
        self.max_ms = 0.0
        self.over_10ms = 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "lag_ms_last": round(self.last_ms, 3),
            "lag_ms_max": round(self.max_ms, 3),
            "lag_samples": self.samples,
            "lag_over_10ms": self.over_10ms,
        }


class GcWatch:
    """Times the collector's pauses (all threads': it is one process-wide collector)."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.pause_ms_total = 0.0
        self.pause_ms_max = 0.0
        self.slow = 0
        """Pauses over ``SLOW_GC_MS``."""
        self._began = 0.0
        self._installed = False

    def install(self) -> None:
        if not self._installed:
            gc.callbacks.append(self._callback)
            self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            gc.callbacks.remove(self._callback)
            self._installed = False

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        ms = (time.perf_counter() - self._began) * 1000
        generation = info.get("generation", 0)
        if 0 <= generation <= 2:
            self.collections[generation] += 1
        self.pause_ms_total += ms
        if ms > self.pause_ms_max:
            self.pause_ms_max = ms
        if ms > SLOW_GC_MS:
            self.slow += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "gc_collections": list(self.collections),
            "gc_pause_ms_total": round(self.pause_ms_total, 3),
            "gc_pause_ms_max": round(self.pause_ms_max, 3),
            "gc_pauses_over_5ms": self.slow,
            "gc_frozen_objects": gc.get_freeze_count(),
        }


def settle_heap() -> None:
    """After start: collect once, then move every surviving object to the permanent generation.
    What is alive now (modules, the config, price tables, the app's widgets) stays alive, and a
    full collection no longer has to traverse it."""
    gc.collect()
    gc.freeze()
