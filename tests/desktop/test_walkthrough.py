"""The first ten minutes under Xvfb with a real tray host (trayer): the scripted walkthrough of
tests/desktop/walkthrough.py, run in a subprocess on the xcb platform, both paths. It prints each
path's action count and time from launch to the first answer. Skips cleanly where Xvfb or trayer
is missing (``.ci/setup`` installs them)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("trayer")), reason="needs Xvfb and trayer (see .ci/setup)"
)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private X server (any free display number) with trayer docked at the top right."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        _stop(xvfb)
        pytest.skip("Xvfb did not start")
    name = f":{number}"
    env = {**os.environ, "DISPLAY": name}
    trayer = subprocess.Popen(
        [
            "trayer",
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "pixel",
            "--width",
            "200",
            "--height",
            "32",
            "--SetDockType",
            "true",
            "--tint",
            "0x404040",
            "--transparent",
            "true",
            "--alpha",
            "0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        yield name
    finally:
        _stop(trayer)
        _stop(xvfb)


def walk(display: str, path: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "SWITCHBOARD_ACCESS_KEY")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "tests.desktop.walkthrough", path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("WALKTHROUGH ")]
    assert lines, f"no report (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    report = json.loads(lines[-1].removeprefix("WALKTHROUGH "))
    print(
        f"\nwalkthrough {path}: {report['actions']} actions, {report['seconds_to_first_answer']} s to the first answer"
    )
    return report


def test_demo_path(display, tmp_path) -> None:
    report = walk(display, "demo", tmp_path)
    assert report["ok"], report
    assert report["actions"] <= 6
    assert report["answer"].startswith("✓ demo/echo answered in ")
    # trayer's panel is tinted #404040: the icon's ink was chosen from the panel's own pixels
    assert report["panel_lightness"] is not None and report["panel_lightness"] < 128, report
    assert report["tray_on_dark_panel"] is True


def test_custom_provider_then_claude_code(display, tmp_path) -> None:
    report = walk(display, "provider", tmp_path)
    assert report["ok"], report
    assert report["messages_status"] == 200 and report["messages_type"] == "message"  # Claude Code's model name
    assert "/v1/chat/completions" in report["upstream_paths"]  # answered by the provider, not the demo
