"""GatewayBridge against a real gateway: start, request signals, stop, start failure."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from proxy.engine.gateway import GatewayOptions
from tests.desktop.conftest import ACCESS_KEY, in_worker, post_chat


def test_started_carries_the_url(qtbot, bridge):
    with qtbot.waitSignal(bridge.started, timeout=10000) as started:
        bridge.start()
    url = started.args[0]
    assert url.startswith("http://127.0.0.1:") and bridge.base_url == url
    with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
        assert response.status == 200


def test_request_signals_reach_the_gui_thread(qtbot, started):
    seen_on: list[QThread] = []
    started.request_finished.connect(lambda _record: seen_on.append(QThread.currentThread()))
    # both blockers connect before the request starts, so neither signal can slip past
    with qtbot.waitSignal(started.request_logged, timeout=10000) as logged:
        with qtbot.waitSignal(started.request_finished, timeout=10000) as finished:
            worker = in_worker(post_chat, started.base_url)  # the GUI thread only waits for signals
    record = finished.args[0]
    assert (record.requested_model, record.route, record.status) == ("demo", "demo", "ok")
    assert seen_on == [QApplication.instance().thread()]  # queued to the GUI thread, not run on the gateway's
    assert logged.args[0].id == record.id
    worker.join(10)
    assert [r.id for r in started.activity.recent(5)] == [record.id]
    assert started.activity.requests_today == 1 and not started.activity.is_today_partial


def test_recent_is_newest_first_and_survives_a_restart(qtbot, make_bridge, options):
    first = make_bridge(options)
    with qtbot.waitSignal(first.started, timeout=10000):
        first.start()
    for text in ("one", "two", "three"):
        with qtbot.waitSignal(first.request_logged, timeout=10000):
            worker = in_worker(post_chat, first.base_url, "demo", text)
        worker.join(10)
    newest_first = [r.id for r in first.activity.recent(5)]
    assert len(newest_first) == 3
    assert first.activity.recent(2) == first.activity.recent(5)[:2]
    with qtbot.waitSignal(first.stopped, timeout=15000):
        first.stop()

    second = make_bridge(options)  # a new run reads the log it left behind
    with qtbot.waitSignal(second.started, timeout=10000):
        second.start()
    assert [r.id for r in second.activity.recent(5)] == newest_first
    assert second.activity.requests_today == 3


def test_stop_ends_the_gateway(qtbot, started):
    url = started.base_url
    [gateway_thread] = [t for t in threading.enumerate() if t.name == "switchboard-gateway"]
    with qtbot.waitSignal(started.stopped, timeout=15000):
        started.stop()  # returns at once; the GUI thread keeps running
    assert started.base_url is None and not started.api.is_running
    assert not gateway_thread.is_alive()
    try:
        urllib.request.urlopen(f"{url}/health", timeout=2)
    except (urllib.error.URLError, ConnectionError):
        pass
    else:
        raise AssertionError("the gateway still answers after stop")
    started.stop()  # a second stop is harmless
    with pytest.raises(RuntimeError):
        started.start()  # one run per bridge


def test_stop_does_not_block_the_gui_thread(qtbot, started):
    with qtbot.waitSignal(started.stopped, timeout=15000):  # connected before stop(): no race
        t0 = time.monotonic()
        started.stop()
        assert time.monotonic() - t0 < 0.1


def test_stop_while_starting_leaves_nothing_running(qtbot, bridge):
    bridge.start()
    with qtbot.waitSignal(bridge.stopped, timeout=15000):
        bridge.stop()  # the stop waits for the start to finish, then stops the gateway
    assert bridge.base_url is None
    assert not any(t.name == "switchboard-gateway" for t in threading.enumerate())


def test_start_failure_names_the_port(qtbot, make_bridge, options):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bridge = make_bridge(GatewayOptions(home=options.home, port=port, discover_local=False))
        with qtbot.waitSignal(bridge.start_failed, timeout=10000) as failed:
            bridge.start()
    assert str(port) in failed.args[0] and "in use" in failed.args[0]
    assert bridge.base_url is None
    with qtbot.waitSignal(bridge.stopped, timeout=5000):
        bridge.stop()


def test_bad_config_fails_with_a_message(qtbot, make_bridge, options, tmp_path):
    config = tmp_path / "broken.json"
    config.write_text('{"routes": [{"name": "x"}]}')
    bridge = make_bridge(GatewayOptions(home=options.home, config_path=config, port=0, discover_local=False))
    with qtbot.waitSignal(bridge.start_failed, timeout=10000) as failed:
        bridge.start()
    assert "routes" in failed.args[0]


def test_access_key_from_the_environment(qtbot, started):
    with qtbot.waitSignal(started.access_keys.client_key_fetched, timeout=5000) as fetched:
        started.access_keys.fetch_client_key()
    assert fetched.args[0] == ACCESS_KEY


def test_routes_are_the_config_in_force(started):
    names = [(r.name, r.enabled) for r in started.config.routes()]
    assert ("demo", True) in names
