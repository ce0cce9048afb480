"""Screenshots of the real app on a real X server, for README.md. Not a test; run by hand:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python resources/screenshots/make.py [OUT_DIR]
    bash tests/desktop/screenshot_tray.sh resources/screenshots/tray-menu.png   # the docked icon and menu

It runs the tray app (xcb platform) with an isolated home and a realistic config made of
demo-provider targets (no keys, no network), sends a few hundred requests through the gateway
(chat, streamed, Anthropic Messages, a simulated failure that falls back, an unknown model),
then shows every page of the main window and every step of the first-run wizard and saves each
window as a PNG. Look at them before committing.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # never reach a real keychain from here
KEY = "sb-local-screenshots-0000000000000000"
os.environ["SWITCHBOARD_ACCESS_KEY"] = KEY

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView, QWidget  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
CONFIG = {
    "providers": [
        {"id": "demo", "preset": "demo"},
        {"id": "primary", "preset": "demo", "demo": {"pace_ms": 30}},
        {"id": "backup", "preset": "demo", "demo": {"pace_ms": 12}},
        {"id": "local", "preset": "demo", "demo": {"pace_ms": 5}},
    ],
    "routes": [
        {"name": "demo", "targets": [{"provider": "demo", "model": "echo"}], "description": "Offline echo model"},
        {
            "name": "smart",
            "description": "Best answers; falls back when the primary fails",
            "targets": [
                {"provider": "primary", "model": "echo"},
                {"provider": "backup", "model": "echo"},
                {"provider": "local", "model": "echo"},
            ],
            "cache": {"enabled": True},
        },
        {
            "name": "fast",
            "strategy": "weighted",
            "targets": [
                {"provider": "backup", "model": "echo", "weight": 70},
                {"provider": "local", "model": "echo", "weight": 30},
            ],
        },
        {
            "name": "claude-*haiku*",
            "targets": [{"provider": "backup", "model": "echo"}],
            "description": "Claude Code's small model",
        },
        {"name": "demo-embed", "targets": [{"provider": "demo", "model": "embed"}]},
    ],
    "default_route": "smart",
    "logging": {"store_bodies": True},
}
PROMPTS = [
    "Summarise this pull request in two sentences.",
    "Write a haiku about local gateways.",
    "What does HTTP 429 mean and how should a client react?",
    "Translate 'good morning' into French, German and Japanese.",
    "Explain fallbacks like I am five.",
    "Give me three names for a tray app.",
]


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def post(base: str, path: str, body: dict, headers: dict[str, str] | None = None) -> None:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        exc.read()


def traffic(base: str, count: int) -> None:
    rng = random.Random(7)
    agents = ["claude-cli/2.1.197", "codex_exec/0.169", "OpenAI/Python 1.99", "aider/0.86", "curl/7.88"]
    for i in range(count):
        route = rng.choice(["smart", "smart", "fast", "demo", "claude-3-5-haiku-latest"])
        prompt = rng.choice(PROMPTS)
        agent = {"User-Agent": rng.choice(agents)}
        if i % 9 == 0:
            post(
                base,
                "/v1/messages",
                {"model": route, "max_tokens": 200, "messages": [{"role": "user", "content": prompt}]},
                agent,
            )
        elif i % 37 == 0:
            post(
                base,
                "/v1/chat/completions",
                {"model": "gpt-unknown", "messages": [{"role": "user", "content": prompt}]},
                agent,
            )
        else:
            body = {"model": route, "stream": i % 3 == 0, "messages": [{"role": "user", "content": prompt}]}
            post(base, "/v1/chat/completions", body, agent)


def save(widget: QWidget, name: str) -> None:
    wait(400)
    screen = widget.screen()
    pixmap = screen.grabWindow(widget.winId())  # what the X server shows, not an offscreen render
    if pixmap.isNull() or pixmap.width() < 50:
        pixmap = widget.grab()
    path = OUT / f"{name}.png"
    pixmap.save(str(path))
    print(f"saved {path} ({pixmap.width()}x{pixmap.height()})")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    from desktop.app import TrayApp
    from desktop.windows.first_run import FirstRunWizard
    from desktop.windows.main import PAGES
    from proxy.engine.gateway import GatewayOptions

    home = Path(tempfile.mkdtemp(prefix="switchboard-shots-"))
    (home / "config.json").write_text(json.dumps(CONFIG))
    tray_app = TrayApp(GatewayOptions(home=home, port=0, discover_local=False, config_path=home / "config.json"))
    started = QEventLoop()
    tray_app.bridge.started.connect(lambda _url: started.quit())
    tray_app.start()
    started.exec()
    bridge = tray_app.bridge
    base = bridge.base_url
    assert base is not None

    bridge.routing.simulate_failure("primary", "echo", "error", 6)  # a few fallbacks to see in the log
    workers = [threading.Thread(target=traffic, args=(base, 60)) for _ in range(4)]
    for w in workers:
        w.start()
    while any(w.is_alive() for w in workers):
        wait(100)
    bridge.routing.simulate_failure("primary", "echo", "429", 2)
    post(base, "/v1/chat/completions", {"model": "smart", "messages": [{"role": "user", "content": "One more"}]})
    wait(1500)  # the log writer batches; the pages read what is written

    window = tray_app.main
    window.resize(1180, 760)
    for name in PAGES:
        window.show_page(name)
        page = window.pages[name]
        if name == "Routing":
            page.routes.setCurrentRow(1)
        if name == "Request log":
            wait(800)
            view = page.findChild(QTableView)
            model = view.model() if view is not None else None
            columns = (
                [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] if model else []
            )
            if model is not None and "Attempts" in columns:  # show a fallback's attempts in the detail pane
                column = columns.index("Attempts")
                rows = [r for r in range(model.rowCount()) if model.index(r, column).data() not in ("1", "—", None)]
                if rows:
                    view.selectRow(rows[-1])
                    view.scrollTo(model.index(rows[-1], 0))
        if name == "Playground" and hasattr(page, "prompt"):
            page.prompt.setPlainText("Write a haiku about local gateways.")
            page.system.setPlainText("You are a concise assistant.")
            page.set_checked(["smart", "fast", "demo"])
            if hasattr(page, "send"):
                page.send()
                wait(2500)
        wait(600)
        slug = name.lower().replace(" & ", "-").replace(" ", "-")
        save(window, f"page-{slug}")
    window.hide()

    routing = window.pages["Routing"]
    if hasattr(routing, "show_history"):
        routing.show_history()
        wait(800)
        save(routing.history, "routing-history")
        routing.history.close()

    wizard = FirstRunWizard(bridge)
    wizard.show()
    step = 0
    while True:
        save(wizard, f"wizard-{step + 1}")
        if wizard.currentPage() is None or wizard.nextId() == -1 or step > 6:
            break
        wizard.next()
        step += 1
    wizard.close()

    menu = tray_app.tray.contextMenu()
    if menu is not None:
        menu.aboutToShow.emit()
        menu.popup(window.screen().geometry().center())
        save(menu, "tray-menu-items")
        menu.hide()

    done = QEventLoop()
    tray_app.finished.connect(lambda _code: done.quit())
    tray_app.quit()
    done.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
