"""One Switchboard at a time: a lock file, plus a local socket to wake the first instance.

A second copy would fight the first over the port and the log. So a second launch fails to take
the lock, sends ``activate`` to the first instance's local server and exits; the first one shows
itself. A lock left by a killed process is taken over: only a dead PID makes a lock stale, never
its age.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)
ACTIVATE = b"activate\n"


class SingleInstance(QObject):
    """The lock and the wake-up channel for one state directory.

    Signals:
        activated(): another launch asked this instance to show itself.
    """

    activated = Signal()

    def __init__(self, state_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        state_dir.mkdir(parents=True, exist_ok=True)
        # one name per state directory, so isolated runs (--home) do not see each other
        digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
        self.name = f"switchboard-{digest}"
        self._lock = QLockFile(str(state_dir / "switchboard.lock"))
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None

    @property
    def is_primary(self) -> bool:
        return self._server is not None

    def acquire(self) -> bool:
        """Become the running instance. If one already runs, ask it to show itself and return
        ``False``; the caller should then exit."""
        if not self._lock.tryLock(100):
            self._wake_primary()
            return False
        QLocalServer.removeServer(self.name)  # safe now that we hold the lock (stale socket after a crash)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):  # still the instance; a second launch just cannot wake us
            log.warning("single instance: cannot listen on %s: %s", self.name, server.errorString())
        server.newConnection.connect(self._on_new_connection)
        self._server = server
        return True

    def _wake_primary(self) -> None:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(1000):
            log.warning("another Switchboard holds the lock but does not answer (%s)", socket.errorString())
            return
        socket.write(ACTIVATE)
        socket.flush()
        socket.waitForBytesWritten(1000)
        socket.disconnectFromServer()

    def _on_new_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.disconnected.connect(socket.deleteLater)
            # a method plus sender(), not a lambda holding the socket: with deleteLater, such a
            # lambda crashed PySide 6.12 (segfault in the test run when the socket was deleted)
            socket.readyRead.connect(self._on_ready_read)

    def _on_ready_read(self) -> None:
        socket = self.sender()
        if not isinstance(socket, QLocalSocket):
            return
        if bytes(socket.readAll().data()).startswith(ACTIVATE.strip()):
            self.activated.emit()
        socket.disconnectFromServer()

    def release(self) -> None:
        """Stop listening and drop the lock (at exit)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()
