"""The tray app: what ``switchboard`` runs when there is a display.

QApplication on the main thread, the gateway on its own thread (through :class:`GatewayBridge`),
one instance per state directory. Closing windows keeps the tray. Quit happens in stages: the
tray shows "stopping", the bridge stops the gateway on a worker thread (in-flight requests drain,
bounded), and only its ``stopped`` signal ends the event loop, so the GUI never blocks. Where the
desktop has no system tray, a small window stands in for it and says why.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from desktop.notify import WARNING, Notice, Notifier
from desktop.resources import app_icon
from desktop.services import GatewayBridge
from desktop.single_instance import SingleInstance
from desktop.tray import TrayIcon
from desktop.widgets.placement import Placement
from desktop.windows.first_run import FirstRunWizard
from desktop.windows.main import MainWindow
from desktop.windows.status import StatusWindow
from proxy.api import GatewayOptions, Home, RequestFinished, install_log_redaction

log = logging.getLogger(__name__)


class TrayApp(QObject):
    """The tray icon, the status window and the bridge, wired together.

    Signals:
        finished(int): the gateway has stopped after :meth:`quit`; the argument is the exit code
            (1 when the gateway never started, else 0).
    """

    finished = Signal(int)

    def __init__(self, options: GatewayOptions, *, has_tray: bool | None = None) -> None:
        super().__init__()
        self.has_tray = QSystemTrayIcon.isSystemTrayAvailable() if has_tray is None else has_tray
        self.bridge = GatewayBridge(options, self)
        self.tray = TrayIcon(self.bridge)
        self.window = StatusWindow(self.bridge, has_tray=self.has_tray)
        self.main = MainWindow(self.bridge)
        self.placement = Placement(self.main, Home.resolve(options.home).cache_dir / "window.json")
        self.placement.restore()  # where it was last time, moved onto a screen that exists now
        self.tray.page_requested.connect(self.main.show_page)
        self.notifier = Notifier()
        self.last_notice: Notice | None = None
        self.wizard: FirstRunWizard | None = None
        self.bridge.alert.connect(self.notify)
        self.bridge.request_finished.connect(lambda record: self.notify(RequestFinished(record)))
        self.is_quitting = False
        self._has_failed = False
        self.tray.quit_requested.connect(self.quit)
        self.window.quit_requested.connect(self.quit)
        self.window.settings_requested.connect(lambda: self.main.show_page("Settings"))
        self.bridge.started.connect(self.on_started)
        self.bridge.start_failed.connect(self.on_start_failed)
        self.bridge.stopped.connect(self.on_stopped)

    def start(self) -> None:
        """Show the tray icon (and the window if there is no tray), then start the gateway."""
        self.tray.show()  # without a tray now, Qt docks the icon if one appears later (X11)
        if not self.has_tray:
            self.show_window()
        self.bridge.start()

    def show_window(self) -> None:
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def notify(self, event: object) -> None:
        """Show a desktop notification for ``event`` if it deserves one now (see desktop/notify.py)."""
        notice = self.notifier.on_event(event)
        if notice is None or self.is_quitting:
            return
        icon = (
            QSystemTrayIcon.MessageIcon.Warning if notice.level == WARNING else QSystemTrayIcon.MessageIcon.Information
        )
        self.last_notice = notice
        self.tray.showMessage(notice.title, notice.message, icon, 8000)

    def quit(self) -> None:
        """Stop the gateway without blocking; ``finished`` follows once it has stopped."""
        if self.is_quitting:
            return
        self.is_quitting = True
        log.info("quitting: stopping the gateway")
        self.tray.set_state("stopping")
        self.window.on_stopping()
        self.bridge.stop()

    def on_started(self, url: str) -> None:
        self._has_failed = False  # recovered from a failed start
        if self.bridge.has_created_access_key:  # first run: the wizard, and say where the key is
            self.wizard = FirstRunWizard(self.bridge)
            self.wizard.connect_requested.connect(lambda: self.main.show_page("Connect a tool"))
            self.wizard.show()
            self.tray.showMessage(
                "Switchboard is ready",
                f"Endpoint {url}/v1. Your tools need the access key: use “Copy access key” in this menu.",
                QSystemTrayIcon.MessageIcon.Information,
                8000,
            )

    def on_start_failed(self, message: str) -> None:
        log.error("the gateway could not start: %s", message)
        self._has_failed = True
        self.show_window()

    def on_stopped(self) -> None:
        if not self.is_quitting:
            return
        self.tray.hide()
        self.window.hide()
        self.main.hide()
        self.finished.emit(1 if self._has_failed else 0)


def quit_on_signals(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on the GUI thread on SIGINT/SIGTERM; returns a function that undoes it.

    Python runs signal handlers only when it gets control, and Qt's event loop rarely gives it.
    ``signal.set_wakeup_fd`` writes to a socket that a QSocketNotifier watches, so Ctrl+C and
    ``kill`` quit cleanly without a polling timer waking the app up.
    """
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)

    sigs = (signal.SIGINT, signal.SIGTERM)

    def on_wakeup() -> None:
        try:
            received = reader.recv(64)  # one byte per signal: its number
        except OSError:
            return
        if any(s in received for s in sigs):
            callback()

    notifier.activated.connect(on_wakeup)
    previous = {s: signal.signal(s, lambda *_: None) for s in sigs}  # the wakeup fd does the work

    def restore() -> None:
        notifier.setEnabled(False)
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(previous_fd)
        reader.close()
        writer.close()

    return restore


def run_tray(options: GatewayOptions) -> int:
    """Run the tray app until the user quits; returns the process exit code.

    A second launch for the same state directory asks the running one to show its window and
    returns 0 at once.
    """
    if not logging.getLogger().handlers:  # `switchboard` sets logging up; direct callers may not
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()  # keys never reach stderr, also from uncaught exceptions
    app = QApplication.instance() or QApplication(sys.argv[:1])  # our options are not Qt's
    assert isinstance(app, QApplication)
    app.setApplicationName("Switchboard")
    app.setDesktopFileName("switchboard")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # tray-first: closing the status window keeps running

    instance = SingleInstance(Home.resolve(options.home).cache_dir)
    if not instance.acquire():
        print("Switchboard is already running; asked it to show its window.", file=sys.stderr)
        return 0
    tray_app = TrayApp(options)
    instance.activated.connect(tray_app.show_window)
    tray_app.finished.connect(app.exit)
    restore_signals = quit_on_signals(tray_app.quit)
    tray_app.start()
    try:
        return app.exec()
    finally:
        restore_signals()
        instance.release()
