"""Idle cost of Switchboard: CPU and wake-ups per second of ``switchboard serve`` and of the tray
app with its window closed, summed over all their threads, with no traffic.

    .venv/bin/python tests/bench/idle_bench.py                 # both, 60 s each
    .venv/bin/python tests/bench/idle_bench.py --seconds 20 --only serve

Wake-ups are context switches (voluntary + involuntary) read from ``/proc/PID/task/*/status``:
``/proc/PID/status`` counts only the main thread (``shared/PLATFORM.md`` T7). CPU is utime+stime
from ``/proc/PID/task/*/stat``. The tray app runs under Qt's offscreen platform in a private
D-Bus session (no tray host: it falls back the way it does on a desktop without one), after a
first run has been completed so that no window opens. The first ``--settle`` seconds are not
counted (start-up work, discovery probes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample(pid: int) -> tuple[int, float, int]:
    """(context switches, CPU seconds, threads) summed over every thread of ``pid``."""
    switches = 0
    cpu_ticks = 0
    threads = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
            stat = (task / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended
        threads += 1
        for line in status.splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
        fields = stat.rsplit(")", 1)[1].split()
        cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return switches, cpu_ticks / TICKS, threads


def measure(pid: int, seconds: float) -> dict[str, float]:
    s0, c0, _ = sample(pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    s1, c1, threads = sample(pid)
    elapsed = time.monotonic() - t0
    return {
        "seconds": round(elapsed, 1),
        "threads": threads,
        "wakeups_per_s": round((s1 - s0) / elapsed, 2),
        "cpu_percent": round(100 * (c1 - c0) / elapsed, 3),
    }


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def idle_serve(home: Path, seconds: float, settle: float) -> dict[str, float]:
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "proxy", "serve", "--home", str(home), "--port", str(port), "--no-discover"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health")
        time.sleep(settle)
        return measure(proc.pid, seconds)
    finally:
        stop(proc)


def idle_tray(home: Path, seconds: float, settle: float) -> dict[str, float]:
    """The desktop app with no window open. A first headless start makes the home (and its access
    key), so the tray app starts as on any later day: no wizard, no window."""
    idle_serve(home, 0.1, 0)
    port = free_port()
    # Qt's offscreen platform: DISPLAY only makes the launcher choose the tray app
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DISPLAY=os.environ.get("DISPLAY", ":99"))
    runner = ["dbus-run-session", "--"] if shutil.which("dbus-run-session") else []
    proc = subprocess.Popen(
        [*runner, PYTHON, "-m", "desktop.launcher", "--home", str(home), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=60)
        app_pid = _python_child(proc.pid) if runner else proc.pid
        time.sleep(settle)
        return measure(app_pid, seconds)
    finally:
        stop(proc)


def _python_child(pid: int) -> int:
    """The app's own process under ``dbus-run-session`` (which also starts a dbus-daemon)."""
    for _ in range(50):
        out = subprocess.run(["pgrep", "-P", str(pid), "-f", "desktop.launcher"], capture_output=True, text=True)
        found = [int(p) for p in out.stdout.split()]
        if found:
            return found[0]
        time.sleep(0.1)
    raise RuntimeError("could not find the app's process")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=5)
    parser.add_argument("--only", choices=["serve", "tray"])
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sb-idle-") as tmp:
        if args.only in (None, "serve"):
            results["switchboard serve"] = idle_serve(Path(tmp) / "serve", args.seconds, args.settle)
        if args.only in (None, "tray"):
            results["tray app, window closed"] = idle_tray(Path(tmp) / "tray", args.seconds, args.settle)
    print(f"{'process':<26} {'threads':>7} {'wake-ups/s':>11} {'CPU %':>8}  (over {args.seconds:g} s, idle)")
    for name, r in results.items():
        print(f"{name:<26} {r['threads']:>7} {r['wakeups_per_s']:>11.2f} {r['cpu_percent']:>8.3f}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
