"""GatewayThread: the gateway in its own thread with its own asyncio loop (no Qt).

The tray app uses only this class's methods and the event stream. Methods are thread-safe:
they hand work to the gateway's loop with ``run_coroutine_threadsafe``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

from proxy.config import GatewayConfig
from proxy.events import GatewayEvents
from proxy.gateway import Gateway, GatewayOptions
from proxy.models import RequestRecord
from proxy.storage.request_log import read_recent
from proxy.storage.secrets import SecretResolver


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where available (faster sockets), else the standard loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class GatewayThread:
    """Runs a :class:`Gateway` on a background thread."""

    def __init__(
        self,
        options: GatewayOptions | None = None,
        *,
        config: GatewayConfig | None = None,
        secrets: SecretResolver | None = None,
    ) -> None:
        self.events = GatewayEvents()
        self.gateway = Gateway(options, config=config, secrets=secrets, events=self.events)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str | None:
        return self.gateway.base_url

    def start(self, timeout: float = 15.0) -> str:
        """Start the thread and wait until the server listens; returns the base URL.

        Raises:
            ConfigError, GatewayStartError: startup failed (the thread has ended).
            TimeoutError: the server did not start in time.
        """
        started: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="switchboard-gateway", daemon=True)
        self._thread.start()
        return started.result(timeout)

    def _run(self, started: concurrent.futures.Future[str]) -> None:
        loop = self._loop = new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(started))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self, started: concurrent.futures.Future[str]) -> None:
        self._stop = asyncio.Event()
        try:
            url = await self.gateway.start()
        except BaseException as exc:
            started.set_exception(exc)
            return
        started.set_result(url)
        await self._stop.wait()
        await self.gateway.stop()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving (in-flight requests drain for the configured time) and join the thread."""
        if self._loop is None or self._thread is None or self._stop is None:
            return
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._thread = None

    def apply_config(self, config: GatewayConfig) -> concurrent.futures.Future[None]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self.gateway.apply_config(config), self._loop)

    def query_log(self, limit: int = 100) -> list[RequestRecord]:
        """Recent log rows, read on the caller's thread through its own SQLite connection."""
        return read_recent(self.gateway.home.log_db, limit)
