"""Live config: hand edits picked up, invalid edits rejected, reloads that drop nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import aiohttp
import openai
import pytest

from proxy.config.schema import GatewayConfig
from proxy.config.store import ConfigStore
from proxy.domain.events import ConfigApplied, ConfigRejected, GatewayEvents
from proxy.engine import watcher
from proxy.engine.gateway import GatewayOptions
from proxy.server.app import new_gateway
from proxy.support.net import free_port
from tests.helpers import ACCESS_KEY, gateway_context

CONFIG = {
    "server": {"drain_timeout": 5},
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 30}}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}
MESSAGES = [{"role": "user", "content": "one two three four five six seven"}]


def with_routes(*names: str) -> dict:
    return {**CONFIG, "routes": [{"name": n, "targets": [{"provider": "demo", "model": "echo"}]} for n in names]}


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def recorder() -> tuple[GatewayEvents, list]:
    events = GatewayEvents()
    seen: list = []
    events.connect(lambda e: seen.append(e) if isinstance(e, (ConfigApplied, ConfigRejected)) else None)
    return events, seen


async def test_hand_edit_is_applied_and_versioned(tmp_path):
    events, seen = recorder()
    async with gateway_context(tmp_path, CONFIG, config_file=True, events=events) as ctx:
        store = ConfigStore(tmp_path / "config.json")
        assert [v.author for v in store.history()] == ["initial"]
        (tmp_path / "config.json").write_text(json.dumps(with_routes("demo", "edited")))
        await wait_for(lambda: any(isinstance(e, ConfigApplied) for e in seen))
        client = ctx.openai()
        assert (await client.chat.completions.create(model="edited", messages=MESSAGES)).choices
        await client.close()
        versions = store.history()
        assert [(v.author, v.summary) for v in versions] == [
            ("initial", "initial config"),
            ("file edit", "routes: +edited"),
        ]


async def test_invalid_hand_edit_is_rejected_and_the_last_good_config_stays(tmp_path):
    events, seen = recorder()
    async with gateway_context(tmp_path, CONFIG, config_file=True, events=events) as ctx:
        path = tmp_path / "config.json"
        path.write_text(json.dumps({**CONFIG, "server": {"port": "lots"}}))
        await wait_for(lambda: any(isinstance(e, ConfigRejected) for e in seen))
        rejected = next(e for e in seen if isinstance(e, ConfigRejected))
        assert rejected.source == str(path)
        assert rejected.problems == (
            "server.port: Input should be a valid integer, unable to parse string as an integer",
        )
        client = ctx.openai()
        assert (await client.chat.completions.create(model="demo", messages=MESSAGES)).choices
        path.write_text("{broken json")
        await wait_for(lambda: sum(isinstance(e, ConfigRejected) for e in seen) == 2)
        assert "line 1 column 2: invalid JSON" in seen[-1].problems[0]
        path.write_text(json.dumps(with_routes("fixed")))
        await wait_for(lambda: isinstance(seen[-1], ConfigApplied))
        assert (await client.chat.completions.create(model="fixed", messages=MESSAGES)).choices
        await client.close()


async def test_reload_under_a_running_stream(tmp_path):
    async with gateway_context(tmp_path, CONFIG, config_file=True) as ctx:
        client = ctx.openai()
        stream = await client.chat.completions.create(model="demo", messages=MESSAGES, stream=True)
        first = await stream.__anext__()
        assert first.choices[0].delta.role == "assistant"
        await ctx.gateway.save_config(GatewayConfig.model_validate(with_routes("renamed")), "cli")
        rest = [c async for c in stream]
        assert rest[-1].choices[0].finish_reason == "stop", "the stream in flight completes"
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="demo", messages=MESSAGES)
        assert (await client.chat.completions.create(model="renamed", messages=MESSAGES)).choices
        await client.close()


async def test_port_change_rebinds_without_losing_streams(tmp_path):
    async with gateway_context(tmp_path, CONFIG) as ctx:
        ctx.gateway.options = type(ctx.gateway.options)(**{**ctx.gateway.options.__dict__, "port": None})
        old_port = ctx.port
        async with aiohttp.ClientSession() as s:
            body = {"model": "demo", "messages": MESSAGES, "stream": True}
            async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                first = await resp.content.readline()
                assert first.startswith(b"data: ")
                with_port = {**CONFIG, "server": {**CONFIG["server"], "port": free_port()}}
                await ctx.gateway.apply_config(GatewayConfig.model_validate(with_port))
                assert ctx.port != old_port
                rest = await resp.read()
                assert rest.endswith(b"data: [DONE]\n\n"), "the stream on the old port finishes"
            new_headers = {"Authorization": f"Bearer {ACCESS_KEY}"}
            async with s.get(f"http://127.0.0.1:{ctx.port}/v1/models", headers=new_headers) as resp:
                assert resp.status == 200
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", old_port)


async def test_invalid_file_at_startup_falls_back_to_the_last_good_version(tmp_path, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", ACCESS_KEY)
    store = ConfigStore(tmp_path / "config.json")
    store.save(GatewayConfig.model_validate(with_routes("good")), "cli")
    (tmp_path / "config.json").write_text('{"routes": 5}')
    events, seen = recorder()
    gateway = new_gateway(GatewayOptions(home=tmp_path, config_path=tmp_path / "config.json", port=0), events=events)
    try:
        await gateway.start()
        assert [r.name for r in gateway.snapshot.config.routes] == ["good"]
        assert any(
            isinstance(e, ConfigRejected) and "routes: Input should be a valid list" in e.problems[0] for e in seen
        )
    finally:
        await gateway.stop()


def _atomic_write(path, text: str) -> None:
    """How editors and the CLI save: a temp file renamed over the old one (a new inode)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
