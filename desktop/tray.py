"""The tray icon and its menu, rebuilt each time it opens so it shows live state.

Menu texts are plain text. Model names and error messages come from clients, upstreams and
config files, so ``&`` is doubled (Qt would take it as a mnemonic) and long values are elided.
Tooltips always start with a fixed line of ours: Qt decides "rich text or not" from the first
line only, so untrusted text on later lines is shown as typed.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Literal

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QCursor, QGuiApplication
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.resources import IconState, tray_icon
from desktop.services import GatewayBridge
from proxy.api import RequestRecord

TrayState = Literal["starting", "running", "error", "stopping"]
RECENT_SHOWN = 5
NOTICE_MS = 2500
NO_KEY_SHOWN = (
    "The access key cannot be shown again: no keychain keeps it on this computer. "
    "Make a new one in Settings → Access keys (New key), copy it, and give it to your tools."
)


def menu_text(text: str, limit: int = 60) -> str:
    """``text`` made safe for a QAction: one line, elided to ``limit``, ``&`` shown as itself."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line.replace("&", "&&")


def describe(record: RequestRecord) -> str:
    """One line for a request: time, model, status, latency (plain text, not yet escaped)."""
    when = datetime.fromtimestamp(record.started_at).strftime("%H:%M:%S")
    model = (record.requested_model or record.surface or "-")[:32]
    took = f"{record.latency_ms:,.0f} ms" if record.latency_ms is not None else "–"
    status = record.status if record.status == "ok" else f"{record.status} {record.http_status}"
    return f"{when} · {model} · {status} · {took}"


def details(record: RequestRecord) -> str:
    """A request's tooltip: its ID, where it went, tokens, error (plain text)."""
    lines = [f"Request {record.id}: click to copy its ID"]
    if record.route:
        target = "/".join(filter(None, [record.provider, record.upstream_model]))
        lines.append(f"Route {record.route}" + (f" → {target}" if target else ""))
    if record.tokens_in is not None or record.tokens_out is not None:
        lines.append(f"Tokens {record.tokens_in or 0:,} in, {record.tokens_out or 0:,} out")
    if record.error:
        lines.append(f"Error: {record.error[:200]}")
    return "\n".join(lines)


def panel_is_dark(sampled: QColor | None, scheme: Qt.ColorScheme, platform: str = sys.platform) -> bool:
    """Whether the panel the icon sits on is dark: its own pixels where they could be read (the
    tray's background on X11), else the desktop's colour scheme, else the usual panel of the OS
    (Linux panels are mostly dark). Never the app's theme: a dark app on a light panel still gets
    dark ink."""
    if sampled is not None and sampled.isValid():
        return sampled.lightness() < 128
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return platform.startswith("linux")


