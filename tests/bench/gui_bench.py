"""GUI responsiveness while the embedded gateway is busy (issue 7: no frame over 50 ms on the GUI
thread while the gateway serves 200 requests/s). Run on demand:

    .venv/bin/python tests/bench/gui_bench.py [--rps 200] [--seconds 20] [--page "Request log"]

The app's own process holds the main window (offscreen unless DISPLAY is set) and the gateway
thread, exactly as the tray app does; a separate process sends chat completions (a third of
them streamed) through the demo provider at a fixed rate, open loop. A 5 ms QTimer on the GUI
thread measures how long the thread was blocked: every gap beyond the timer's interval is time
the GUI could not paint or react. The same is measured idle first, so the two can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
KEY = "sb-local-gui-bench-000000000000000000"
os.environ["SWITCHBOARD_ACCESS_KEY"] = KEY

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

LOAD = textwrap.dedent(
    """
    import asyncio, json, sys, time
    import aiohttp
    base, key, rps, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    async def main():
        ok = failed = 0
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer " + key}) as s:
            async def one(i):
                nonlocal ok, failed
                body = {"model": "demo", "stream": i % 3 == 0,
                        "messages": [{"role": "user", "content": "bench request %d" % i}]}
                try:
                    async with s.post(base + "/v1/chat/completions", json=body) as r:
                        await r.read()
                        ok += r.status == 200
                        failed += r.status != 200
                except Exception:
                    failed += 1
            start = time.monotonic()
            tasks, i = [], 0
            while (now := time.monotonic() - start) < seconds:
                due = start + i / rps
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                tasks.append(asyncio.create_task(one(i)))
                i += 1
            await asyncio.gather(*tasks)
            print(json.dumps({"sent": i, "ok": ok, "failed": failed, "seconds": time.monotonic() - start}))
    asyncio.run(main())
    """
)


def measure(app: QApplication, seconds: float, interval_ms: int = 5) -> list[float]:
    """Gaps (ms) between ticks of an ``interval_ms`` timer on the GUI thread, for ``seconds``."""
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(tick)
    timer.start()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    return gaps


def summary(gaps: list[float]) -> dict[str, float]:
    ordered = sorted(gaps)
    return {
        "ticks": len(gaps),
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1],
        "max_ms": ordered[-1],
        "over_50ms": sum(1 for g in gaps if g > 50),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rps", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--page", default="Request log")
    args = parser.parse_args()

    app = QApplication(sys.argv)
    from desktop.services import GatewayBridge
    from desktop.windows.main import MainWindow
    from proxy.engine.gateway import GatewayOptions

    home = Path(tempfile.mkdtemp(prefix="switchboard-gui-bench-"))
    config = {
        "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
        "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
    }
    (home / "config.json").write_text(json.dumps(config))
    bridge = GatewayBridge(GatewayOptions(home=home, port=0, discover_local=False, config_path=home / "config.json"))
    started = QEventLoop()
    bridge.started.connect(lambda _url: started.quit())
    bridge.start()
    started.exec()
    window = MainWindow(bridge)
    window.resize(1180, 760)
    window.show_page(args.page)
    logged = [0]
    bridge.request_logged.connect(lambda _r: logged.__setitem__(0, logged[0] + 1))

    idle = summary(measure(app, 3))
    load = subprocess.Popen(
        [sys.executable, "-c", LOAD, bridge.base_url or "", KEY, str(args.rps), str(args.seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    t0 = time.monotonic()
    busy = summary(measure(app, args.seconds))
    out, _ = load.communicate(timeout=args.seconds + 120)
    sent = json.loads(out)
    settle = measure(app, 2)  # the log writer's last batches arrive
    elapsed = time.monotonic() - t0
    bridge.stop(15, block=True)
    window.deleteLater()

    print(
        f"page shown: {args.page}; load: {sent['sent']} requests in {sent['seconds']:.1f} s "
        f"({sent['sent'] / sent['seconds']:.0f}/s target {args.rps:.0f}/s), ok {sent['ok']}, failed {sent['failed']}; "
        f"log rows delivered to the GUI: {logged[0]} in {elapsed:.1f} s"
    )
    print(f"{'GUI thread':<12} {'ticks':>6} {'p50 gap':>9} {'p99 gap':>9} {'max gap':>9} {'gaps>50ms':>10}")
    for name, s in (("idle", idle), ("under load", busy), ("settling", summary(settle))):
        gaps = f"{s['p50_ms']:>8.1f}ms {s['p99_ms']:>8.1f}ms {s['max_ms']:>8.1f}ms"
        print(f"{name:<12} {s['ticks']:>6} {gaps} {s['over_50ms']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
