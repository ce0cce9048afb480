"""Connect a tool: plan (the diff), Apply, Restore, Check and the remembered state, on workers.

The tool files live under :attr:`ConnectService.home` (the user's home; tests set a temporary
one) and the state file in the app's data dir (:attr:`proxy.api.StatePaths.connect_state`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.worker import in_worker
from proxy.api import connect, for_people

log = logging.getLogger(__name__)


class ConnectService(QObject):
    """Signals (each answers one call, with the tool's id first):

    planned(str, object): a ``connect.Plan``, or a message for people (str) when it cannot be made.
    applied(str, bool, str): Apply finished: whether it worked, and what was done (or why not).
    restored(str, bool, str): the same for Restore.
    checked(str, object): a ``connect.CheckResult``.
    state_read(object): ``{tool id: connect.Applied}`` for the tools Connect applied.
    """

    planned = Signal(str, object)
    applied = Signal(str, bool, str)
    restored = Signal(str, bool, str)
    checked = Signal(str, object)
    state_read = Signal(object)

    def __init__(self, bridge: GatewayLifecycle) -> None:
        super().__init__(bridge)
        self.home: Path | None = None
        """Where the tools' config files live; ``None``: the user's home."""
        self.env: Mapping[str, str] | None = None
        """The environment that says where (``CODEX_HOME``, ``XDG_CONFIG_HOME``); ``None``: os.environ."""
        path = bridge.api.paths.connect_state
        assert path is not None
        self.state = connect.ConnectState(path)

    def setups(self, conn: connect.Connection) -> list[connect.ToolSetup]:
        """Every tool's setup (no disk: quick on the GUI thread)."""
        return connect.setups(conn, home=self.home, env=self.env)

    def read_state(self) -> None:
        def work() -> None:
            try:
                applied = self.state.read()
            except Exception:
                log.warning("could not read what Connect applied", exc_info=True)
                applied = {}
            self.state_read.emit(applied)

        in_worker("switchboard-connect-state", work)

    def plan(self, tool: connect.ToolSetup, conn: connect.Connection) -> None:
        def work() -> None:
            try:
                self.planned.emit(tool.id, connect.plan(tool, conn, self.state))
            except Exception as exc:
                self.planned.emit(tool.id, for_people(exc) if not isinstance(exc, connect.ConnectError) else str(exc))

        in_worker("switchboard-connect-plan", work)

    def apply(self, tool: connect.ToolSetup, conn: connect.Connection, expected: connect.Plan | None) -> None:
        def work() -> None:
            try:
                self.applied.emit(tool.id, True, connect.apply(tool, conn, self.state, expected))
            except Exception as exc:
                self.applied.emit(tool.id, False, _why(exc))
            self.read_state()

        in_worker("switchboard-connect-apply", work)

    def restore(self, tool: connect.ToolSetup) -> None:
        def work() -> None:
            try:
                self.restored.emit(tool.id, True, connect.restore(tool, self.state))
            except Exception as exc:
                self.restored.emit(tool.id, False, _why(exc))
            self.read_state()

        in_worker("switchboard-connect-restore", work)

    def check(self, tool: connect.ToolSetup, conn: connect.Connection) -> None:
        in_worker("switchboard-connect-check", lambda: self.checked.emit(tool.id, connect.check(tool, conn)))


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, connect.ConnectError) else for_people(exc)