class TrayIcon(QSystemTrayIcon):
    """Switchboard in the system tray.

    Signals:
        quit_requested(): the user chose Quit (the app stops the gateway, then exits).
        page_requested(str): the user chose a page of the main window ("Providers & keys",
            "Request log", "Connect a tool", "Settings").
    """

    quit_requested = Signal()
    page_requested = Signal(str)

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.state: TrayState = "starting"
        self.error: str | None = None
        self._copy_key_asked = False  # the key is fetched for other pages too: copy only when asked here
        self.menu = QMenu()  # one menu, cleared and refilled on every open (no GC surprises)
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.setContextMenu(self.menu)
        # Trays that show the menu over D-Bus (StatusNotifierItem: KDE, GNOME's AppIndicator)
        # never send aboutToShow: keep the menu current when the state changes, at most once a
        # second, and not while it is open
        self._menu_refresh = QTimer(self)
        self._menu_refresh.setSingleShot(True)
        self._menu_refresh.setInterval(1000)
        self._menu_refresh.timeout.connect(self._refresh_menu)
        bridge.config_applied.connect(lambda *_: self._menu_refresh.start())
        bridge.request_finished.connect(lambda _r: self._menu_refresh.isActive() or self._menu_refresh.start())
        self.activated.connect(self.on_activated)
        bridge.started.connect(self.on_started)
        bridge.start_failed.connect(self.on_start_failed)
        bridge.request_finished.connect(self.on_request_finished)
        bridge.request_logged.connect(self.on_request_finished)  # its cost is known now
        bridge.access_keys.client_key_fetched.connect(self.on_access_key_fetched)
        bridge.paused_changed.connect(lambda _paused: self.set_state(self.state, self.error))
        # the icon's ink contrasts with the panel: redraw it when the desktop turns dark or light
        # (the colour scheme where the platform reports one, else the palette tells)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.on_color_scheme_changed)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.paletteChanged.connect(self.on_color_scheme_changed)
        self.set_state("starting")  # draws the icon and fills the menu

    # -- state -------------------------------------------------------------------------------------

    def set_state(self, state: TrayState, error: str | None = None) -> None:
        self.state, self.error = state, error
        running = state == "running" and not self.bridge.paused
        self.icon_state: IconState = "running" if running else "error" if state == "error" else "paused"
        self.on_dark_panel = panel_is_dark(self.panel_color(), QGuiApplication.styleHints().colorScheme())
        self.setIcon(tray_icon(self.icon_state, dark=self.on_dark_panel))
        self.update_tooltip()
        self._refresh_menu()

    def panel_color(self) -> QColor | None:
        """The panel's colour behind the icon, read from the screen where the tray says where the
        icon is (X11 docks report it; a 1-pixel border of a small area: quick), else ``None``."""
        where = self.geometry()
        if where.isEmpty() or QGuiApplication.platformName() != "xcb":
            return None
        screen = QGuiApplication.screenAt(where.center())
        if screen is None:
            return None
        image = screen.grabWindow(0, where.x(), where.y(), where.width(), where.height()).toImage()
        if image.isNull():
            return None
        w, h = image.width(), image.height()
        corners = [image.pixelColor(x, y) for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
        lightness = sum(c.lightness() for c in corners) // len(corners)
        return QColor.fromHsl(0, 0, lightness)

    def _refresh_menu(self) -> None:
        if not self.menu.isVisible():
            self.rebuild_menu()

    def on_color_scheme_changed(self, _scheme: object) -> None:
        self.set_state(self.state, self.error)

    def on_started(self, url: str) -> None:
        if self.state != "stopping":
            self.set_state("running")

    def on_start_failed(self, message: str) -> None:
        self.set_state("error", message)  # the app also opens its window with the message

    def on_request_finished(self, record: RequestRecord) -> None:
        self.update_tooltip()

    def requests_today(self) -> str:
        """ "12 requests today" ("500+" when the start-up read hit its limit)."""
        count = self.bridge.activity.requests_today
        plus = "+" if self.bridge.activity.is_today_partial else ""
        noun = "request" if count == 1 and not plus else "requests"
        return f"{count:,}{plus} {noun} today"

    def status_line(self) -> str:
        """The menu's first line: how the gateway is doing (plain text, not yet escaped)."""
        if self.state == "running":
            where = self.bridge.base_url or "?"
            doing = f"Paused on {where}" if self.bridge.paused else f"Running on {where}"
            return f"{doing} · {self.requests_today()}"
        if self.state == "error":
            return f"Not running: {self.error or 'unknown error'}"
        return "Stopping…" if self.state == "stopping" else "Starting…"

    def update_tooltip(self) -> None:
        if self.state == "running":
            spend = self.bridge.activity.spend_today
            money = f"${spend:,.2f}" if spend >= 0.01 or spend == 0 else "under $0.01"
            text = f"Switchboard — {self.bridge.base_url}\n{self.requests_today()}, {money} spent"
            if self.bridge.paused:
                text += "\nPaused: tools get '503 paused' until you resume"
        elif self.state == "error":
            text = f"Switchboard — not running\n{self.error or ''}".rstrip()
        elif self.state == "stopping":
            text = "Switchboard — stopping…"
        else:
            text = "Switchboard — starting…"
        self.setToolTip(text)

    # -- menu --------------------------------------------------------------------------------------

    def rebuild_menu(self) -> None:
        menu = self.menu
        menu.clear()
        url = self.bridge.base_url
        status = menu.addAction(menu_text(self.status_line(), 80))  # first, a line to read, not to click
        status.setEnabled(False)
        if self.state == "error":
            status.setToolTip(f"Why the gateway could not start:\n{self.error or ''}")
        if self.state == "running" and url:
            endpoint = menu.addAction(f"{url}/v1\tCopy")  # after a tab: the hint column
            endpoint.setToolTip("Copy the endpoint (OpenAI base URL) to the clipboard")
            endpoint.triggered.connect(self.copy_endpoint)
            key = menu.addAction("Copy access key")
            key.setToolTip("Copy the key your tools send as their API key")
            key.triggered.connect(self.copy_access_key)
        menu.addSeparator()
        self._add_models(menu.addMenu("Models"))
        self._add_recent(menu.addMenu("Recent requests"))
        if self.state == "running":
            pause = menu.addAction("Resume gateway" if self.bridge.paused else "Pause gateway")
            pause.setToolTip("While paused, tools get '503 paused' and nothing is sent to any provider")
            pause.triggered.connect(lambda: self.bridge.set_paused(not self.bridge.paused))
        menu.addSeparator()
        for label, page in (
            ("Open Switchboard", "Providers & keys"),
            ("Request log", "Request log"),
            ("Connect a tool…", "Connect a tool"),
            ("Settings", "Settings"),
        ):
            menu.addAction(label).triggered.connect(lambda _=False, p=page: self.page_requested.emit(p))
        menu.addSeparator()
        quit_action = QAction("Quit Switchboard", menu)
        quit_action.setEnabled(self.state != "stopping")
        quit_action.triggered.connect(self.quit_requested.emit)
        menu.addAction(quit_action)

    def _add_models(self, models: QMenu) -> None:
        """A checkable entry per route (on/off), and which route takes unknown model names."""
        models.setToolTipsVisible(True)
        routes = self.bridge.config.routes()
        for route in routes:
            action = models.addAction(menu_text(route.name))
            action.setCheckable(True)
            action.setChecked(route.enabled)
            action.setToolTip(
                "\n".join(filter(None, ["Tick to serve this model, untick to turn it off", route.description]))
            )
            action.toggled.connect(lambda on, name=route.name: self.set_route_enabled(name, on))
        if not routes:
            models.addAction("No models yet" if self.state != "running" else "No routes configured").setEnabled(False)
            return
        models.addSeparator()
        default = models.addMenu("Default for unknown names")
        group = QActionGroup(default)
        current = self.bridge.config.default_route()
        for name in [None, *(r.name for r in routes if r.enabled and "*" not in r.name)]:
            action = default.addAction("None (answer 404)" if name is None else menu_text(name))
            action.setCheckable(True)
            action.setChecked(name == current)
            group.addAction(action)
            action.triggered.connect(lambda _=False, n=name: self.set_default_route(n))

    def set_route_enabled(self, name: str, enabled: bool) -> None:
        def mutate(data: dict[str, Any]) -> None:
            for route in data.get("routes", []):
                if route["name"] == name:
                    route["enabled"] = enabled

        self.bridge.config.update(f"{'turn on' if enabled else 'turn off'} route {name}", mutate)

    def set_default_route(self, name: str | None) -> None:
        def mutate(data: dict[str, Any]) -> None:
            data["default_route"] = name

        self.bridge.config.update(f"default route: {name or 'none'}", mutate)

    def _add_recent(self, recent: QMenu) -> None:
        # Enabled (disabled rows are drawn too faint to read); a click copies the request ID,
        # which the client also got in its x-request-id header. A log window comes later.
        recent.setToolTipsVisible(True)
        records = self.bridge.activity.recent(RECENT_SHOWN)
        for record in records:
            action = recent.addAction(menu_text(describe(record), 80))
            action.setToolTip(details(record))
            action.triggered.connect(lambda _=False, rid=record.id: self.copy("Request ID", rid))
        if not records:
            recent.addAction("None yet").setEnabled(False)

    # -- actions -----------------------------------------------------------------------------------

    def on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A left click shows the menu too: there is no main window yet, and on Linux a left click
        # otherwise does nothing. (macOS opens the context menu on any click by itself.)
        if reason == QSystemTrayIcon.ActivationReason.Trigger and sys.platform != "darwin":
            self.menu.popup(QCursor.pos())

    def copy(self, what: str, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.showMessage("Switchboard", f"{what} copied.", QSystemTrayIcon.MessageIcon.Information, NOTICE_MS)

    def copy_endpoint(self) -> None:
        if self.bridge.base_url:
            self.copy("Endpoint", f"{self.bridge.base_url}/v1")

    def copy_access_key(self) -> None:
        self._copy_key_asked = True
        self.bridge.access_keys.fetch_client_key()

    def on_access_key_fetched(self, value: str) -> None:
        if not self._copy_key_asked:
            return
        self._copy_key_asked = False
        if value:
            self.copy("Access key", value)
        else:  # no keychain kept it: the way on is a new key, made where the user can see it
            self.showMessage(
                "Switchboard",
                NO_KEY_SHOWN,
                QSystemTrayIcon.MessageIcon.Warning,
                8000,
            )
            self.page_requested.emit("Settings")
