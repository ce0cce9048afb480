"""Fake upstreams for desktop tests, each on its own thread and loop, in this process.

In-process (rather than a subprocess) so tests can read what the fake received (``requests``:
paths and headers). Use :func:`running_fake` as a context manager; it stops the fake and joins
its thread before it returns, so no thread outlives the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
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


@contextlib.contextmanager
def fake_in_subprocess(api_key: str) -> Iterator[str]:
    """The fake OpenAI upstream in its own process (as the gateway sees a real provider: another
    process on a port); yields its base URL and stops it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", "0", "--api-key", api_key],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        url = re.search(r"listening on (\S+)", line)
        assert url, line
        yield url.group(1)
    finally:
        proc.terminate()
        proc.wait(10)
