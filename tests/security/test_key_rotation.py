"""Key rotation with streams in flight (RELIABILITY S-03d, and C-04's key-rotation rule).

Ten streams are running, each started with access key ``old`` and sent upstream with provider key
``OLD``. Then, the way the CLI and the tray do it: a new access key is created and ``old`` revoked
(the index file changes), and the provider key in the keychain is replaced (``keys-changed`` is
touched). Expected: the ten streams finish, whole, with the keys they started with; within about a
second the old access key gets 401; a new request with the new access key is served and reaches
the upstream with the new provider key only.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from pathlib import Path

import aiohttp
import orjson
import pytest

from proxy.config.schema import GatewayConfig
from proxy.engine.gateway import GatewayOptions
from proxy.server.app import new_gateway
from proxy.storage.access_keys import ACCESS_KEY_ENV, AccessKeyStore
from proxy.storage.secrets import MemorySecretStore, SecretResolver
from proxy.support.paths import Home
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.security import figures

OLD_PROVIDER_KEY = "sk-rotation-old-provider-key-00000000"
NEW_PROVIDER_KEY = "sk-rotation-new-provider-key-11111111"
STREAMS = 10


async def stream_text(http: aiohttp.ClientSession, base: str, key: str, said: str) -> tuple[int, str, bool]:
    """(status, streamed text, ended with [DONE])."""
    body = {"model": "paid", "stream": True, "messages": [{"role": "user", "content": said}]}
    async with http.post(f"{base}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}) as r:
        raw = await r.read()
        if r.status != 200:
            return r.status, "", False
    events = [e[6:] for e in raw.split(b"\n\n") if e.startswith(b"data: ")]
    text = "".join(
        c["delta"].get("content") or "" for e in events if e != b"[DONE]" for c in orjson.loads(e).get("choices") or []
    )
    return 200, text, bool(events) and events[-1] == b"[DONE]"


async def models_status(http: aiohttp.ClientSession, base: str, key: str) -> int:
    async with http.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {key}"}) as resp:
        return resp.status


async def test_streams_in_flight_finish_and_new_requests_use_the_new_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    monkeypatch.delenv(ACCESS_KEY_ENV, raising=False)  # keys from the index, so they can be revoked
    keychain = MemorySecretStore({"provider-up": OLD_PROVIDER_KEY})
    home = Home.resolve(tmp_path)
    store = AccessKeyStore(home.access_keys_index, keychain)
    old_key, _ = store.create("old")
    async with FakeOpenAIUpstream(api_key=None, chunks=10, chunk_delay=0.2) as upstream:
        config = GatewayConfig.model_validate(
            {
                "providers": [{"id": "up", "base_url": upstream.base_url, "key": {"keychain": "provider-up"}}],
                "routes": [{"name": "paid", "targets": [{"provider": "up", "model": "gpt-4o-mini"}]}],
            }
        )
        options = GatewayOptions(home=tmp_path, port=0, discover_local=False)
        gateway = new_gateway(options, config=config, secrets=SecretResolver(keychain=keychain))
        base = await gateway.start()
        try:
            async with aiohttp.ClientSession() as http:
                streams = [asyncio.create_task(stream_text(http, base, old_key, f"stream {i}")) for i in range(STREAMS)]
                while len(upstream.requests) < STREAMS:  # all ten are in flight upstream
                    await asyncio.sleep(0.02)
                # Rotate both keys, as `switchboard access-key` and `switchboard keys set` do.
                new_key, _ = store.create("new")
                store.revoke("old")
                keychain.set("provider-up", NEW_PROVIDER_KEY)
                home.keys_epoch_file.touch()
                rotated = time.monotonic()
                while await models_status(http, base, old_key) != 401:
                    assert time.monotonic() - rotated < 5, "the revoked key still works"
                    await asyncio.sleep(0.05)
                refused_after = time.monotonic() - rotated
                assert not all(t.done() for t in streams), "the rotation happened while streams were in flight"
                await asyncio.sleep(0.6)  # one more watch cycle: the provider key change is picked up too
                status, text, done = await stream_text(http, base, new_key, "after rotation")
                results = await asyncio.gather(*streams)
        finally:
            await gateway.stop()
        gc.collect()  # an upstream session dropped without closing it says so when collected
        await asyncio.sleep(0)
        figures.add("key_rotations", source=__name__)
        print(f"old access key refused {refused_after * 1000:.0f} ms after the rotation")
        for i, (code, streamed, finished) in enumerate(results):
            assert code == 200 and finished and streamed == f"Hello from fake upstream! You said: stream {i}"
        assert status == 200 and done and text.endswith("after rotation")
        sent = [r.headers["Authorization"] for r in upstream.requests if r.path.endswith("/chat/completions")]
        assert sent[:STREAMS] == [f"Bearer {OLD_PROVIDER_KEY}"] * STREAMS
        assert sent[STREAMS:] == [f"Bearer {NEW_PROVIDER_KEY}"], "new requests use the new provider key only"
        assert refused_after < 1.5, refused_after  # the watcher is told by inotify (or polls every 1 s)
        unclosed = [r.getMessage() for r in caplog.records if "Unclosed" in r.getMessage()]
        assert unclosed == [], "the retired provider adapter's connections were closed"
