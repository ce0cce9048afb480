"""A bug inside Switchboard while a request runs: the client gets a clear end, never a silent wait.

Before any byte went out, the answer is a 500 ``internal_error`` in the client's API shape. Once
the status and headers of a stream are out, no second response can follow them: the connection
is closed at once (the soak test once saw a client wait 30 s for a stream whose handler had
already failed), and the log row says what happened. Either way the gateway keeps serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from proxy.providers.demo import DemoAdapter
from proxy.support.sse import SSEEvent
from tests.helpers import gateway_context

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "one two three four five"}]}


def broken_after_first_event(monkeypatch: pytest.MonkeyPatch) -> None:
    original = DemoAdapter._stream

    async def stream(self: DemoAdapter, body: dict[str, Any], plan: Any) -> AsyncIterator[SSEEvent]:
        async for event in original(self, body, plan):
            yield event
            if event.data and b'"content":"' in event.data and b'"content":""' not in event.data:
                raise RuntimeError("a bug in the middle of a stream")

    monkeypatch.setattr(DemoAdapter, "_stream", stream)


async def test_a_bug_mid_stream_closes_the_connection_and_is_logged(tmp_path, monkeypatch):
    broken_after_first_event(monkeypatch)
    async with gateway_context(tmp_path) as gw:
        async with aiohttp.ClientSession(headers=gw.headers()) as http:
            async with http.post(f"{gw.base_url}/v1/chat/completions", json={**CHAT, "stream": True}) as resp:
                assert resp.status == 200  # the stream had begun
                received = b""
                async with asyncio.timeout(10):  # the bug: it waited for ever here
                    with pytest.raises(aiohttp.ClientPayloadError):
                        async for chunk in resp.content.iter_any():
                            received += chunk
            assert b'"content":"' in received and b"[DONE]" not in received
            # the gateway still serves, and the row tells the story
            async with http.post(f"{gw.base_url}/v1/chat/completions", json=CHAT) as resp:
                assert resp.status == 200
        rows = gw.rows(2)
        failed = next(r for r in rows if r.stream)
        assert failed.status == "error" and "Internal error in Switchboard (RuntimeError)" in (failed.error or "")


async def test_a_bug_before_the_answer_is_a_500_in_the_api_shape(tmp_path, monkeypatch):
    async def broken(self: DemoAdapter, call: Any) -> Any:
        raise RuntimeError("a bug before the answer")

    monkeypatch.setattr(DemoAdapter, "call", broken)
    async with gateway_context(tmp_path) as gw:
        async with aiohttp.ClientSession(headers=gw.headers()) as http:
            async with http.post(f"{gw.base_url}/v1/chat/completions", json=CHAT) as resp:
                assert resp.status == 500
                body = await resp.json()
            assert body["error"]["type"] == "internal_error"
            assert body["error"]["message"] == "Internal error in Switchboard (RuntimeError)."
            anthropic = {"model": "demo", "max_tokens": 50, "messages": CHAT["messages"]}
            async with http.post(f"{gw.base_url}/v1/messages", json=anthropic) as resp:
                assert resp.status == 500
                body = await resp.json()
            assert body["type"] == "error" and body["error"]["type"] == "api_error"
