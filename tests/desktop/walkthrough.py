"""The first ten minutes, scripted: a newcomer's clicks on the real app on a real X server.

Run by ``tests/desktop/test_walkthrough.py`` (under Xvfb with a tray host), or by hand:

    DISPLAY=:N QT_QPA_PLATFORM=xcb .venv/bin/python -m tests.desktop.walkthrough demo|provider [SHOTS_DIR]

It starts the tray app in this process as ``switchboard`` would (a first run: an empty home, no
keychain, no access key in the environment), then does what a person does, one counted action
at a time, on the real widgets (QTest clicks and typing), and prints one JSON line: the path, the
actions, the seconds from launch to the first answer on screen, and what answered.

- ``demo``: launch → Next → Next → Next: the wizard's last page shows the demo's answer.
- ``provider``: launch → a custom provider (a local fake OpenAI-compatible upstream, with a key)
  → its model → the answer → Finish (the main window at "Connect a tool") → Claude Code → Apply
  → a Messages request with Claude Code's model name, sent with the URL and token Apply wrote to
  ``~/.claude/settings.json``, answered through the wizard's default route.

Every step of the two paths is in :data:`STEPS`-style functions below (``demo_path`` and
``provider_path``), so they can be adapted to the Connect page in one place.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no keychain: the harder first run
os.environ.pop("SWITCHBOARD_ACCESS_KEY", None)  # a real first run makes the access key

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

CLAUDE_CODE_MODEL = "claude-sonnet-4-5-20250929"
PROVIDER_KEY = "sk-walkthrough-provider-key-0123456789"


class Walk:
    """The app, a clock and an action counter."""

    def __init__(self, shots: Path | None) -> None:
        from desktop.app import TrayApp
        from proxy.api import GatewayOptions

        self.home = Path(tempfile.mkdtemp(prefix="switchboard-walk-"))
        os.environ["HOME"] = str(self.home)  # Apply writes ~/.claude here, never the real one
        self.qt = QApplication.instance() or QApplication([])
        self.qt.setQuitOnLastWindowClosed(False)
        self.shots = shots
        self.actions: list[str] = []
        self.started = time.monotonic()
        self.first_answer: float | None = None
        self.act("launch")
        self.app = TrayApp(GatewayOptions(home=self.home / "state", port=0, discover_local=False))
        self.app.start()
        self.wait(lambda: self.app.wizard is not None and self.app.wizard.isVisible(), 20, "the wizard")

    # -- helpers -----------------------------------------------------------------------------------

    def act(self, what: str) -> None:
        self.actions.append(what)

    def wait(self, ready: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {seconds:.0f} s for {what}")
            self.qt.processEvents()
            time.sleep(0.01)
        self.qt.processEvents()

    def click(self, what: str, widget: QWidget) -> None:
        self.act(f"click {what}")
        # on its text, near the left: a radio button's row is wider than the part that takes clicks
        where = QPoint(min(12, widget.width() // 2), widget.height() // 2)
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
        self.qt.processEvents()

    def type(self, what: str, widget: QWidget, text: str) -> None:
        self.act(f"type {what}")
        widget.setFocus()
        QTest.keyClicks(widget, text)

    def paste(self, what: str, widget: QWidget, text: str) -> None:
        self.act(f"paste {what}")
        widget.setFocus()
        widget.insert(text)  # type: ignore[attr-defined]  # a QLineEdit

    def next(self) -> None:
        wizard = self.app.wizard
        assert wizard is not None
        self.click("Next", wizard.button(wizard.WizardButton.NextButton))

    def answered(self) -> str:
        assert self.app.wizard is not None
        page = self.app.wizard.done_page
        self.wait(lambda: page.answer.text().startswith(("✓", "✗")), 30, "the test answer")
        if self.first_answer is None:
            self.first_answer = time.monotonic() - self.started
        return page.answer.text()

    def shot(self, name: str, widget: QWidget) -> None:
        if self.shots is not None:
            self.qt.processEvents()
            widget.grab().save(str(self.shots / f"{name}.png"))

    def report(self, path: str, **extra: Any) -> dict[str, Any]:
        return {
            "path": path,
            "actions": len(self.actions),
            "steps": self.actions,
            "seconds_to_first_answer": round(self.first_answer or -1, 2),
            "seconds_total": round(time.monotonic() - self.started, 2),
            **extra,
        }

    def quit(self) -> None:
        done: list[int] = []
        self.app.finished.connect(done.append)
        self.app.quit()
        self.wait(lambda: bool(done), 20, "the gateway to stop")


# -- the two paths -------------------------------------------------------------------------------


def demo_path(shots: Path | None) -> dict[str, Any]:
    walk = Walk(shots)
    wizard = walk.app.wizard
    assert wizard is not None
    walk.shot("wizard-1", wizard)
    walk.next()  # welcome → where should requests go? ("Just try it" is chosen)
    walk.shot("wizard-2", wizard)
    walk.next()  # → which model (demo)
    walk.shot("wizard-3", wizard)
    walk.next()  # → the proof: a real request through the gateway
    answer = walk.answered()
    walk.shot("wizard-4", wizard)
    tray = walk.app.tray
    walk.wait(lambda: not tray.geometry().isEmpty(), 10, "the tray icon to dock")
    tray.set_state(tray.state, tray.error)  # reads the panel behind the docked icon
    panel = tray.panel_color()
    report = walk.report(
        "demo",
        answer=answer,
        ok=answer.startswith("✓"),
        panel_lightness=None if panel is None else panel.lightness(),
        tray_on_dark_panel=tray.on_dark_panel,
    )
    walk.quit()
    return report


def provider_path(shots: Path | None) -> dict[str, Any]:
    from tests.desktop.upstreams import running_fake

    with running_fake(api_key=PROVIDER_KEY, models=["gpt-4o-mini"]) as upstream:
        walk = Walk(shots)
        wizard = walk.app.wizard
        assert wizard is not None
        walk.next()
        page = wizard.provider_page
        walk.click("A provider I have a key for", page.real)
        assert page.real.isChecked(), "the click did not choose it"
        walk.act("choose Custom OpenAI-compatible server")
        page.preset.setCurrentIndex(page.preset.findData("custom"))
        walk.type("base URL", page.base_url, upstream.base_url)
        walk.paste("API key", page.key, PROVIDER_KEY)
        walk.next()  # saved (no keychain: the page offers an environment variable) ...
        walk.wait(lambda: wizard.currentPage() is wizard.model_page or page.use_env.isChecked(), 30, "the save")
        if wizard.currentPage() is not wizard.model_page:  # ... so: keep it in a variable, Next again
            walk.shot("wizard-no-keychain", wizard)
            walk.next()
        walk.wait(lambda: wizard.currentPage() is wizard.model_page, 30, "the key test")
        models = wizard.model_page.model
        walk.wait(lambda: models.findText("custom/gpt-4o-mini") >= 0, 30, "the model list")
        if models.currentText() != "custom/gpt-4o-mini":
            walk.act("choose the model")
            models.setCurrentText("custom/gpt-4o-mini")
        walk.next()
        answer = walk.answered()
        walk.click("Finish", wizard.button(wizard.WizardButton.FinishButton))
        main = walk.app.main
        walk.wait(main.isVisible, 10, "the main window")
        connect = main.current_page()
        claude = _claude_row(connect)
        walk.act("choose Claude Code")
        connect.list.setCurrentRow(claude)  # type: ignore[attr-defined]
        walk.wait(lambda: bool(connect.key), 10, "the access key on the Connect page")  # type: ignore[attr-defined]
        connect.dialog = None  # type: ignore[attr-defined]
        walk.click("Apply…", connect.apply_button)  # type: ignore[attr-defined]
        walk.wait(
            lambda: connect.dialog is not None and connect.dialog.isVisible(),  # type: ignore[attr-defined]
            10,
            "the diff of what Apply writes",
        )
        walk.shot("connect-claude-code-diff", connect.dialog)  # type: ignore[attr-defined]
        walk.click("Write", connect.dialog.write_button)  # type: ignore[attr-defined]
        settings = walk.home / ".claude" / "settings.json"
        walk.wait(settings.exists, 10, "~/.claude/settings.json")
        walk.shot("connect-claude-code", main)
        env = json.loads(settings.read_text())["env"]
        reply: dict[str, Any] = {}

        def messages() -> None:  # what Claude Code sends first, with what Apply wrote
            request = urllib.request.Request(
                f"{env['ANTHROPIC_BASE_URL']}/v1/messages",
                data=json.dumps(
                    {"model": CLAUDE_CODE_MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
                ).encode(),
                headers={
                    "Authorization": f"Bearer {env['ANTHROPIC_AUTH_TOKEN']}",
                    "anthropic-version": "2023-06-01",
                    "content-type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    reply.update(status=response.status, body=json.loads(response.read()))
            except urllib.error.HTTPError as exc:
                reply.update(status=exc.code, body=json.loads(exc.read() or b"{}"))

        import threading
        import urllib.error

        thread = threading.Thread(target=messages, name="walk-messages", daemon=True)
        thread.start()
        walk.wait(lambda: not thread.is_alive(), 30, "the Messages answer")
        report = walk.report(
            "provider",
            answer=answer,
            ok=answer.startswith("✓") and reply.get("status") == 200,
            messages_status=reply.get("status"),
            messages_type=(reply.get("body") or {}).get("type"),
            upstream_paths=[r.path for r in upstream.requests],
        )
        walk.quit()
        return report


def _claude_row(connect: Any) -> int:
    for row in range(connect.list.count()):
        if "Claude Code" in connect.list.item(row).text():
            return row
    raise LookupError("no Claude Code on the Connect page")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "demo"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    result = (demo_path if which == "demo" else provider_path)(out)
    print("WALKTHROUGH " + json.dumps(result), flush=True)
    sys.exit(0 if result["ok"] else 1)
