"""Screenshots of the Dashboard and Playground pages with realistic data (offscreen Qt).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m resources.screenshots.make_dashboard_playground [OUT_DIR]

What it does, so the pictures are honest about where their numbers come from:

1. Starts the fake OpenAI upstream (``tests/fakes/openai_upstream.py``) for ``gpt-4o`` and
   ``gpt-4o-mini``, priced by genai-prices like the real models, next to the built-in demo provider.
2. Back-fills 30 days of history through the gateway's own log writer (``RequestLog``, which
   prices each row): a daily rhythm, a few failures and refusals, fallbacks and cache hits. The
   gateway cannot be run for 30 days for a picture; these rows are the only made-up part.
3. Starts the real gateway with the desktop bridge and sends live traffic through it: chats to
   every route, a simulated failure on ``gpt-4o`` that falls back to ``gpt-4o-mini``, repeated
   prompts answered by the cache, and an unknown model.
4. Opens the main window on the Dashboard, then sends one prompt from the Playground to three
   models and saves the pages.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.services import GatewayBridge  # noqa: E402
from desktop.windows.main import MainWindow  # noqa: E402
from proxy.domain.pricing import PriceRef  # noqa: E402
from proxy.domain.records import RequestRecord  # noqa: E402
from proxy.engine.gateway import GatewayOptions  # noqa: E402
from proxy.storage.request_log import RequestLog  # noqa: E402
from proxy.support.paths import Home  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ACCESS_KEY = "sb-local-screenshots-0123456789abcdef"
UPSTREAM_KEY = "sk-screenshots-fake-upstream-0123456789"
PROMPTS = [
    "Summarise the attached meeting notes in three bullet points",
    "Write a unit test for a function that parses ISO dates",
    "Explain the difference between a mutex and a semaphore",
    "Translate 'good morning, team' into German and French",
    "Suggest a name for a CLI tool that syncs dotfiles",
]


def start_upstream() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", "0", "--api-key", UPSTREAM_KEY,
         "--models", "gpt-4o,gpt-4o-mini", "--chunks", "24", "--chunk-delay", "0.04"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    match = re.search(r"listening on (\S+)", proc.stdout.readline())  # type: ignore[union-attr]
    assert match
    return proc, match.group(1)


def config(upstream: str) -> dict[str, object]:
    openai = [{"provider": "openai", "model": "gpt-4o"}, {"provider": "openai", "model": "gpt-4o-mini"}]
    return {
        "providers": [
            {"id": "demo", "preset": "demo", "demo": {"pace_ms": 18}},
            {"id": "openai", "preset": "openai", "base_url": upstream, "key": {"env": "SCREENSHOTS_UPSTREAM_KEY"}},
        ],
        "routes": [
            {"name": "gpt-4o", "targets": openai, "description": "GPT-4o, falling back to 4o-mini"},
            {
                "name": "gpt-4o-mini",
                "targets": [openai[1]],
                "cache": {"enabled": True},
                "limits": {"daily_usd": 0.6, "monthly_usd": 12.0},
            },
            {"name": "demo", "targets": [{"provider": "demo", "model": "echo"}], "description": "Offline echo model"},
        ],
        "key_limits": {"default": {"daily_usd": 2.0, "monthly_usd": 40.0}},
    }


def backfill(home: Home, upstream: str, now: float) -> None:
    """30 days of plausible rows, written and priced by the gateway's own log writer."""
    rng = random.Random(7)
    writer = RequestLog(home.log_db)
    writer.start()
    n = 0
    t = now - 30 * 86400
    while t < now - 90:
        hour = time.localtime(t).tm_hour
        busy = 0.15 + (0.85 if 9 <= hour < 18 else 0.25 if 7 <= hour < 22 else 0.0)
        recent = 1.6 if now - t < 3600 else 1.0
        t += rng.expovariate(busy * recent / 95)  # about 40 requests an hour at the busiest
        route = rng.choices(["gpt-4o", "gpt-4o-mini", "demo"], [0.35, 0.5, 0.15])[0]
        provider, model = ("demo", "echo") if route == "demo" else ("openai", route)
        tokens_in, tokens_out = int(rng.lognormvariate(6.6, 0.7)), int(rng.lognormvariate(5.2, 0.6))
        latency = rng.lognormvariate(7.0 if model == "gpt-4o" else 6.4, 0.35)
        if provider == "demo":
            latency = rng.uniform(300, 700)
        status, http, attempts, cache = "ok", 200, 1, None
        roll = rng.random()
        if roll < 0.015:
            status, http = "upstream_error", 502
        elif roll < 0.025:
            status, http, route, provider, model = "rejected", 404, None, None, None
        elif roll < 0.05 and route == "gpt-4o":
            attempts, model, latency = 2, "gpt-4o-mini", latency * 1.6  # gpt-4o failed; 4o-mini answered
        if route == "gpt-4o-mini" and status == "ok" and rng.random() < 0.18:
            cache, latency = "hit", rng.uniform(2, 9)
        elif route == "gpt-4o-mini":
            cache = "miss"
        ok = status == "ok"
        record = RequestRecord(
            id=f"backfill{n:07d}", started_at=t, surface="chat", status=status, http_status=http, client="default",
            requested_model=route or "gpt-5-turbo", route=route, provider=provider, upstream_model=model,
            stream=rng.random() < 0.7, ttfb_ms=latency * 0.3 if ok else None, latency_ms=latency,
            tokens_in=tokens_in if ok else None, tokens_out=tokens_out if ok else None,
            attempts=attempts if route else 0, cache=cache,
        )  # fmt: skip
        price = PriceRef("openai", upstream, model) if provider == "openai" and ok else None
        writer.submit(record, price)
        n += 1
        if n % 5000 == 0:
            writer.flush(30)  # the queue is bounded (it drops rather than block the gateway)
    writer.flush(30)
    writer.close()
    print(f"back-filled {n} rows")