async def test_idle_watcher_looks_at_nothing_and_every_atomic_save_is_seen(tmp_path):
    """Idle, no check runs at all (no polling: zero wake-ups); each of several atomic replaces of
    the config file is applied (a watch on the file itself would see only the first)."""
    events, seen = recorder()
    async with gateway_context(tmp_path, CONFIG, config_file=True, events=events) as ctx:
        store = ctx.gateway.store
        await asyncio.sleep(0.2)  # its one look when it starts (at what changed since mark())
        calls = []
        original = store.file_hash
        store.file_hash = lambda: calls.append(1) or original()
        await asyncio.sleep(1.5)  # the polling watcher looked three times in this
        assert calls == []
        for n in range(3):
            _atomic_write(tmp_path / "config.json", json.dumps(with_routes("demo", f"edit{n}")))
            await wait_for(lambda n=n: sum(isinstance(e, ConfigApplied) for e in seen) == n + 1)
        assert [v.summary for v in ConfigStore(tmp_path / "config.json").history()][-1] == "routes: +edit2, -edit1"
        assert len(calls) <= 6  # one look per save (plus at most one for the rest of its burst)


async def test_without_file_notifications_it_polls(tmp_path, monkeypatch):
    """Where inotify is unavailable (macOS, Windows, no watches left) the watcher polls instead."""
    monkeypatch.setattr(watcher, "_notifier", lambda files: None)
    monkeypatch.setattr(watcher, "POLL_SECONDS", 0.1)
    events, seen = recorder()
    async with gateway_context(tmp_path, CONFIG, config_file=True, events=events):
        _atomic_write(tmp_path / "config.json", json.dumps(with_routes("demo", "polled")))
        await wait_for(lambda: any(isinstance(e, ConfigApplied) for e in seen))


def test_a_directory_that_does_not_exist_means_polling(tmp_path):
    assert watcher._notifier([tmp_path / "missing" / "config.json"]) is None
    if sys.platform.startswith("linux"):
        changes = watcher._notifier([tmp_path / "config.json"])
        assert changes is not None
        with changes:
            pass
