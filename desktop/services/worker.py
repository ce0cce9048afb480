"""Short-lived worker threads: where the services wait for the gateway, so the GUI thread never does."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import SignalInstance

from proxy.api import for_people

T = TypeVar("T")
log = logging.getLogger(__name__)


def in_worker(name: str, work: Callable[[], None]) -> threading.Thread:
    """Run ``work`` on a daemon thread named ``name``; it answers with a signal (queued to the GUI)."""
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread


def answer(signal: SignalInstance, action: str, command: Callable[[], object], name: str) -> None:
    """Run ``command`` on a worker; ``signal(action, ok, message)`` follows: what it returned, or
    what went wrong (for people, never a key)."""

    def work() -> None:
        try:
            result = command()
        except Exception as exc:
            signal.emit(action, False, for_people(exc))
            return
        signal.emit(action, True, str(result))

    in_worker(name, work)


def deliver(name: str, read: Callable[[], T], emit: Callable[[T], None], failed: Callable[[Exception], T]) -> None:
    """Run ``read`` on a worker and ``emit`` what it returned, or what ``failed`` makes of the
    exception it raised (an empty answer, or words for people): the page always hears back."""

    def work() -> None:
        try:
            value = read()
        except Exception as exc:
            value = failed(exc)
        emit(value)

    in_worker(name, work)


def logged(what: str, value: T) -> Callable[[Exception], T]:
    """For :func:`deliver`: log that ``what`` failed (with its traceback), answer ``value``."""

    def failed(exc: Exception) -> T:
        log.warning("%s", what, exc_info=exc)
        return value

    return failed
