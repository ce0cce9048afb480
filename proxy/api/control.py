"""GatewayControl: the desktop's one handle on a gateway that runs on its own thread.

Every method may be called from any thread. Those marked *blocking* wait for the gateway's loop,
the disk, the keychain or the network, each bounded by a timeout: the desktop calls them on its
workers, never on the GUI thread. Answers are frozen values (read models and typed results),
never the gateway's live objects.

Errors: commands that change something (``save_provider``, ``update_config`` ...) raise
``ValueError`` or :class:`proxy.domain.errors.SwitchboardError` with a message written for
people when nothing was changed. Checks that answer with a result (``test_key``, ``test_route``,
``fetch_models``, ``find_local_servers``) never raise: a failure is one of their answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from proxy.api import dashboard
from proxy.api.results import AccessKeyRow, GatewayStatus, KeyTestResult, NewAccessKey, StatePaths
from proxy.config.schema import GatewayConfig, ProviderConfig
from proxy.config.store import Version
from proxy.domain.errors import SwitchboardError
from proxy.domain.records import RequestRecord
from proxy.engine.gateway import Gateway, GatewayOptions
from proxy.host.runner import ROUTE_TEST_TIMEOUT, GatewayThread, RouteTestResult
from proxy.providers.discovery import LocalServer
from proxy.providers.keytest import ModelList
from proxy.storage.request_log import read_page, read_recent, read_record

log = logging.getLogger(__name__)

ANSWER_TIMEOUT = 60.0
"""How long a command waits for the gateway's loop to answer, by default (seconds)."""
QUICK_TIMEOUT = 30.0
"""The same for quick ones: the keychain, the access keys, the local probe."""


def for_people(exc: BaseException) -> str:
    """What went wrong, for people: ``ValueError`` and our own errors are written for them; anything
    else is named (``TimeoutError: ...``)."""
    return str(exc) if isinstance(exc, (ValueError, SwitchboardError)) else f"{type(exc).__name__}: {exc}"


