"""The main window: a sidebar of pages. Closing it hides it; the tray keeps running.

Each page lives in its own module under ``desktop/windows/`` and gets the bridge; pages not built
yet keep their place with a note saying what to use meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from desktop import autostart
from desktop.bridge import GatewayBridge
from desktop.resources import app_icon
from desktop.windows.connect import ConnectPage
from desktop.windows.log import LogPage
from desktop.windows.providers import ProvidersPage
from desktop.windows.settings import SettingsPage
from desktop.windows.status import plain_label as _label

PAGES = ("Providers & keys", "Routing", "Request log", "Dashboard", "Playground", "Connect a tool", "Settings")
COMING = {
    "Routing": "The visual routing editor comes next. Until then, routes live in config.json "
    "(`switchboard config path`), and edits apply at once.",
    "Request log": "The live request log comes next. Until then: `switchboard logs --follow`.",
    "Dashboard": "Charts come next. Until then: `switchboard stats --since 24h`.",
    "Playground": "The playground comes next. Until then, any OpenAI or Anthropic client works against the endpoint.",
}


def page_factories(starter: autostart.Autostart | None) -> dict[str, Callable[[GatewayBridge], QWidget]]:
    """Page name -> constructor taking the bridge; a page missing here shows its ``COMING`` note."""
    return {
        "Providers & keys": ProvidersPage,
        "Connect a tool": ConnectPage,
        "Request log": LogPage,
        "Settings": lambda bridge: SettingsPage(bridge, starter),
    }


def _coming(name: str) -> QWidget:
    page = QWidget()
    inner = QVBoxLayout(page)
    inner.addWidget(_label(COMING[name]))
    inner.addStretch(1)
    return page


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
        self.sidebar.setStyleSheet("QListWidget::item { padding: 7px 10px; }")  # roomier, palette colours kept
        factories = page_factories(starter)
        for row, name in enumerate(PAGES):
            if name not in factories:
                self.sidebar.item(row).setToolTip("Coming next")
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for name in PAGES:
            make = factories.get(name)
            page = make(bridge) if make is not None else _coming(name)
            self.pages[name] = page
            self.stack.addWidget(page)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        self.resize(900, 560)
        self.sidebar.currentRowChanged.connect(self._on_row)
        self.sidebar.setCurrentRow(0)

    def _on_row(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        if row == PAGES.index("Connect a tool") and self.bridge.base_url and not self.pages_key_known():
            self.bridge.fetch_access_key()  # the keychain may block: the bridge reads it on a worker
        self.page_shown.emit(PAGES[row])

    def pages_key_known(self) -> bool:
        page = self.pages["Connect a tool"]
        return isinstance(page, ConnectPage) and bool(page.key)

    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGES.index(name))
        self.show()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        event.ignore()
        self.hide()  # the tray keeps running
