"""The main window: a sidebar of pages. Closing it hides it; the tray keeps running.

Each page lives in its own module under ``desktop/windows/`` and gets the bridge.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from desktop import autostart
from desktop.resources import app_icon
from desktop.services import GatewayBridge
from desktop.widgets.cards import scaled_label
from desktop.windows.connect import ConnectPage
from desktop.windows.dashboard import DashboardPage
from desktop.windows.log import LogPage
from desktop.windows.playground import PlaygroundPage
from desktop.windows.providers import ProvidersPage
from desktop.windows.routing import RoutingPage
from desktop.windows.settings import SettingsPage

PAGES = ("Providers & keys", "Routing", "Request log", "Dashboard", "Playground", "Connect a tool", "Settings")


SUBTITLES = {
    "Providers & keys": "Where requests go. Keys are kept in your OS keychain, never in files.",
    "Routing": "The model names your tools ask for, and where each one goes.",
    "Request log": "Every request as it happens. Select one to see its attempts and bodies.",
    "Connect a tool": "Ready-made setups for the tools you use, with this computer's endpoint and key.",
    "Settings": "How Switchboard runs on this computer.",
}
"""Pages that do not draw their own title get it here, with this line under it."""


def _titled(name: str, page: QWidget) -> QWidget:
    """``page`` under a title and a one-line subtitle, like the pages that draw their own."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 12, 0, 0)
    layout.setSpacing(0)
    inner = page.layout()
    indent = inner.contentsMargins().left() if inner is not None else 9  # in line with the page's content
    header = QVBoxLayout()
    header.setContentsMargins(indent, 0, indent, 2)
    header.setSpacing(0)
    header.addWidget(scaled_label(name, 1.5, bold=True))
    header.addWidget(scaled_label(SUBTITLES[name], faint=True))
    layout.addLayout(header)
    layout.addWidget(page, 1)
    return box


def page_factories(starter: autostart.Autostart | None) -> dict[str, Callable[[GatewayBridge], QWidget]]:
    """Page name -> constructor taking the bridge, for every name in ``PAGES``."""
    return {
        "Providers & keys": ProvidersPage,
        "Routing": RoutingPage,
        "Connect a tool": ConnectPage,
        "Dashboard": DashboardPage,
        "Playground": PlaygroundPage,
        "Request log": LogPage,
        "Settings": lambda bridge: SettingsPage(bridge, starter),
    }


class MainWindow(QMainWindow):
    """Signals:
    page_shown(str): the page now showing.
    """

    page_shown = Signal(str)

    def __init__(self, bridge: GatewayBridge, starter: autostart.Autostart | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(app_icon())
        self.sidebar = QListWidget()
        self.sidebar.addItems(PAGES)
        self.sidebar.setFixedWidth(180)
        self.sidebar.setAccessibleName("Pages")
        self.sidebar.setFrameShape(QListWidget.Shape.NoFrame)
        # roomier rows from size hints, not a style sheet: a style sheet fixes the colours it was
        # resolved with, so the sidebar stayed light when the system turned dark
        self.sidebar.setSpacing(2)
        for row in range(self.sidebar.count()):
            item = self.sidebar.item(row)
            item.setSizeHint(QSize(0, self.sidebar.fontMetrics().height() + 16))
        factories = page_factories(starter)
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for name in PAGES:
            page = factories[name](bridge)
            self.pages[name] = page
            self.stack.addWidget(_titled(name, page) if name in SUBTITLES else page)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        self.resize(900, 560)
        self.sidebar.currentRowChanged.connect(self._on_row)
        connect_page = self.pages["Connect a tool"]
        if isinstance(connect_page, ConnectPage):  # "Settings → New key" when there is no key to show
            connect_page.settings_requested.connect(lambda: self.show_page("Settings"))
        self.sidebar.setCurrentRow(0)

    def _on_row(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        if row == PAGES.index("Connect a tool") and self.bridge.base_url and not self.pages_key_known():
            self.bridge.access_keys.fetch_client_key()  # the keychain may block: the bridge reads it on a worker
        self.page_shown.emit(PAGES[row])

    def pages_key_known(self) -> bool:
        page = self.pages["Connect a tool"]
        return isinstance(page, ConnectPage) and bool(page.key)

    def current_page(self) -> QWidget:
        """The page showing (the page itself, not the titled frame around it)."""
        return self.pages[PAGES[self.stack.currentIndex()]]

    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGES.index(name))
        self.show()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        event.ignore()
        self.hide()  # the tray keeps running
