"""GatewayBridge: the only place Qt meets the gateway.

The gateway runs on its own thread with its own loop (:class:`proxy.host.runner.GatewayThread`). Its
event callbacks run on gateway threads, so here they only emit Qt signals, which Qt queues to the
GUI thread. Starting, stopping and reading the keychain or the log happen on short-lived worker
threads: the GUI thread never waits on the network, the disk or the keychain.

Lifecycle: ``start()`` → ``started`` or ``start_failed``; ``stop()`` → ``stopped`` (always, also
after a failed start or when stopped while still starting). Values crossing threads are
immutable: ``RequestRecord`` is frozen, strings are strings.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop import dashboard_data
from desktop.playground import ColumnEvent, PlaygroundRun
from proxy.config.schema import GatewayConfig, ProviderConfig, RouteConfig
from proxy.config.store import Version
from proxy.domain.errors import SwitchboardError
from proxy.domain.events import (
    BudgetThreshold,
    ConfigApplied,
    ConfigRejected,
    KeyFailing,
    RequestFinished,
    RequestLogged,
    RequestProgress,
    RequestStarted,
)
from proxy.domain.records import IN_PROGRESS, RequestRecord
from proxy.engine.gateway import GatewayOptions
from proxy.host.runner import ROUTE_TEST_TIMEOUT, GatewayThread, RouteTest
from proxy.providers.keytest import KeyTest

log = logging.getLogger(__name__)

RECENT_KEPT = 50
"""How many finished requests the bridge keeps in memory for the tray and future windows."""
HISTORY_READ = 500
"""How many log rows are read at start, to fill :meth:`recent` and count today's requests."""
START_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class FailedStart:
    """Why the gateway did not start, and what the status window can offer instead of only Quit."""

    message: str
    config: GatewayConfig | None
    """The config on file (what Settings shows and changes while the gateway is down)."""
    previous: Version | None
    """The version before the latest, to go back to; ``None`` when there is none."""


