"""Bad input fuzzing over the inbound surfaces (RELIABILITY F-07, issue 9 item 4).

hypothesis generates bodies (arbitrary JSON, JSON shaped almost like a real request, raw bytes
including invalid UTF-8) and sends them over a real socket to a running gateway on the demo
provider. Every answer must be a precise error in the API's own shape (or a real answer, when a
generated body happens to be valid), never a 5xx; afterwards the gateway still serves, every
request has its log row, and the gateway's peak memory grew by less than 64 MiB.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.storage.request_log import read_recent
from proxy.support.paths import Home
from tests.helpers import ACCESS_KEY, DEMO_CONFIG, serve_subprocess
from tests.security import figures

PATHS = ("/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/messages/count_tokens")
HEADERS = {"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"}
EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "300"))
"""hypothesis examples (CI: 300; the long suite runs more)."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
roles = st.sampled_from(["user", "assistant", "system", "tool", "developer", "robot", "", None, 3])
contents = st.one_of(
    st.text(max_size=30),
    st.none(),
    st.integers(),
    st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "image", "image_url", "tool_result", "tool_use", "nope"])},
            optional={"text": json_values, "source": json_values, "tool_use_id": json_values, "image_url": json_values},
        ),
        max_size=3,
    ),
)
messages = st.lists(st.fixed_dictionaries({"role": roles}, optional={"content": contents}), max_size=4)
requests_ = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["demo", "demo-embed", "nope", "", 7, None]),
        "messages": messages | json_values,
        "max_tokens": st.integers(-5, 50) | json_values,
        "stream": st.booleans() | json_values,
        "input": st.text(max_size=20) | json_values,
        "tools": st.lists(json_values, max_size=2),
        "tool_choice": json_values,
        "system": st.text(max_size=20) | json_values,
        "n": st.integers(-2, 3),
        "stream_options": json_values,
    },
)
bodies = st.one_of(
    requests_.map(lambda v: json.dumps(v).encode()),  # stdlib: big integers too
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.text(max_size=50).map(lambda t: t.encode("utf-16")),  # not UTF-8 at all
)


def check_answer(path: str, status: int, raw: bytes) -> None:
    assert status < 500, (path, status, raw[:300])
    if status == 200:
        return
    data: Any = orjson.loads(raw)
    if path.startswith("/v1/messages"):
        assert data["type"] == "error" and data["error"]["type"] and data["error"]["message"], data
    else:
        assert data["error"]["message"] and data["error"]["type"], data


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.timeout(120 + EXAMPLES // 10)
async def test_generated_bodies_get_precise_4xx_and_the_gateway_keeps_serving(tmp_path: Path) -> None:
    """The gateway runs as its own process, so its memory is measured apart from hypothesis'."""
    sent = 0
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(DEMO_CONFIG))
    home = tmp_path / "home"
    proc, base = serve_subprocess(home, cfg)
    try:
        assert base.startswith("http://127.0.0.1:"), base
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as http:

            async def send(path: str, body: bytes, bad: bool = True) -> None:
                nonlocal sent
                async with http.post(f"{base}{path}", data=body, headers=HEADERS) as resp:
                    raw = await resp.read()
                    sent += 1
                    figures.add("bad_inputs", bad, source=__name__)
                    figures.add("gateway_5xx", resp.status >= 500)
                    check_answer(path, resp.status, raw)

            warm = b'{"model": "demo", "messages": [{"role": "user", "content": "warm"}]}'
            await send("/v1/chat/completions", warm, bad=False)
            rss_before = peak_rss_kib(proc.pid)

            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(path=st.sampled_from(PATHS), body=bodies)
            def run(path: str, body: bytes) -> None:
                # hypothesis drives synchronously: run each example on the test's loop
                asyncio.run_coroutine_threadsafe(send(path, body), loop).result(30)

            await asyncio.to_thread(run)
            # Pathological shapes, once each.
            deep = b"[" * 100_000 + b"]" * 100_000
            for path in PATHS:
                await send(path, deep)
                await send(path, b'{"model": "demo", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}")
                await send(path, b"\xff\xfe\xfd{not utf-8")
                await send(path, b'{"model": "demo", "model": "demo", "messages": []}')
            async with http.get(f"{base}/health") as resp:
                assert resp.status == 200
            body = {"model": "demo", "messages": [{"role": "user", "content": "still here?"}]}
            async with http.post(f"{base}/v1/chat/completions", json=body, headers=HEADERS) as resp:
                assert resp.status == 200
                sent += 1
            growth = peak_rss_kib(proc.pid) - rss_before
            assert growth < 64 * 1024, f"the gateway's peak RSS grew by {growth} KiB"
    finally:
        crashed = proc.poll() is not None  # it died before we asked it to stop
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        crashed = crashed or proc.returncode != 0 or "Traceback" in err
        figures.add("gateway_crashes", crashed, source=__name__)
    assert not crashed, err[-2000:]
    rows = read_recent(Home.resolve(home).log_db, 100_000)
    assert len(rows) == sent, "every request has exactly one log row"
    odd = {(r.status, r.http_status, r.error) for r in rows if r.http_status >= 500 or r.status == "error"}
    assert not odd, odd
