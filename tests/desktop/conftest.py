"""Desktop tests: Qt offscreen with real widgets (pytest-qt) and real gateways on free ports.

Every gateway gets its own home under ``tmp_path`` and a fixed access key from the environment,
so nothing touches the user's setup or keychain. After each test, no thread it started may
still be running: a leaked gateway would keep a port, a log writer and a loop alive.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import json  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from desktop.services import GatewayBridge  # noqa: E402
from proxy.engine.gateway import GatewayOptions  # noqa: E402

ACCESS_KEY = "sb-local-desktop-tests-0123456789abcdef"
HERE = Path(__file__).parent

# What the offscreen platform says about features it lacks (a tray, raising windows). Only these;
# any other Qt warning still fails the test (qt_log_level_fail = WARNING).
OFFSCREEN_NOISE = (
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"This plugin does not support (propagateSizeHints|raise)\(\)",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"


@pytest.fixture
def options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GatewayOptions:
    """An isolated zero-config gateway (the built-in demo routes) on any free port."""
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.delenv("SWITCHBOARD_HOME", raising=False)
    monkeypatch.delenv("SWITCHBOARD_CONFIG", raising=False)
    return GatewayOptions(home=tmp_path / "home", port=0, discover_local=False)


@pytest.fixture
def make_bridge(qtbot) -> Iterator[Callable[..., GatewayBridge]]:
    """Makes bridges and stops every one of them at the end of the test."""
    made: list[GatewayBridge] = []

    def make(options: GatewayOptions) -> GatewayBridge:
        bridge = GatewayBridge(options)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.stop(10, block=True)


@pytest.fixture
def bridge(make_bridge, options) -> GatewayBridge:
    return make_bridge(options)


@pytest.fixture
def started(qtbot, bridge) -> GatewayBridge:
    """A bridge whose gateway is running."""
    with qtbot.waitSignal(bridge.started, timeout=10000):
        bridge.start()
    return bridge


def post_chat(base_url: str, model: str = "demo", content: str = "hello from the tray") -> dict[str, Any]:
    """A blocking chat completion: call it from a worker thread, never the GUI thread."""
    request = urllib.request.Request(
        f"{base_url}/v1/chat/completions",
        data=json.dumps({"model": model, "messages": [{"role": "user", "content": content}]}).encode(),
        headers={"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def in_worker(target: Callable[..., object], *args: object) -> threading.Thread:
    """Run ``target`` on a thread (for blocking HTTP calls); join it before the test ends."""
    thread = threading.Thread(target=target, args=args, name="test-client", daemon=True)
    thread.start()
    return thread
