"""The config in force, changing it, and its versions (for the tray, Settings, Routing, Providers).

Every change is saved as a config version and applied to the running gateway; after a failed
start it goes to the config file instead and the gateway starts again with it (the Settings page
is the way out then). History, diffs and rollback are read on workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.worker import answer, deliver, logged
from proxy.api import GatewayConfig, RouteConfig, Version


class ConfigService(QObject):
    """The config in force is the bridge's (``bridge.config_applied`` says when it changed).

    Signals:
    answered(str, bool, str): the answer to a change (:meth:`update`, :meth:`rollback`, or a
        provider saved or deleted through :meth:`answer`): its action (``"config"`` unless the
        caller names its own, e.g. ``"route"``, ``"save:ID"``, ``"rollback"``), whether it was
        saved and applied, and a message for people (never containing a key).
    history_loaded(object): the answer to :meth:`load_history`: config versions, oldest first.
    diff_loaded(int, str): the answer to :meth:`load_diff`: a version and its unified diff
        against the version before it (or, when it cannot be read, a message saying why).
    """

    answered = Signal(str, bool, str)
    history_loaded = Signal(object)
    diff_loaded = Signal(int, str)

    def __init__(self, bridge: GatewayLifecycle) -> None:
        super().__init__(bridge)
        self._bridge = bridge
        self._api = bridge.api

    @property
    def current(self) -> GatewayConfig | None:
        """The config in force (a frozen copy kept by the bridge), ``None`` before the first start."""
        status = self._bridge.status
        return status.config if status is not None else None

    def routes(self) -> list[RouteConfig]:
        """The routes of the config in force, or ``[]`` before start."""
        config = self.current
        return list(config.routes) if config is not None else []

    def default_route(self) -> str | None:
        """The route that takes unknown model names, if any."""
        config = self.current
        return config.default_route if config is not None else None

    def update(self, summary: str, mutate: Callable[[dict[str, Any]], None], action: str = "config") -> None:
        """Change the config: ``mutate`` edits its plain-data form (on the gateway loop), the result is
        checked, saved as a version and applied; ``answered(action, ...)`` follows.

        After a failed start the change goes to the config file instead and the gateway is started
        again with it: ``answered`` then ``started`` or ``start_failed`` follow."""
        bridge = self._bridge
        if bridge.is_down:

            def report(ok: bool, message: str) -> None:  # worker thread
                self.answered.emit(action, ok, f"{message}. Starting the gateway…" if ok else message)

            bridge.change_file_and_start(lambda: self._api.update_config_offline(summary, mutate), report)
            return
        self.answer(action, lambda: self._api.update_config(summary, mutate))

    def answer(self, action: str, command: Callable[[], object]) -> None:
        """Run a config change on a worker; ``answered(action, ...)`` follows."""
        answer(self.answered, action, command, "switchboard-bridge-provider")

    def rollback(self, number: int) -> None:
        """Put config version ``number`` back in force; ``answered("rollback", ...)`` follows."""
        self.answer("rollback", lambda: self._api.rollback(number))

    def load_history(self) -> None:
        """Read the config versions on a worker thread; ``history_loaded`` follows."""
        failed: Callable[[Exception], list[Version]] = logged("could not read the config history", [])
        deliver("switchboard-bridge-history", self._api.history, self.history_loaded.emit, failed)

    def load_diff(self, number: int) -> None:
        """Read version ``number``'s diff on a worker thread; ``diff_loaded`` follows."""
        deliver(
            "switchboard-bridge-diff",
            lambda: self._api.diff(number),
            lambda text: self.diff_loaded.emit(number, text),
            lambda exc: f"Cannot show version {number}: {exc}",
        )
