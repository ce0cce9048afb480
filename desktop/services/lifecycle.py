"""GatewayLifecycle: the gateway started, stopped and recovered, its events as Qt signals.

The gateway runs on its own thread with its own loop, behind :class:`proxy.api.GatewayControl`.
Its event callbacks run on gateway threads, so here they only emit Qt signals, which Qt queues to
the GUI thread. Starting, stopping and every read or change happen on short-lived worker threads:
the GUI thread never waits on the network, the disk or the keychain, and never reads the live
gateway: it reads :attr:`GatewayBridge.status`, a frozen copy made on the gateway's thread
whenever it starts or a config takes effect.

Lifecycle: ``start()`` → ``started`` or ``start_failed``; ``stop()`` → ``stopped`` (always, also
after a failed start or when stopped while still starting). Values crossing threads are
immutable: records and configs are frozen, strings are strings.

The services (:mod:`desktop.services`) are built on this; :class:`desktop.services.GatewayBridge`
puts them together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from proxy.api import (
    BudgetThreshold,
    ConfigApplied,
    ConfigRejected,
    GatewayConfig,
    GatewayControl,
    GatewayOptions,
    GatewayStatus,
    KeyFailing,
    RequestFinished,
    RequestLogged,
    ServerStarted,
    SwitchboardError,
    Version,
)

log = logging.getLogger(__name__)

START_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class FailedStart:
    """Why the gateway did not start, and what the status window can offer instead of only Quit."""

    message: str
    config: GatewayConfig | None
    """The config on file (what Settings shows and changes while the gateway is down)."""
    previous: Version | None
    """The version before the latest, to go back to; ``None`` when there is none."""


class GatewayLifecycle(QObject):
    """Qt face of a gateway on its own thread; create it on the GUI thread.

    Signals:
        started(str): the gateway listens; the argument is its base URL (``http://host:port``).
        stopped(): the gateway has stopped (in-flight requests drained, bounded), or was never
            running. Emitted once per :meth:`stop`.
        start_failed(str): the gateway could not start; the argument says why, for people.
        request_finished(object): a request ended (a ``RequestRecord``; cost not known yet).
        request_logged(object): a request's log row is written (a ``RequestRecord`` with cost).
        config_applied(int, str): a config version is in force (its number and summary), whoever
            saved it: this app, the CLI or an edit of the file. :attr:`status` already has it.
        config_rejected(str): an edit of the config file was refused; the text lists the problems.
        alert(object): a gateway event worth telling the user about (``KeyFailing``,
            ``BudgetThreshold``, ``ConfigRejected``), for notifications.
        paused_changed(bool): the gateway was paused or resumed.
    """

    started = Signal(str)
    stopped = Signal()
    start_failed = Signal(str)
    request_finished = Signal(object)
    request_logged = Signal(object)
    config_applied = Signal(int, str)
    config_rejected = Signal(str)
    alert = Signal(object)
    paused_changed = Signal(bool)
    _status_changed = Signal(object)  # GatewayStatus, made on the gateway's thread

    def __init__(self, options: GatewayOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.api = GatewayControl(options)
        """The typed border to the gateway: call its blocking methods on workers only."""
        self.status: GatewayStatus | None = None
        """The gateway's state as of its start or the last config applied; ``None`` before."""
        self.failed_start: FailedStart | None = None
        """Why the last start failed and what a recovery can offer; ``None`` once running."""
        self._base_url: str | None = None
        self._paused = False
        self._starter: threading.Thread | None = None
        self._starting = False
        self._stopper: threading.Thread | None = None
        # first: the kept status is current before anyone hears of a start or a config change
        self._status_changed.connect(self._on_status)
        self._unsubscribe: Callable[[], None] | None = self.api.subscribe(self._on_gateway_event)

    # -- gateway threads: emit signals, nothing else ----------------------------------------------

    def _on_gateway_event(self, event: object) -> None:
        if isinstance(event, RequestFinished):
            self.request_finished.emit(event.record)
        elif isinstance(event, RequestLogged):
            self.request_logged.emit(event.record)
        elif isinstance(event, (ServerStarted, ConfigApplied)):
            try:  # on the gateway's thread: the copy is made at once, before anyone hears of it
                self._status_changed.emit(self.api.status())
            except Exception:
                log.warning("could not read the gateway's status", exc_info=True)
            if isinstance(event, ConfigApplied):
                self.config_applied.emit(event.version or 0, event.summary)
        elif isinstance(event, ConfigRejected):
            self.config_rejected.emit(f"{event.source}:\n" + "\n".join(event.problems))
            self.alert.emit(event)
        elif isinstance(event, (KeyFailing, BudgetThreshold)):
            self.alert.emit(event)

    def _on_status(self, status: GatewayStatus | None) -> None:
        if status is not None:
            self.status = status

    # -- state for the tray and windows (GUI thread) -----------------------------------------------

    @property
    def base_url(self) -> str | None:
        """``http://127.0.0.1:PORT`` while the gateway runs, else ``None`` (follows a port change)."""
        if self._base_url is None:
            return None
        return (self.status.base_url if self.status is not None else None) or self._base_url

    @property
    def has_created_access_key(self) -> bool:
        """True when this start made the first access key (a first run): worth telling the user."""
        return self.status is not None and self.status.made_access_key

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Pause (model requests get 503 ``paused``) or resume; a plain flag, quick on any thread."""
        self.api.set_paused(paused)
        self._paused = paused
        self.paused_changed.emit(paused)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the gateway on a worker thread; ``started`` or ``start_failed`` follows.

        The worker first reads the recent log (for the tray's recent requests and today's counts),
        then starts the gateway and waits until it listens.
        """
        if self._starter is not None or self._stopper is not None:
            raise RuntimeError("a GatewayBridge starts once; make a new one to start again")
        self._start_worker(self._run_start)

    def _start_worker(self, target: Callable[[], None]) -> None:
        self._starting = True
        self._starter = threading.Thread(target=target, name="switchboard-bridge-start", daemon=True)
        self._starter.start()

    @property
    def is_down(self) -> bool:
        """The last start failed and nothing is starting or stopping: the file may be changed."""
        # not the thread's liveness alone: it emits start_failed just before it ends, and a
        # recovery asked for in that instant was ignored
        starting = self._starting and self._starter is not None and self._starter.is_alive()
        return self.failed_start is not None and self._stopper is None and not starting

    def recover(self, fix: str) -> None:
        """After ``start_failed``: change the config file as ``fix`` says, then start again
        (``started`` or ``start_failed`` follows). ``fix`` is ``"free_port"`` (the first free port
        after the configured one) or ``"previous"`` (the version before the latest). Ignored unless
        the gateway is down after a failed start (see :attr:`is_down`)."""
        if not self.is_down:
            return
        fixes: dict[str, Callable[[], str]] = {
            "free_port": self.api.use_free_port,
            "previous": self.api.use_previous_version,
        }

        def report(ok: bool, message: str) -> None:
            if ok:
                log.info("recovering from a failed start: %s", message)
            else:
                self._failed(f"Nothing was changed: {message}")

        self.change_file_and_start(fixes[fix], report)

    def change_file_and_start(self, change: Callable[[], str], report: Callable[[bool, str], None]) -> None:
        """While down after a failed start: ``change`` the config file on a worker (it returns what it
        did, for people), ``report(ok, message)``, and when it worked start again."""

        def work() -> None:  # worker thread
            try:
                done = change()
            except (ValueError, OSError, SwitchboardError) as exc:
                report(False, str(exc))
                return
            report(True, done)
            self._run_start(read_history=False)

        self._start_worker(work)

    def _failed(self, message: str) -> None:  # worker thread
        """Say why the gateway is not running, with what a recovery needs to offer its choices."""
        try:
            config, previous = self.api.config_on_file(), self.api.previous_version()
        except Exception:  # the choices are a help; the message must still go out
            log.warning("could not read the config history", exc_info=True)
            config, previous = None, None
        self.failed_start = FailedStart(message, config, previous)
        self._starting = False  # before the signal: a recovery may be asked for at once
        self.start_failed.emit(message)

    def before_start(self) -> None:  # the start worker, before the first start
        """What to read before the gateway starts (the bridge reads the recent log)."""

    def before_stop(self) -> None:  # the stop worker
        """What to end before the gateway drains (the bridge stops its own client streams)."""

    def _run_start(self, read_history: bool = True) -> None:  # worker thread
        if read_history:
            self.before_start()
        try:
            url = self.api.start(START_TIMEOUT)
        except SwitchboardError as exc:  # ConfigError, GatewayStartError: written for people
            self._failed(str(exc))
            return
        except TimeoutError:
            self._failed(f"The gateway did not start within {START_TIMEOUT:.0f} seconds.")
            return
        except Exception as exc:  # report, never crash the tray
            log.exception("the gateway failed to start")
            self._failed(f"{type(exc).__name__}: {exc}")
            return
        self.failed_start = None
        self._base_url = url
        log.info("gateway listening on %s", url)
        self.started.emit(url)

    def stop(self, timeout: float | None = None, *, block: bool = False) -> None:
        """Stop the gateway (in-flight requests drain, bounded); ``stopped`` follows.

        Args:
            timeout: how long to wait for the drain and the gateway thread; by default the
                config's ``server.drain_timeout`` plus 5 seconds.
            block: wait here until stopped. For tests and teardown only: the GUI passes
                ``False`` (the default) and waits for ``stopped``.
        """
        if self._stopper is None:
            self._stopper = threading.Thread(
                target=self._run_stop, args=(timeout,), name="switchboard-bridge-stop", daemon=True
            )
            self._stopper.start()
        if block:
            self._stopper.join(self._stop_timeout(timeout) + START_TIMEOUT)

    def _stop_timeout(self, timeout: float | None) -> float:
        if timeout is not None:
            return timeout
        return (self.status.config.server.drain_timeout if self.status is not None else 10.0) + 5.0

    def _run_stop(self, timeout: float | None) -> None:  # worker thread
        if self._starter is not None:  # stopped while starting: let the start finish first
            self._starter.join(START_TIMEOUT + 1)
        self._base_url = None
        self.before_stop()
        try:
            self.api.stop(self._stop_timeout(timeout))
        except Exception:
            log.exception("the gateway did not stop cleanly")
        finally:
            if self._unsubscribe is not None:  # no more signals from gateway threads after this
                self._unsubscribe()
                self._unsubscribe = None
            self.stopped.emit()