def post(base: str, model: str, content: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    request = urllib.request.Request(
        f"{base}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(request, timeout=30).read()
    except urllib.error.HTTPError:
        pass  # the unknown model's 404 is part of the traffic


def live_traffic(base: str) -> None:
    simulate = urllib.request.Request(
        f"{base}/switchboard/simulate",
        data=json.dumps({"target": "openai/gpt-4o", "fault": "error", "count": 3}).encode(),
        headers={"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(simulate, timeout=10).read()
    jobs = [(m, p) for p in PROMPTS for m in ("gpt-4o", "gpt-4o-mini", "demo")]
    jobs += [("gpt-4o-mini", PROMPTS[0])] * 4 + [("claude-4-opus", "hello")]  # cache hits; an unknown model
    threads = [threading.Thread(target=post, args=(base, m, p)) for m, p in jobs]
    for i, thread in enumerate(threads):
        thread.start()
        if i % 4 == 3:
            time.sleep(0.15)
    for thread in threads:
        thread.join(30)


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.WindowText, "#e8eaed"),
        (QPalette.ColorRole.Base, "#2a2b2e"), (QPalette.ColorRole.AlternateBase, "#303134"),
        (QPalette.ColorRole.Text, "#e8eaed"), (QPalette.ColorRole.Button, "#303134"),
        (QPalette.ColorRole.ButtonText, "#e8eaed"), (QPalette.ColorRole.Mid, "#4a4b4f"),
        (QPalette.ColorRole.Highlight, "#8ab4f8"), (QPalette.ColorRole.HighlightedText, "#202124"),
    ):  # fmt: skip
        palette.setColor(role, QColor(color))
    return palette


def wait(app: QApplication, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("screenshot scene did not get ready")
        app.processEvents()
        time.sleep(0.02)


def main(out: Path) -> None:
    os.environ["SWITCHBOARD_ACCESS_KEY"] = ACCESS_KEY
    os.environ["SCREENSHOTS_UPSTREAM_KEY"] = UPSTREAM_KEY
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    proc, upstream = start_upstream()
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-screens-"))
    try:
        home = Home.resolve(tmp / "home")
        home.ensure()
        backfill(home, upstream, time.time())
        config_path = tmp / "config.json"
        config_path.write_text(json.dumps(config(upstream)))
        bridge = GatewayBridge(GatewayOptions(home=tmp / "home", config_path=config_path, port=0, discover_local=False))
        started: list[str] = []
        bridge.started.connect(started.append)
        bridge.start()
        wait(app, lambda: bool(started))
        live_traffic(started[0])
        time.sleep(0.4)  # the log writer commits every 100 ms

        window = MainWindow(bridge)
        window.resize(1280, 900)
        dashboard = window.pages["Dashboard"]
        loads: list[int] = []
        dashboard.loaded.connect(lambda: loads.append(1))
        window.show_page("Dashboard")
        wait(app, lambda: bool(loads))
        for _ in range(10):
            app.processEvents()
        window.grab().save(str(out / "dashboard.png"))
        dashboard.set_range("month")
        wait(app, lambda: len(loads) >= 2)
        for _ in range(10):
            app.processEvents()
        window.grab().save(str(out / "dashboard-30-days.png"))

        app.setPalette(dark_palette())  # the same page in a dark theme: palette colours only
        dashboard.set_range("hour")
        wait(app, lambda: len(loads) >= 3)
        for _ in range(10):
            app.processEvents()
        window.grab().save(str(out / "dashboard-dark.png"))
        app.setPalette(app.style().standardPalette())

        window.show_page("Playground")
        playground = window.pages["Playground"]
        playground.set_checked(["gpt-4o", "gpt-4o-mini", "demo"])
        playground.system.setPlainText("You are a concise assistant.")
        playground.prompt.setPlainText("Explain what an AI gateway does, in two sentences.")
        playground.send()
        wait(app, lambda: not playground.is_running)
        wait(app, lambda: all(c.is_cost_known for c in playground.columns), 5)
        for _ in range(10):
            app.processEvents()
        window.grab().save(str(out / "playground.png"))
        print(f"saved to {out}")
        bridge.stop(10, block=True)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "screenshots")
