"""Slow first tokens and slow-but-alive streams (RELIABILITY F-01d, F-01e, with F-05's commit point).

Scaled down: the gateway's commit window and keep-alive interval are 0.15 s here (10 s and 15 s
by default), the upstream takes 1 s to its first token, and the client gives up after 0.5 s
without a byte (a client read timeout, like F-01e's 30 s against a 90 s first token).

- F-01e: the client gets ``: keep-alive`` comments while it waits, stays connected and gets the
  whole answer, on Chat Completions (raw, and through the OpenAI SDK) and on Messages; whether
  the upstream is slow to send its headers or to send its first event after them.
- A fallback after the commit is still invisible (one complete stream, one role delta).
- Every target failing after the commit ends the stream with an in-band error, no ``[DONE]``.
- F-01d: chunks arriving just within the idle timeout, for several times that timeout, are not
  a timeout.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import orjson
import pytest

from proxy.server import streaming
from tests.fakes.openai_upstream import Delay, FakeOpenAIUpstream, OpenAIError, Stream
from tests.helpers import gateway_context
from tests.security import figures

KEY = "sk-slow-first-token-upstream-key-0000"
CLIENT_READ_TIMEOUT = 0.5
FIRST_TOKEN = 1.0
EXPECTED = "Hello from fake upstream! You said: take your time"


@pytest.fixture(autouse=True)
def quick_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "COMMIT_AFTER", 0.15)
    monkeypatch.setattr(streaming, "KEEPALIVE_EVERY", 0.15)


def config(*upstreams: FakeOpenAIUpstream, idle: float = 5.0) -> dict:
    timeouts = {"first_token": 5, "idle": idle}
    return {
        "providers": [
            {"id": f"p{i}", "base_url": u.base_url, "key": {"env": "SB_SLOW_KEY"}, "timeouts": timeouts}
            for i, u in enumerate(upstreams)
        ],
        "routes": [
            {
                "name": "slow",
                "targets": [{"provider": f"p{i}", "model": "gpt-4o-mini"} for i in range(len(upstreams))],
                "retries": {"max_retries": 0},
            }
        ],
    }


async def post_stream(base: str, headers: dict, path: str, body: dict) -> tuple[int, bytes]:
    """POST and read the whole stream with a client that gives up after 0.5 s without a byte."""
    timeout = aiohttp.ClientTimeout(total=30, sock_read=CLIENT_READ_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.post(base + path, json=body, headers=headers) as resp:
            return resp.status, await resp.read()


def chat_text(raw: bytes) -> tuple[str, list[bytes]]:
    events = [e[6:] for e in raw.split(b"\n\n") if e.startswith(b"data: ")]
    text = "".join(
        c["delta"].get("content") or "" for e in events if e != b"[DONE]" for c in orjson.loads(e).get("choices") or []
    )
    return text, events


CHAT = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "take your time"}]}


@pytest.mark.parametrize("slow", ["headers", "first event"])
async def test_a_slow_first_token_gets_keepalives_and_the_whole_answer(tmp_path: Path, slow: str) -> None:
    async with FakeOpenAIUpstream(api_key=KEY) as upstream:
        behaviour = Delay(FIRST_TOKEN, Stream()) if slow == "headers" else Stream(first_delay=FIRST_TOKEN)
        upstream.script(behaviour, behaviour)  # the second one for the SDK
        async with gateway_context(tmp_path, config(upstream), env={"SB_SLOW_KEY": KEY}) as ctx:
            started = time.monotonic()
            status, raw = await post_stream(ctx.base_url, ctx.headers(), "/v1/chat/completions", CHAT)
            waited = time.monotonic() - started
            text, events = chat_text(raw)
            figures.add("keepalive_streams", source=__name__)
            assert status == 200 and waited >= FIRST_TOKEN
            assert raw.count(b": keep-alive\n\n") >= 3, raw[:200]
            assert text == EXPECTED and events[-1] == b"[DONE]"
            assert ctx.rows()[-1].status == "ok"
            if slow == "headers":
                return
            # The OpenAI SDK skips the comments too.
            client = ctx.openai(timeout=30)
            stream = await client.chat.completions.create(
                model="slow", stream=True, messages=[{"role": "user", "content": "take your time"}]
            )
            assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == EXPECTED
            assert [r.status for r in ctx.rows()] == ["ok", "ok"]


async def test_messages_streams_get_keepalives_too(tmp_path: Path) -> None:
    async with FakeOpenAIUpstream(api_key=KEY) as upstream:
        upstream.script(Stream(first_delay=FIRST_TOKEN))
        async with gateway_context(tmp_path, config(upstream), env={"SB_SLOW_KEY": KEY}) as ctx:
            body = {**CHAT, "max_tokens": 50}
            status, raw = await post_stream(ctx.base_url, ctx.headers(), "/v1/messages", body)
            assert status == 200 and raw.count(b": keep-alive\n\n") >= 3
            assert raw.rstrip().split(b"\n")[-2] == b"event: message_stop", raw[-300:]
            deltas = [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]
            text = "".join(d["delta"].get("text", "") for d in deltas if d["type"] == "content_block_delta")
            assert text == EXPECTED


async def test_a_fallback_after_the_commit_is_invisible(tmp_path: Path) -> None:
    async with FakeOpenAIUpstream(api_key=KEY) as first, FakeOpenAIUpstream(api_key=KEY) as second:
        first.script(Delay(0.6, OpenAIError(503, "overloaded", type="server_error")))
        second.script(Stream(first_delay=0.3))
        async with gateway_context(tmp_path, config(first, second), env={"SB_SLOW_KEY": KEY}) as ctx:
            status, raw = await post_stream(ctx.base_url, ctx.headers(), "/v1/chat/completions", CHAT)
            text, events = chat_text(raw)
            assert status == 200 and raw.count(b": keep-alive") >= 2
            assert text == EXPECTED and events[-1] == b"[DONE]"
            assert sum(b'"role":"assistant"' in e for e in events) == 1, "exactly one stream reached the client"
            row = ctx.rows()[-1]
            assert row.status == "ok" and row.provider == "p1" and row.attempts == 2


async def test_every_target_failing_after_the_commit_ends_with_an_error_event(tmp_path: Path) -> None:
    async with FakeOpenAIUpstream(api_key=KEY) as upstream:
        upstream.script(Delay(0.6, OpenAIError(503, "overloaded", type="server_error")))
        async with gateway_context(tmp_path, config(upstream), env={"SB_SLOW_KEY": KEY}) as ctx:
            status, raw = await post_stream(ctx.base_url, ctx.headers(), "/v1/chat/completions", CHAT)
            _, events = chat_text(raw)
            assert status == 200 and raw.startswith(b": keep-alive\n\n")
            assert len(events) == 1 and b"[DONE]" not in raw
            error = orjson.loads(events[0])["error"]
            assert "overloaded" in error["message"], error
            row = ctx.rows()[-1]
            assert row.status == "upstream_error" and "keep-alive" in (row.error or "")


async def test_a_slow_but_alive_stream_is_not_a_timeout(tmp_path: Path) -> None:
    """F-01d: a chunk every 0.25 s against a 0.35 s idle timeout, 6 chunks (4x the timeout)."""
    async with FakeOpenAIUpstream(api_key=KEY, chunks=6, chunk_delay=0.25) as upstream:
        async with gateway_context(tmp_path, config(upstream, idle=0.35), env={"SB_SLOW_KEY": KEY}) as ctx:
            status, raw = await post_stream(ctx.base_url, ctx.headers(), "/v1/chat/completions", CHAT)
            text, events = chat_text(raw)
            assert status == 200 and text == EXPECTED and events[-1] == b"[DONE]"
            assert ctx.rows()[-1].status == "ok"


async def test_responses_streams_get_keepalives_and_an_error_event_if_all_fail(tmp_path: Path) -> None:
    """The Responses surface (Codex CLI) too: comments while waiting, then the whole event sequence;
    a failure after the commit ends with the Responses ``error`` event."""
    body = {"model": "slow", "stream": True, "input": "take your time"}
    async with FakeOpenAIUpstream(api_key=KEY) as upstream:
        upstream.script(
            Stream(first_delay=FIRST_TOKEN), Delay(0.6, OpenAIError(503, "overloaded", type="server_error"))
        )
        async with gateway_context(tmp_path, config(upstream), env={"SB_SLOW_KEY": KEY}) as ctx:
            status, raw = await post_stream(ctx.base_url, ctx.headers(), "/v1/responses", body)
            assert status == 200 and raw.count(b": keep-alive\n\n") >= 3
            events = [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]
            assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
            text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
            assert text == EXPECTED

            status, raw = await post_stream(ctx.base_url, ctx.headers(), "/v1/responses", body)
            assert status == 200 and raw.startswith(b": keep-alive\n\n")
            events = [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]
            assert [e["type"] for e in events] == ["error"] and "overloaded" in events[0]["message"]
            assert b"event: error\n" in raw
            assert [r.status for r in ctx.rows()][-2:][0] == "ok"
