"""Bad input fuzzing over the inbound surfaces (RELIABILITY F-07, issue 9 item 4).

hypothesis generates bodies (arbitrary JSON, JSON shaped almost like a real request, raw bytes
including invalid UTF-8) and sends them over a real socket to a running gateway on the demo
provider. Every answer must be a precise error in the API's own shape (or a real answer, when a
generated body happens to be valid), never a 5xx; afterwards the gateway still serves, every
request has its log row, and memory stayed bounded.
"""

from __future__ import annotations

import asyncio
import json
import resource
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import ACCESS_KEY, gateway_context

PATHS = ("/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/messages/count_tokens")
HEADERS = {"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"}

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


async def test_generated_bodies_get_precise_4xx_and_the_gateway_keeps_serving(tmp_path: Path) -> None:
    sent = 0
    async with gateway_context(tmp_path) as ctx:
        loop = asyncio.get_running_loop()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        async with aiohttp.ClientSession() as http:

            async def send(path: str, body: bytes) -> None:
                nonlocal sent
                async with http.post(f"{ctx.base_url}{path}", data=body, headers=HEADERS) as resp:
                    raw = await resp.read()
                    sent += 1
                    check_answer(path, resp.status, raw)

            @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(path=st.sampled_from(PATHS), body=bodies)
            def run(path: str, body: bytes) -> None:
                # hypothesis drives synchronously: run each example on the gateway's loop thread
                asyncio.run_coroutine_threadsafe(send(path, body), loop).result(30)

            await asyncio.to_thread(run)
            # Pathological shapes, once each.
            deep = b"[" * 100_000 + b"]" * 100_000
            for path in PATHS:
                await send(path, deep)
                await send(path, b'{"model": "demo", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}")
                await send(path, b"\xff\xfe\xfd{not utf-8")
                await send(path, b'{"model": "demo", "model": "demo", "messages": []}')
            async with http.get(f"{ctx.base_url}/health") as resp:
                assert resp.status == 200
            body = {"model": "demo", "messages": [{"role": "user", "content": "still here?"}]}
            async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=HEADERS) as resp:
                assert resp.status == 200
                sent += 1
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert rss_after - rss_before < 200 * 1024, "peak RSS grew by more than 200 MiB"
        rows = ctx.rows(limit=100_000)
        assert len(rows) == sent, "every request has exactly one log row"
        odd = {(r.status, r.http_status, r.error) for r in rows if r.http_status >= 500 or r.status == "error"}
        assert not odd, odd
