"""One Switchboard at a time: a lock file plus a local socket to wake the first instance.

A second launch fails to take the lock, sends "activate" to the first instance's local server,
and exits; the first one shows its window. A lock left by a killed process is taken over (only a
dead PID makes a lock stale, never its age).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket


class SingleInstance(QObject):
    """Signals:
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

    def acquire(self) -> bool:
        """Become the instance; ``False`` (after waking the other one) if one already runs."""
        if not self._lock.tryLock(100):
            socket = QLocalSocket()
            socket.connectToServer(self.name)
            if socket.waitForConnected(1000):
                socket.write(b"activate\n")
                socket.flush()
                socket.waitForBytesWritten(1000)
                socket.disconnectFromServer()
            return False
        QLocalServer.removeServer(self.name)  # safe now that we hold the lock (stale socket after a crash)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.listen(self.name)
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _on_connection(self) -> None:
        assert self._server is not None
        socket = self._server.nextPendingConnection()
        if socket is None:
            return

        def on_ready() -> None:
            if bytes(socket.readAll().data()).startswith(b"activate"):
                self.activated.emit()
            socket.disconnectFromServer()

        socket.readyRead.connect(on_ready)

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()