class GatewayControl:
    """Start, stop, read and change one gateway (made from ``options``; not started yet)."""

    def __init__(self, options: GatewayOptions | None = None) -> None:
        self._thread = GatewayThread(options)
        gateway = self._thread.gateway
        self.paths = StatePaths(
            config_file=gateway.config_path,
            log_db=gateway.home.log_db,
            connect_state=gateway.home.data_dir / "connect.json",
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[object], None]) -> Callable[[], None]:
        """Call ``callback`` with every gateway event (on gateway threads); returns an unsubscribe."""
        return self._thread.events.connect(callback)

    def start(self, timeout: float) -> str:
        """Start the gateway and wait until it listens (blocking); returns the base URL.

        Raises:
            ConfigError, GatewayStartError: it could not start (written for people).
            TimeoutError: it did not start in time.
        """
        return self._thread.start(timeout)

    def stop(self, timeout: float) -> None:
        """Stop serving, let in-flight requests drain (bounded), join its thread (blocking)."""
        self._thread.stop(timeout)

    @property
    def is_running(self) -> bool:
        return self._thread.is_running

    def status(self, timeout: float = 5.0) -> GatewayStatus | None:
        """A frozen copy of the running gateway's state, made on its own thread: at once when called
        from an event callback, else blocking. ``None`` while it starts, before it has a config.

        Raises:
            GatewayNotRunning: it is not running (not started, failed, or stopped).
        """
        return self._thread.read(_status_of, timeout)

    def set_paused(self, paused: bool) -> None:
        """Pause (model requests get 503 ``paused``) or resume: a plain flag, quick from any thread."""
        self._thread.gateway.paused = paused

    # -- the config --------------------------------------------------------------------------------

    def update_config(self, summary: str, mutate: Callable[[dict[str, Any]], None]) -> str:
        """Change the config in force (``mutate`` edits its plain-data form on the gateway loop), save
        it as a version and apply it (blocking). Returns what was done, for people."""
        return self._thread.update_config(summary, mutate).result(ANSWER_TIMEOUT)

    def update_config_offline(self, summary: str, mutate: Callable[[dict[str, Any]], None]) -> str:
        """The same for a gateway that is not running: the file changes, for the next start (blocking)."""
        return self._thread.update_config_offline(summary, mutate)

    def config_on_file(self) -> GatewayConfig:
        """The config the next start would use (blocking: files)."""
        return self._thread.config_on_file()

    def previous_version(self) -> Version | None:
        """The version before the one in force (blocking: files)."""
        return self._thread.previous_version()

    def use_free_port(self) -> str:
        """Save the file's config with the first free port after its own (blocking; not running)."""
        return self._thread.use_free_port()

    def use_previous_version(self) -> str:
        """Put the version before the latest back in the file (blocking; not running)."""
        return self._thread.use_previous_version()

    def history(self) -> list[Version]:
        """All kept config versions, oldest first (blocking: files)."""
        return self._thread.config_history()

    def diff(self, number: int) -> str:
        """Version ``number`` against the one before it, as a unified diff (blocking: files)."""
        return self._thread.config_diff(number)

    def rollback(self, number: int) -> str:
        """Make version ``number`` the one in force again, saved as a new version (blocking)."""
        return self._thread.rollback_config(number).result(ANSWER_TIMEOUT)

    # -- providers ---------------------------------------------------------------------------------

    def save_provider(self, provider: ProviderConfig, key: str | None) -> str:
        """Add or replace a provider, its key (if any) going to the OS keychain (blocking)."""
        return self._thread.save_provider(provider, key).result(ANSWER_TIMEOUT)

    def delete_provider(self, provider_id: str) -> str:
        """Remove a provider no route uses, and its key from the keychain (blocking)."""
        return self._thread.delete_provider(provider_id).result(ANSWER_TIMEOUT)

    def test_key(self, provider_id: str) -> KeyTestResult:
        """Ask the provider whether its key is accepted (blocking; never raises)."""
        try:
            return KeyTestResult.of(self._thread.test_provider_key(provider_id).result(ANSWER_TIMEOUT))
        except Exception as exc:  # not running, no answer in time: say what happened
            return KeyTestResult.failed(for_people(exc))

    def fetch_models(self, provider_id: str) -> ModelList:
        """The provider's own model list, asked with its key (blocking; never raises)."""
        try:
            return self._thread.fetch_models(provider_id).result(ANSWER_TIMEOUT)
        except Exception as exc:
            return ModelList(False, (), f"Could not ask {provider_id}: {exc}")

    def find_local_servers(self) -> tuple[LocalServer, ...]:
        """Ollama / LM Studio servers answering on this computer (blocking; never raises: on any
        trouble nothing is found, which is the honest answer)."""
        try:
            return tuple(self._thread.find_local_servers().result(QUICK_TIMEOUT))
        except Exception:  # not running, or stopping
            log.info("could not look for local model servers", exc_info=True)
            return ()

    @property
    def local_server_addresses(self) -> dict[str, str] | None:
        """Where :meth:`find_local_servers` looks (preset -> base URL); ``None``: the usual ports."""
        return self._thread.local_server_addresses

    @local_server_addresses.setter
    def local_server_addresses(self, addresses: dict[str, str] | None) -> None:
        self._thread.local_server_addresses = addresses

    # -- routes ------------------------------------------------------------------------------------

    def test_route(self, route: str) -> RouteTestResult:
        """Send a short request through ``route`` like a client would (blocking; never raises)."""
        try:
            return self._thread.test_route(route).result(ROUTE_TEST_TIMEOUT + 5)
        except Exception as exc:
            return RouteTestResult(False, 0, route, message=f"{type(exc).__name__}: {exc}")

    def simulate_failure(self, provider: str, model: str, fault: str, count: int) -> dict[str, list[str]]:
        """Arm a simulated failure (memory only, quick from any thread); returns what is pending.
        Raises ``ValueError`` for an unknown fault or count."""
        return self._thread.simulate_failure(provider, model, fault, count)

    def clear_simulated(self) -> dict[str, list[str]]:
        return self._thread.clear_simulated()

    def pending_simulated(self) -> dict[str, list[str]]:
        """Simulated failures still to come, per ``provider/model`` (quick from any thread)."""
        return self._thread.pending_simulated()

    # -- access keys -------------------------------------------------------------------------------

    def client_access_key(self) -> str:
        """The access key a local client (the app itself) should send, ``""`` when none can be shown
        (blocking: the keychain)."""
        return self._thread.client_access_key()

    def access_keys(self) -> tuple[AccessKeyRow, ...]:
        """The access keys with when each was last used; never their values (blocking)."""
        listed = self._thread.list_access_keys().result(QUICK_TIMEOUT)
        return tuple(AccessKeyRow(info.name, info.hint, info.created, used) for info, used in listed)

    def create_access_key(self, name: str) -> NewAccessKey:
        """A new access key, in force at once (blocking). Raises ``ValueError`` (for people) on a bad
        or taken name."""
        value, kept = self._thread.create_access_key(name).result(QUICK_TIMEOUT)
        return NewAccessKey(name, value, kept)

    def revoke_access_key(self, name: str) -> bool:
        """Revoke an access key at once (blocking); False if there was none by that name."""
        return self._thread.revoke_access_key(name).result(QUICK_TIMEOUT)

    # -- the request log: read on the caller's thread, through its own SQLite connection --------

    def recent_requests(self, limit: int) -> list[RequestRecord]:
        """The newest ``limit`` log rows, oldest first (blocking)."""
        return read_recent(self.paths.log_db, limit)

    def log_page(self, limit: int, before: tuple[float, str] | None = None) -> list[RequestRecord]:
        """Rows without bodies, oldest first: the newest ``limit``, or those started before
        ``before`` (``(started_at, id)``) (blocking)."""
        return read_page(self.paths.log_db, limit, before)

    def log_record(self, request_id: str) -> RequestRecord | None:
        """One row with its bodies; ``None`` until it is written (blocking)."""
        return read_record(self.paths.log_db, request_id)

    def dashboard(self, range_key: str, config: GatewayConfig | None) -> dashboard.DashboardData:
        """What the dashboard shows for ``range_key`` (see :data:`dashboard.RANGES`), budgets from
        ``config`` (blocking; read-only connections of its own)."""
        return dashboard.load(self.paths.log_db, config, range_key)


def _status_of(gateway: Gateway) -> GatewayStatus | None:
    snapshot = gateway.snapshot
    if snapshot is None:
        return None
    return GatewayStatus(snapshot.config, gateway.base_url, gateway.created_access_key is not None)