class GatewayBridge(QObject):
    """Qt face of a :class:`GatewayThread`; create it on the GUI thread.

    Signals:
        started(str): the gateway listens; the argument is its base URL (``http://host:port``).
        stopped(): the gateway has stopped (in-flight requests drained, bounded), or was never
            running. Emitted once per :meth:`stop`.
        start_failed(str): the gateway could not start; the argument says why, for people.
        request_finished(object): a request ended (a :class:`RequestRecord`; cost not known yet).
        request_logged(object): a request's log row is written (a :class:`RequestRecord` with cost).
        config_rejected(str): an edit of the config file was refused; the text lists the problems.
        access_key_fetched(str): the answer to :meth:`fetch_access_key`; ``""`` when no key can
            be shown (none kept in a keychain, and none in ``SWITCHBOARD_ACCESS_KEY``).
        alert(object): a gateway event worth telling the user about (``KeyFailing``,
            ``BudgetThreshold``, ``ConfigRejected``), for notifications.
        provider_result(str, bool, str): the answer to :meth:`save_provider`,
            :meth:`delete_provider` or :meth:`test_key`: ``"save:ID"``/``"delete:ID"``/``"test:ID"``,
            whether it worked, and a message for people (never containing a key).
        paused_changed(bool): the gateway was paused or resumed.
        config_applied(int, str): a config version is in force (its number and summary), whoever
            saved it: this app, the CLI or an edit of the file.
        route_tested(object): the answer to :meth:`test_route` (a :class:`proxy.host.runner.RouteTest`).
        history_loaded(object): the answer to :meth:`load_history`: config versions, oldest first.
        diff_loaded(int, str): the answer to :meth:`load_diff`: a version and its unified diff
            against the version before it (``""`` with an error message in ``provider_result``).
        dashboard_loaded(object): the answer to :meth:`load_dashboard`, a
            :class:`desktop.dashboard_data.DashboardData`.
        playground_event(object): a :class:`desktop.playground.ColumnEvent` of a run started by
            :meth:`playground_send`.
    """

    started = Signal(str)
    stopped = Signal()
    start_failed = Signal(str)
    request_finished = Signal(object)
    request_logged = Signal(object)
    config_rejected = Signal(str)
    access_key_fetched = Signal(str)
    alert = Signal(object)
    provider_result = Signal(str, bool, str)
    paused_changed = Signal(bool)
    config_applied = Signal(int, str)
    # routing editor
    route_tested = Signal(object)
    history_loaded = Signal(object)
    diff_loaded = Signal(int, str)
    dashboard_loaded = Signal(object)  # DashboardData; see the Dashboard section
    playground_event = Signal(object)  # ColumnEvent; see the Playground section
    _history_loaded = Signal(object)  # list[RequestRecord], oldest first; from the start worker

    def __init__(self, options: GatewayOptions, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.options = options
        self.thread = GatewayThread(options)
        self._unsubscribe: Callable[[], None] | None = self.thread.events.connect(self._on_gateway_event)
        self._base_url: str | None = None
        self._recent: deque[RequestRecord] = deque(maxlen=RECENT_KEPT)
        self._day = date.today()
        self._today = 0
        self._is_today_partial = False
        self._starter: threading.Thread | None = None
        self._stopper: threading.Thread | None = None
        self._playground_runs: dict[int, PlaygroundRun] = {}
        self._playground_lock = threading.Lock()
        self._next_run = 0
        # queued: these run on the GUI thread, in the order the workers emitted
        self._history_loaded.connect(self._on_history_loaded)
        self.request_finished.connect(self._on_request_finished)
        self.request_logged.connect(self._on_request_logged)
        self._spend_day = date.today()
        self._spend_today = 0.0
        self.failed_start: FailedStart | None = None
        """Why the last start failed and what a recovery can offer; ``None`` once running."""

    # -- gateway threads: emit signals, nothing else ----------------------------------------------

    def _on_gateway_event(self, event: object) -> None:
        if isinstance(event, RequestFinished):
            self.request_finished.emit(event.record)
        elif isinstance(event, RequestLogged):
            self.request_logged.emit(event.record)
        elif isinstance(event, ConfigApplied):
            self.config_applied.emit(event.version or 0, event.summary)
        elif isinstance(event, ConfigRejected):
            self.config_rejected.emit(f"{event.source}:\n" + "\n".join(event.problems))
            self.alert.emit(event)
        elif isinstance(event, (KeyFailing, BudgetThreshold)):
            self.alert.emit(event)

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """``http://127.0.0.1:PORT`` while the gateway runs, else ``None`` (follows a port change)."""
        if self._base_url is None:
            return None
        return self.thread.gateway.base_url or self._base_url

    @property
    def has_created_access_key(self) -> bool:
        """True when this start made the first access key (a first run): worth telling the user."""
        return self.thread.gateway.created_access_key is not None

    def start(self) -> None:
        """Start the gateway on a worker thread; ``started`` or ``start_failed`` follows.

        The worker first reads the recent log (for :meth:`recent` and the count of today's
        requests), then starts the gateway and waits until it listens.
        """
        if self._starter is not None or self._stopper is not None:
            raise RuntimeError("a GatewayBridge starts once; make a new one to start again")
        self._start_worker(self._run_start)

    def _start_worker(self, target: Callable[[], None]) -> None:
        self._starter = threading.Thread(target=target, name="switchboard-bridge-start", daemon=True)
        self._starter.start()

    @property
    def start_has_failed(self) -> bool:
        """True after ``start_failed`` until a later start succeeds (see :meth:`recover`)."""
        return self.failed_start is not None

    def recover(self, fix: str) -> None:
        """After ``start_failed``: change the config file as ``fix`` says, then start again
        (``started`` or ``start_failed`` follows). ``fix`` is ``"free_port"`` (the first free port
        after the configured one), ``"previous"`` (the version before the latest) or ``"retry"``.
        Ignored unless the last start failed."""
        if self.failed_start is None or self._stopper is not None:
            return
        fixes: dict[str, Callable[[], str]] = {
            "free_port": self.thread.use_free_port,
            "previous": self.thread.use_previous_version,
            "retry": lambda: "Starting again",
        }
        self._start_worker(lambda: self._run_recovery(fixes[fix]))

    def _run_recovery(self, fix: Callable[[], str]) -> None:  # worker thread
        try:
            done = fix()
        except (ValueError, OSError, SwitchboardError) as exc:
            self._failed(f"Nothing was changed: {exc}")
            return
        log.info("recovering from a failed start: %s", done)
        self._run_start(read_history=False)

    def _failed(self, message: str) -> None:  # worker thread
        """Say why the gateway is not running, with what a recovery needs to offer its choices."""
        try:
            config, previous = self.thread.config_on_file(), self.thread.previous_version()
        except Exception:  # the choices are a help; the message must still go out
            log.warning("could not read the config history", exc_info=True)
            config, previous = None, None
        self.failed_start = FailedStart(message, config, previous)
        self.start_failed.emit(message)

    def _run_start(self, read_history: bool = True) -> None:  # worker thread
        if read_history:
            try:
                self._history_loaded.emit(self.thread.query_log(HISTORY_READ))
            except Exception:  # a damaged log must not keep the gateway down
                log.warning("could not read the request log", exc_info=True)
        try:
            url = self.thread.start(START_TIMEOUT)
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
        if self._stopper is not None:  # already stopping or stopped
            if block:
                self._stopper.join(self._stop_timeout(timeout) + START_TIMEOUT)
            return
        self._stopper = threading.Thread(
            target=self._run_stop, args=(timeout,), name="switchboard-bridge-stop", daemon=True
        )
        self._stopper.start()
        if block:
            self._stopper.join(self._stop_timeout(timeout) + START_TIMEOUT)

    def _stop_timeout(self, timeout: float | None) -> float:
        if timeout is not None:
            return timeout
        snapshot = self.thread.gateway.snapshot
        return (snapshot.config.server.drain_timeout if snapshot is not None else 10.0) + 5.0

    def _run_stop(self, timeout: float | None) -> None:  # worker thread
        if self._starter is not None:  # stopped while starting: let the start finish first
            self._starter.join(START_TIMEOUT + 1)
        self._base_url = None
        self._stop_playground_runs()  # our own client streams must not hold up the drain
        try:
            self.thread.stop(self._stop_timeout(timeout))
        except Exception:
            log.exception("the gateway did not stop cleanly")
        finally:
            if self._unsubscribe is not None:  # no more signals from gateway threads after this
                self._unsubscribe()
                self._unsubscribe = None
            self.stopped.emit()

    # -- state for the tray and windows (GUI thread) -----------------------------------------------

    def recent(self, limit: int = 5) -> list[RequestRecord]:
        """The latest finished requests, newest first (from memory: no disk on the GUI thread)."""
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

    def routes(self) -> list[RouteConfig]:
        """The routes of the config in force (frozen config objects), or ``[]`` before start."""
        snapshot = self.thread.gateway.snapshot  # swapped whole on config changes: safe to read
        return list(snapshot.config.routes) if snapshot is not None else []

    @property
    def paused(self) -> bool:
        return self.thread.gateway.paused

    def set_paused(self, paused: bool) -> None:
        """Pause (model requests get 503 ``paused``) or resume; a plain flag, safe from any thread."""
        self.thread.gateway.paused = paused
        self.paused_changed.emit(paused)

    def default_route(self) -> str | None:
        """The route that takes unknown model names, if any."""
        snapshot = self.thread.gateway.snapshot
        return snapshot.config.default_route if snapshot is not None else None

    def fetch_access_key(self) -> None:
        """Look up the access key a client should use, on a worker thread (the keychain may
        block); ``access_key_fetched`` follows."""
        self._in_worker("switchboard-bridge-key", self._run_fetch_key)

    def _run_fetch_key(self) -> None:  # worker thread
        self.access_key_fetched.emit(self._read_access_key())

    def _read_access_key(self) -> str:  # worker thread: the keychain may block
        try:
            return self.thread.client_access_key()
        except Exception:
            log.warning("could not read the access key", exc_info=True)
            return ""  # client_access_key answers from the environment before it can fail

    def save_provider(self, provider: ProviderConfig, key: str | None) -> None:
        """Add or replace a provider, its key going to the keychain; ``provider_result`` follows."""
        self._answer(f"save:{provider.id}", lambda: self.thread.save_provider(provider, key))

    def update_config(self, summary: str, mutate: Callable[[dict[str, Any]], None], action: str = "config") -> None:
        """Change the config (see :meth:`GatewayThread.update_config`); ``provider_result`` follows
        with ``action`` (``"config"`` unless the caller names its own, e.g. ``"route"`` or
        ``"enable:ID"``, to tell its answers apart).

        After a failed start (the Settings page is the way out), the change goes to the config file
        instead and the gateway is started again with it: ``started`` or ``start_failed`` follows."""
        if self.failed_start is not None and self._stopper is None and not self._is_starting():

            def offline() -> None:  # worker thread
                try:
                    done = self.thread.update_config_offline(summary, mutate)
                except (ValueError, OSError, SwitchboardError) as exc:
                    self.provider_result.emit(action, False, str(exc))
                    return
                self.provider_result.emit(action, True, f"{done}. Starting the gateway…")
                self._run_start(read_history=False)

            self._start_worker(offline)
            return
        self._answer(action, lambda: self.thread.update_config(summary, mutate))

    def _is_starting(self) -> bool:
        return self._starter is not None and self._starter.is_alive()

    def delete_provider(self, provider_id: str) -> None:
        self._answer(f"delete:{provider_id}", lambda: self.thread.delete_provider(provider_id))

    def test_key(self, provider_id: str) -> None:
        self._answer(f"test:{provider_id}", lambda: self.thread.test_provider_key(provider_id))

    @staticmethod
    def _in_worker(name: str, work: Callable[[], None]) -> None:
        """Run ``work`` on a short-lived daemon thread (it answers with a signal)."""
        threading.Thread(target=work, name=name, daemon=True).start()

    def _answer(self, action: str, start: Callable[[], concurrent.futures.Future[Any]]) -> None:
        def work() -> None:  # worker thread: waits for the gateway loop, never the GUI
            try:
                result = start().result(60)
            except Exception as exc:  # ValueError and ours carry a message for people; anything else: say what
                people = isinstance(exc, (ValueError, SwitchboardError))
                message = str(exc) if people else f"{type(exc).__name__}: {exc}"
                self.provider_result.emit(action, False, message)
                return
            if isinstance(result, KeyTest):
                self.provider_result.emit(action, result.ok, result.message)
            else:
                self.provider_result.emit(action, True, str(result))

        self._in_worker("switchboard-bridge-provider", work)

    # -- Providers page and access keys (issue 6) --------------------------------------------------
    # Local servers, model lists, enabling providers, access keys. Each method starts a worker
    # thread that waits for the gateway loop and answers with a signal (queued to the GUI thread).
    #
    # Signals:
    #     local_servers_found(object): tuple of :class:`proxy.providers.discovery.LocalServer` answering now.
    #     models_fetched(str, bool, object, str): provider id, whether it worked, tuple of model ids,
    #         a message for people.
    #     access_keys_listed(object): list of ``(AccessKeyInfo, last used or None)``; never values.
    #     access_key_created(str, bool, str): name, whether it worked, and the new key's value (shown
    #         once by the page; never logged) or, when it failed, a message for people.
    #     access_key_revoked(str, bool, str): name, whether it worked, a message for people.

    local_servers_found = Signal(object)
    models_fetched = Signal(str, bool, object, str)
    access_keys_listed = Signal(object)
    access_key_created = Signal(str, bool, str)
    access_key_revoked = Signal(str, bool, str)

    def find_local_servers(self) -> None:
        """Probe for Ollama / LM Studio on this computer; ``local_servers_found`` follows."""

        def work() -> None:
            try:
                found = self.thread.find_local_servers().result(30)
            except Exception:  # not running, or stopping: nothing found is the honest answer
                log.info("could not look for local model servers", exc_info=True)
                found = ()
            self.local_servers_found.emit(tuple(found))

        self._in_worker("switchboard-bridge-discover", work)

    def add_local_server(self, server: Any) -> str:
        """Add a found :class:`LocalServer` as a provider (no key); ``provider_result`` follows
        with ``"save:ID"``. The id (returned) is the preset's (``ollama``), made unique if taken."""
        snapshot = self.thread.gateway.snapshot
        taken = {p.id for p in snapshot.config.providers} if snapshot is not None else set()
        pid, n = server.preset, 2
        while pid in taken:
            pid, n = f"{server.preset}-{n}", n + 1
        default = ProviderConfig(id=pid, preset=server.preset).effective_base_url
        data: dict[str, Any] = {"id": pid, "preset": server.preset}
        if server.base_url != default:
            data["base_url"] = server.base_url
        self.save_provider(ProviderConfig.model_validate(data), None)
        return pid

    def set_provider_enabled(self, provider_id: str, enabled: bool) -> None:
        """Turn a provider on or off, saved as a config version and applied live (its routes fall
        through to their other targets while it is off); ``provider_result`` follows with
        ``"enable:ID"``."""

        def mutate(data: dict[str, Any]) -> None:
            for provider in data.get("providers", []):
                if provider.get("id") == provider_id:
                    provider["enabled"] = enabled
                    return
            raise ValueError(f"There is no provider {provider_id!r} any more.")

        verb = "enable" if enabled else "disable"
        self.update_config(f"{verb} provider {provider_id}", mutate, action=f"enable:{provider_id}")

    def fetch_models(self, provider_id: str) -> None:
        """Ask the provider for its model list with its key; ``models_fetched`` follows."""

        def work() -> None:
            try:
                found = self.thread.fetch_models(provider_id).result(60)
            except Exception as exc:
                self.models_fetched.emit(provider_id, False, (), f"Could not ask {provider_id}: {exc}")
                return
            self.models_fetched.emit(provider_id, found.ok, found.models, found.message)

        self._in_worker("switchboard-bridge-models", work)

    def list_access_keys(self) -> None:
        """Read the access keys (names, dates, masked hints); ``access_keys_listed`` follows."""

        self._in_worker("switchboard-bridge-keys", self._emit_access_keys)

    def _emit_access_keys(self) -> None:  # worker thread
        try:
            listed = self.thread.list_access_keys().result(30)
        except Exception:
            log.warning("could not list the access keys", exc_info=True)
            listed = []
        self.access_keys_listed.emit(listed)

    def create_access_key(self, name: str) -> None:
        """Make a new access key, in force at once; ``access_key_created`` follows."""

        def work() -> None:
            try:
                value, kept = self.thread.create_access_key(name).result(30)
            except ValueError as exc:  # a bad or taken name: written for people
                self.access_key_created.emit(name, False, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
                return
            except Exception as exc:
                self.access_key_created.emit(name, False, f"The key could not be made: {exc}")
                return
            self.access_key_created.emit(name, True, value)
            self._emit_access_keys()

        self._in_worker("switchboard-bridge-keys", work)

    def revoke_access_key(self, name: str) -> None:
        """Revoke an access key at once; ``access_key_revoked`` follows."""

        def work() -> None:
            try:
                revoked = self.thread.revoke_access_key(name).result(30)
            except Exception as exc:
                self.access_key_revoked.emit(name, False, f"The key could not be revoked: {exc}")
                return
            if revoked:
                self.access_key_revoked.emit(name, True, f"Revoked {name}: tools using it are refused from now on.")
            else:
                self.access_key_revoked.emit(name, False, f"There is no access key named {name} any more.")
            self._emit_access_keys()

        self._in_worker("switchboard-bridge-keys", work)

    # -- slots (GUI thread) ------------------------------------------------------------------------

    def _on_history_loaded(self, records: list[RequestRecord]) -> None:
        self._recent.extend(records[-RECENT_KEPT:])
        today = date.today()
        self._day = today
        self._today = sum(1 for r in records if date.fromtimestamp(r.started_at) == today)
        self._is_today_partial = len(records) >= HISTORY_READ and self._today == len(records)
        self._spend_day = today
        self._spend_today = sum(r.cost or 0.0 for r in records if date.fromtimestamp(r.started_at) == today)

    def _on_request_logged(self, record: RequestRecord) -> None:
        day = date.fromtimestamp(record.started_at)
        if day != self._spend_day:
            self._spend_day, self._spend_today = day, 0.0
        self._spend_today += record.cost or 0.0

    @property
    def spend_today(self) -> float:
        """US dollars spent since local midnight (from the log rows read at start and since;
        like :attr:`requests_today`, partial when the start-up read hit its limit)."""
        return self._spend_today if self._spend_day == date.today() else 0.0

    def _on_request_finished(self, record: RequestRecord) -> None:
        self._recent.append(record)
        day = date.fromtimestamp(record.started_at)
        if day != self._day:  # first request after midnight
            self._day, self._today, self._is_today_partial = day, 0, False
        self._today += 1

    # -- routing editor: test a route, simulated failures, config history and rollback -------------

    def test_route(self, route: str) -> None:
        """Send a small request through ``route``; ``route_tested`` follows with a ``RouteTest``."""

        def work() -> None:  # worker thread: waits for the gateway loop, never the GUI
            try:
                result = self.thread.test_route(route).result(ROUTE_TEST_TIMEOUT + 5)
            except Exception as exc:
                result = RouteTest(False, 0, route, message=f"{type(exc).__name__}: {exc}")
            self.route_tested.emit(result)

        self._in_worker("switchboard-bridge-route-test", work)

    def simulate_failure(self, provider: str, model: str, fault: str, count: int) -> dict[str, list[str]]:
        """Arm a simulated failure (memory only, quick: safe on the GUI thread); returns what is
        pending. Raises ``ValueError`` for an unknown fault or count."""
        return self.thread.simulate_failure(provider, model, fault, count)

    def clear_simulated(self) -> dict[str, list[str]]:
        return self.thread.clear_simulated()

    def pending_simulated(self) -> dict[str, list[str]]:
        return self.thread.pending_simulated()

    def load_history(self) -> None:
        """Read the config versions on a worker thread; ``history_loaded`` follows."""

        def work() -> None:
            try:
                versions = self.thread.config_history()
            except Exception:
                log.warning("could not read the config history", exc_info=True)
                versions = []
            self.history_loaded.emit(versions)

        self._in_worker("switchboard-bridge-history", work)

    def load_diff(self, number: int) -> None:
        """Read version ``number``'s diff on a worker thread; ``diff_loaded`` follows."""

        def work() -> None:
            try:
                text = self.thread.config_diff(number)
            except Exception as exc:
                text = f"Cannot show version {number}: {exc}"
            self.diff_loaded.emit(number, text)

        self._in_worker("switchboard-bridge-diff", work)

    def rollback(self, number: int) -> None:
        """Put config version ``number`` back in force; ``provider_result("rollback", ...)`` follows."""
        self._answer("rollback", lambda: self.thread.rollback_config(number))

    # -- Dashboard (issue 7): aggregates read on a worker thread -----------------------------------

    def load_dashboard(self, range_key: str) -> None:
        """Read the dashboard's data for ``range_key`` (see :data:`desktop.dashboard_data.RANGES`)
        on a worker thread, through read-only connections of its own; ``dashboard_loaded`` follows
        (not at all if the log cannot be read: that is logged)."""
        snapshot = self.thread.gateway.snapshot
        config = snapshot.config if snapshot is not None else None
        path = self.thread.gateway.home.log_db

        def work() -> None:
            try:
                data = dashboard_data.load(path, config, range_key)
            except Exception:
                log.warning("could not read the dashboard data", exc_info=True)
                return
            self.dashboard_loaded.emit(data)

        self._in_worker("switchboard-bridge-dashboard", work)

    # -- Playground (issue 7): streams to several models through our own endpoint ------------------

    def playground_send(self, models: list[str], messages: list[dict[str, Any]]) -> int:
        """Stream one chat to every model in ``models`` at once, through the gateway's endpoint
        (so each is logged and priced like any client's), on a worker thread with its own loop.
        Returns the run number; ``playground_event`` reports each column's progress.

        Raises:
            RuntimeError: the gateway is not running.
        """
        base_url = self.base_url
        if base_url is None:
            raise RuntimeError("the gateway is not running")
        with self._playground_lock:
            self._next_run += 1
            run_id = self._next_run

        def emit(event: ColumnEvent) -> None:  # worker thread
            self.playground_event.emit(event)

        run = PlaygroundRun(run_id, base_url, self._read_access_key, models, messages, emit)
        with self._playground_lock:
            self._playground_runs = {k: r for k, r in self._playground_runs.items() if r.is_running}
            self._playground_runs[run_id] = run
        run.start()
        return run_id

    def playground_stop(self, run_id: int) -> None:
        """Cancel a run's streams (never blocks); each running column reports ``stopped``."""
        with self._playground_lock:
            run = self._playground_runs.get(run_id)
        if run is not None:
            run.stop()

    def _stop_playground_runs(self) -> None:  # the stop worker
        with self._playground_lock:
            runs = list(self._playground_runs.values())
        for run in runs:
            run.stop()
        for run in runs:
            run.thread.join(5)

    # -- request log page --------------------------------------------------------------------------
    # Its signals are declared here rather than at the top, so the pages' sections merge apart.
    #
    # Signals:
    #     request_started(object): a request was routed and runs (a ``RequestRecord`` with status
    #         ``in_progress``); only after :meth:`watch_requests`.
    #     request_progress(str, str): a running request's id and its streamed text since the last
    #         one (batched by the gateway; only while body capture is on); after :meth:`watch_requests`.
    #     log_page_loaded(object, object): the answer to :meth:`load_log_page`: the rows (oldest
    #         first, without bodies) and the ``before`` that was asked for.
    #     log_record_fetched(str, object): the answer to :meth:`fetch_log_record`: the id and the
    #         full row (bodies included), or ``None`` when it is not written yet.

    request_started = Signal(object)
    request_progress = Signal(str, str)
    log_page_loaded = Signal(object, object)
    log_record_fetched = Signal(str, object)
    _log_watch: Callable[[], None] | None = None

    def watch_requests(self) -> None:
        """Start emitting ``request_started`` and ``request_progress`` (idempotent)."""
        if self._log_watch is None:
            self._log_watch = self.thread.events.connect(self._on_log_event)

    def _on_log_event(self, event: object) -> None:  # gateway thread: emit, nothing else
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

    def load_log_page(self, limit: int, before: tuple[float, str] | None = None) -> None:
        """Read log rows on a worker thread (its own SQLite connection); ``log_page_loaded`` follows."""

        def work() -> None:
            try:
                records = self.thread.query_log_page(limit, before)
            except Exception:  # a damaged or locked log: an empty page, never a crash
                log.warning("could not read the request log", exc_info=True)
                records = []
            self.log_page_loaded.emit(records, before)

        self._in_worker("switchboard-bridge-log", work)

    def fetch_log_record(self, request_id: str) -> None:
        """Read one full log row on a worker thread; ``log_record_fetched`` follows."""

        def work() -> None:
            try:
                record = self.thread.query_log_record(request_id)
            except Exception:
                log.warning("could not read request %s from the log", request_id, exc_info=True)
                record = None
            self.log_record_fetched.emit(request_id, record)

        self._in_worker("switchboard-bridge-log", work)
