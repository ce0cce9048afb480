"""Fake upstreams for desktop tests, each on its own thread and loop, in this process.

In-process (rather than a subprocess) so tests can read what the fake received (``requests``:
paths and headers). Use :func:`running_fake` as a context manager; it stops the fake and joins
its thread before it returns, so no thread outlives the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from tests.fakes.openai_upstream import FakeOpenAIUpstream, RecordedRequest


class ThreadedFake:
    """A :class:`FakeOpenAIUpstream` served from a background thread."""

    def __init__(self, **kwargs: Any) -> None:
        self.fake = FakeOpenAIUpstream(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-fake-upstream", daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return self.fake.base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.fake.requests)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextlib.contextmanager
def running_fake(**kwargs: Any) -> Iterator[ThreadedFake]:
    fake = ThreadedFake(**kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
