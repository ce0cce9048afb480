"""GatewayThread: the gateway on its own thread and loop, as the tray app uses it."""

from __future__ import annotations

import json
import socket
import threading

import openai
import pytest

from proxy.config.schema import GatewayConfig
from proxy.domain.errors import GatewayNotRunning, GatewayStartError
from proxy.domain.events import RequestFinished, RequestLogged, RequestStarted, ServerStarted, ServerStopped
from proxy.engine.gateway import GatewayOptions
from proxy.host.runner import GatewayThread
from tests.helpers import ACCESS_KEY, DEMO_CONFIG


@pytest.fixture
def access_key(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", ACCESS_KEY)


def test_end_to_end_events_and_log(tmp_path, access_key):
    thread = GatewayThread(GatewayOptions(home=tmp_path, port=0), config=GatewayConfig.model_validate(DEMO_CONFIG))
    seen: list[tuple[str, str]] = []
    logged = threading.Event()

    def on_event(event):
        seen.append((type(event).__name__, threading.current_thread().name))
        if isinstance(event, RequestLogged):
            logged.set()

    thread.events.connect(on_event)
    url = thread.start()
    try:
        assert url.startswith("http://127.0.0.1:") and thread.base_url == url
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=ACCESS_KEY, max_retries=0)
        client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "thread"}])
        assert logged.wait(5)
        rows = thread.query_log(10)
        assert [(r.requested_model, r.status) for r in rows] == [("demo", "ok")]
    finally:
        thread.stop()
    names = [name for name, _ in seen]
    assert names[0] == ServerStarted.__name__ and names[-1] == ServerStopped.__name__
    threads = dict(seen)
    assert threads[RequestStarted.__name__] == "switchboard-gateway"
    assert threads[RequestFinished.__name__] == "switchboard-gateway"
    assert threads[RequestLogged.__name__] == "switchboard-log-writer"
    leftover = [t.name for t in threading.enumerate() if t.name.startswith("switchboard-")]
    assert leftover == [], leftover


def test_start_failure_is_raised_to_the_caller(tmp_path, access_key):
    first = GatewayThread(GatewayOptions(home=tmp_path / "a", port=0), config=GatewayConfig.model_validate(DEMO_CONFIG))
    url = first.start()
    try:
        port = int(url.rsplit(":", 1)[1])
        second = GatewayThread(
            GatewayOptions(home=tmp_path / "b", port=port), config=GatewayConfig.model_validate(DEMO_CONFIG)
        )
        with pytest.raises(GatewayStartError, match=f"Port {port} on 127.0.0.1 is already in use"):
            second.start()
    finally:
        first.stop()


def test_apply_config_from_another_thread(tmp_path, access_key):
    thread = GatewayThread(GatewayOptions(home=tmp_path, port=0), config=GatewayConfig.model_validate(DEMO_CONFIG))
    url = thread.start()
    try:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=ACCESS_KEY, max_retries=0)
        renamed = {**DEMO_CONFIG, "routes": [{"name": "renamed", "targets": [{"provider": "demo", "model": "echo"}]}]}
        thread.apply_config(GatewayConfig.model_validate(renamed)).result(5)
        assert client.chat.completions.create(model="renamed", messages=[{"role": "user", "content": "x"}]).choices
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}])
    finally:
        thread.stop()


def test_a_stopped_or_failed_gateway_refuses_changes_in_plain_words(tmp_path, access_key):
    thread = GatewayThread(GatewayOptions(home=tmp_path, port=0), config=GatewayConfig.model_validate(DEMO_CONFIG))
    with pytest.raises(GatewayNotRunning, match="not running"):  # never started
        thread.update_config("x", lambda data: None)
    thread.start()
    thread.stop()
    with pytest.raises(GatewayNotRunning, match="The gateway is not running, so nothing was changed"):
        thread.update_config("x", lambda data: None)  # was "RuntimeError: Event loop is closed"


def test_a_config_whose_port_is_taken_is_not_saved(tmp_path, access_key):
    config_path = tmp_path / "config.json"
    config_path.write_text('{"server": {"port": 0}}')
    thread = GatewayThread(GatewayOptions(home=tmp_path, config_path=config_path, discover_local=False))
    url = thread.start()
    try:
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            busy = holder.getsockname()[1]
            before = config_path.read_text(), [v.number for v in thread.gateway.store.history()]

            def take_busy_port(data):
                data.setdefault("server", {})["port"] = busy

            with pytest.raises(GatewayStartError, match=f"Port {busy} on 127.0.0.1 is already in use") as error:
                thread.update_config("port", take_busy_port).result(10)
            assert error.value.port_in_use == busy
            assert (config_path.read_text(), [v.number for v in thread.gateway.store.history()]) == before
            assert thread.base_url == url and thread.gateway.snapshot.config.server.port == 0
    finally:
        thread.stop()


def test_after_a_failed_start_the_file_can_take_a_free_port_and_start_again(tmp_path, access_key):
    config_path = tmp_path / "config.json"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        config_path.write_text(json.dumps({"server": {"port": busy}}))
        thread = GatewayThread(GatewayOptions(home=tmp_path, config_path=config_path, discover_local=False))
        with pytest.raises(GatewayStartError):
            thread.start()
        assert not thread.is_running
        done = thread.use_free_port()
        port = json.loads(config_path.read_text())["server"]["port"]
        assert done == f"Port {busy} was in use: port {port}" and port != busy
        assert thread.start() == f"http://127.0.0.1:{port}"
        thread.stop()


def test_read_runs_on_the_gateway_thread_at_once_from_a_callback_and_handed_over_from_others(tmp_path, access_key):
    thread = GatewayThread(GatewayOptions(home=tmp_path, port=0), config=GatewayConfig.model_validate(DEMO_CONFIG))
    with pytest.raises(GatewayNotRunning):
        thread.read(lambda gateway: gateway.base_url)  # no loop to read on
    from_callback: list[tuple[str, str | None]] = []

    def on_event(event):
        if isinstance(event, ServerStarted):  # on the gateway's thread: must not wait for its own loop
            from_callback.append(thread.read(lambda gateway: (threading.current_thread().name, gateway.base_url)))

    thread.events.connect(on_event)
    url = thread.start()
    try:
        assert from_callback == [("switchboard-gateway", url)]
        assert thread.read(lambda gateway: threading.current_thread().name) == "switchboard-gateway"
    finally:
        thread.stop()
