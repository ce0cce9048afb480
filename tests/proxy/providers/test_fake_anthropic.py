"""The fake Anthropic upstream's wire format, proven by pointing the official anthropic SDK straight at it
(and raw aiohttp where the point is exactly which bytes arrive: event sequence, stream endings)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import anthropic
import pytest

from tests.fakes.anthropic_upstream import (
    AnthropicError,
    Delay,
    FakeAnthropicUpstream,
    Hang,
    Reply,
    Stream,
    api_error,
    overloaded,
    permission_error,
    prompt_too_long,
    rate_limited,
    request_too_large,
)

KEY = "sk-ant-fake-selftest-0123456789"
MODEL = "claude-haiku-4-5"  # claude-sonnet-4-5 makes the SDK warn (deprecated)
MSGS = [{"role": "user", "content": "ping pong"}]
ANSWER = "Hello from fake Claude! You said: ping pong"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer"},
        },
        "required": ["city", "unit", "days"],
    },
}
TIME = {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
TOOLS = [WEATHER, TIME]
THINKING = {"type": "enabled", "budget_tokens": 1024}
ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    caplog.set_level(logging.WARNING)
    yield
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.split(".")[0] in ("aiohttp", "asyncio")]
    assert not bad, [r.getMessage() for r in bad]


@pytest.fixture
async def fake():
    async with FakeAnthropicUpstream(api_key=KEY) as f:
        yield f


@pytest.fixture
async def sdk(fake):
    client = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=KEY, max_retries=0, timeout=5)
    yield client
    await client.close()


@pytest.fixture
async def http():
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


async def create(sdk, **extra):
    return await sdk.messages.create(**{"model": MODEL, "max_tokens": 256, "messages": MSGS, **extra})


async def streamed(sdk, **extra):
    """Text deltas seen through the SDK's stream helper, and its final message."""
    async with sdk.messages.stream(**{"model": MODEL, "max_tokens": 256, "messages": MSGS, **extra}) as stream:
        texts = [t async for t in stream.text_stream]
        return texts, await stream.get_final_message()


def sse(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for frame in raw.decode().split("\n\n"):
        if frame:
            event, data = frame.split("\n")
            assert event.startswith("event: ") and data.startswith("data: "), frame
            out.append((event[7:], json.loads(data[6:])))
    return out


async def post(http, fake, path="/v1/messages", **body) -> tuple[int, dict, aiohttp.ClientResponse]:
    async with http.post(fake.base_url + path, json=body) as resp:
        return resp.status, await resp.json(), resp


def block_summary(message) -> list[tuple]:
    """Content blocks without their random ids, for stream vs non-stream comparisons."""
    return [
        (
            b.type,
            getattr(b, "text", None),
            getattr(b, "name", None),
            getattr(b, "input", None),
            getattr(b, "thinking", None),
        )
        for b in message.content
    ]


# -- messages: non-stream ----------------------------------------------------------------------------


async def test_text_message(fake, sdk):
    msg = await create(sdk, system="be brief", metadata={"user_id": "u-1"}, extra_body={"temperature": 0.2})
    assert msg.id.startswith("msg_") and (msg.type, msg.role, msg.model) == ("message", "assistant", MODEL)
    assert [(b.type, b.text) for b in msg.content] == [("text", ANSWER)]
    assert (msg.stop_reason, msg.stop_sequence) == ("end_turn", None)
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens == len(ANSWER.split())
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0

    sent = fake.requests[-1]
    assert (sent.method, sent.path, sent.json["messages"]) == ("POST", "/v1/messages", MSGS)
    assert sent.headers["anthropic-version"] and sent.headers["Authorization"] == f"Bearer {KEY}"

    fake.script(Reply(content="scripted words"), Stream(chunks=["from ", "chunks"]))
    assert (await create(sdk)).content[0].text == "scripted words"
    assert (await create(sdk)).content[0].text == "from chunks"

    short = await create(sdk, max_tokens=3)
    assert (short.content[0].text, short.stop_reason, short.usage.output_tokens) == ("Hello from fake", "max_tokens", 3)

    stopped = await create(sdk, stop_sequences=["nope", "You said"])
    assert stopped.content[0].text == "Hello from fake Claude! "
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "You said")

    snapshot = await create(sdk, model="claude-haiku-4-5-20251001")
    assert snapshot.model == "claude-haiku-4-5-20251001", "dated snapshots of a known model are accepted"


async def test_tool_use(fake, sdk):
    forced = await create(sdk, tools=TOOLS, tool_choice={"type": "any"})
    assert forced.stop_reason == "tool_use" and len(forced.content) == 1
    call = forced.content[0]
    assert call.type == "tool_use" and call.id.startswith("toolu_") and call.name == "get_weather"
    assert call.input == {"city": "ping pong", "unit": "c", "days": 1}

    named = await create(sdk, tools=TOOLS, tool_choice={"type": "tool", "name": "get_time"})
    assert [(b.type, b.name, b.input) for b in named.content] == [("tool_use", "get_time", {"tz": "ping pong"})]

    plain = await create(sdk, tools=TOOLS)
    assert plain.stop_reason == "end_turn" and plain.content[0].text == ANSWER, "auto: only when asked"

    ask = [{"role": "user", "content": "please use tool for Paris"}]
    auto = await create(sdk, tools=TOOLS, messages=ask)
    assert [b.type for b in auto.content] == ["text", "tool_use"] and auto.stop_reason == "tool_use"
    assert auto.content[0].text == "I'll use get_weather."

    none = await create(sdk, tools=TOOLS, messages=ask, tool_choice={"type": "none"})
    assert none.stop_reason == "end_turn" and [b.type for b in none.content] == ["text"]

    # the tool loop: results go back, the fake answers with text
    call = auto.content[1]
    loop = [
        *ask,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in auto.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny 21C"}]},
    ]
    done = await create(sdk, tools=TOOLS, messages=loop)
    assert done.stop_reason == "end_turn" and done.content[0].text == "Hello from fake Claude! You said: sunny 21C"


async def test_parallel_tool_use(sdk):
    ask = [{"role": "user", "content": "call tool twice, in parallel"}]
    msg = await create(sdk, tools=TOOLS, messages=ask)
    calls = [b for b in msg.content if b.type == "tool_use"]
    assert [c.name for c in calls] == ["get_weather", "get_time"] and msg.stop_reason == "tool_use"
    assert len({c.id for c in calls}) == 2
    single = await create(
        sdk, tools=TOOLS, messages=ask, tool_choice={"type": "auto", "disable_parallel_tool_use": True}
    )
    assert [b.type for b in single.content].count("tool_use") == 1


async def test_thinking(sdk):
    msg = await create(sdk, max_tokens=2048, thinking=THINKING)
    thinking, text = msg.content
    assert thinking.type == "thinking" and "ping pong" in thinking.thinking and len(thinking.signature) > 20
    assert text.type == "text" and text.text == ANSWER
    assert msg.usage.output_tokens == len(thinking.thinking.split()) + len(ANSWER.split())


async def test_prompt_caching(fake, sdk):
    system = [{"type": "text", "text": "long shared context " * 50, "cache_control": {"type": "ephemeral"}}]
    first = await create(sdk, system=system)
    assert first.usage.cache_creation_input_tokens >= 150 and first.usage.cache_read_input_tokens == 0
    second = await create(sdk, system=system, messages=[{"role": "user", "content": "another question"}])
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_creation.ephemeral_5m_input_tokens == 0
    fake.clear()
    assert (await create(sdk, system=system)).usage.cache_read_input_tokens == 0, "clear() forgets the cache"


# -- messages: streaming ------------------------------------------------------------------------------


async def test_stream_text_matches_non_stream(sdk):
    texts, final = await streamed(sdk)
    assert "".join(texts) == ANSWER and len(texts) == 5
    assert block_summary(final) == block_summary(await create(sdk))
    assert (final.stop_reason, final.usage.output_tokens) == ("end_turn", len(ANSWER.split()))
    assert final.usage.input_tokens > 0

    _, stopped = await streamed(sdk, stop_sequences=["You said"])
    assert (stopped.content[0].text, stopped.stop_reason, stopped.stop_sequence) == (
        "Hello from fake Claude! ",
        "stop_sequence",
        "You said",
    )


async def test_stream_tools_and_thinking_reassemble(sdk):
    ask = [{"role": "user", "content": "use tool in parallel"}]
    _, final = await streamed(sdk, tools=TOOLS, messages=ask)
    assert block_summary(final) == block_summary(await create(sdk, tools=TOOLS, messages=ask))
    assert final.stop_reason == "tool_use" and final.content[1].input["city"] == "use tool in parallel"
    assert all(b.id.startswith("toolu_") for b in final.content[1:])

    texts, final = await streamed(sdk, max_tokens=2048, thinking=THINKING)
    assert "".join(texts) == ANSWER
    reference = await create(sdk, max_tokens=2048, thinking=THINKING)
    assert block_summary(final) == block_summary(reference)
    assert final.content[0].signature == reference.content[0].signature


async def test_stream_event_sequence_on_the_wire(fake, http):
    body = {"model": MODEL, "max_tokens": 256, "stream": True, "tools": TOOLS, "tool_choice": {"type": "auto"}}
    ask = [{"role": "user", "content": "use tool now"}]
    async with http.post(f"{fake.base_url}/v1/messages", json={**body, "messages": ask}) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        assert resp.headers["request-id"].startswith("req_")
        events = sse(await resp.read())
    assert all(data["type"] == name for name, data in events)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-2:] == ["message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["usage"]["output_tokens"] == 1
    blocks = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert blocks[0] == {"type": "text", "text": ""} and blocks[1]["type"] == "tool_use" and blocks[1]["input"] == {}
    json_deltas = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 1]
    assert json_deltas[0] == "" and len(json_deltas) > 2
    assert json.loads("".join(json_deltas)) == {"city": "use tool now", "unit": "c", "days": 1}
    assert [d["index"] for n, d in events if n == "content_block_stop"] == [0, 1]
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None} and delta["usage"]["output_tokens"] > 1

    async with http.post(
        f"{fake.base_url}/v1/messages", json={**body, "messages": MSGS, "thinking": THINKING, "max_tokens": 2048}
    ) as resp:
        events = sse(await resp.read())
    kinds = [d["delta"]["type"] for n, d in events if n == "content_block_delta"]
    assert kinds[0] == "thinking_delta" and kinds.index("signature_delta") == kinds.index("text_delta") - 1
    assert [d["content_block"] for n, d in events if n == "content_block_start"][0] == {
        "type": "thinking",
        "thinking": "",
        "signature": "",
    }


async def test_stream_error_event_raises_in_the_sdk(fake, sdk):
    fake.script(Stream(chunks=["partial ", "answer"], then="error_event", after=1))
    got = []
    with pytest.raises(anthropic.APIStatusError, match="Overloaded") as err:
        async with sdk.messages.stream(model=MODEL, max_tokens=64, messages=MSGS) as stream:
            async for text in stream.text_stream:
                got.append(text)
    assert got == ["partial "] and err.value.body["error"]["type"] == "overloaded_error"

    fake.script(
        Stream(then="error_event", after=0, error={"type": "error", "error": {"type": "api_error", "message": "boom"}})
    )
    with pytest.raises(anthropic.APIStatusError, match="boom"):
        async for _ in await sdk.messages.create(model=MODEL, max_tokens=64, messages=MSGS, stream=True):
            pass


async def test_stream_endings(fake, http):
    url = f"{fake.base_url}/v1/messages"
    body = {"model": MODEL, "max_tokens": 64, "messages": MSGS, "stream": True}

    fake.script(Stream(chunks=["a ", "b"], then="eof"))
    async with http.post(url, json=body) as resp:
        names = [n for n, _ in sse(await resp.read())]
    assert names[-1] == "content_block_stop" and "message_delta" not in names and "message_stop" not in names

    fake.script(Stream(chunks=["a ", "b ", "c"], then="eof", after=2))
    async with http.post(url, json=body) as resp:
        events = sse(await resp.read())
    assert [d["delta"]["text"] for n, d in events if n == "content_block_delta"] == ["a ", "b "]
    assert events[-1][0] == "content_block_delta"

    for then in ("reset", "close"):
        fake.script(Stream(chunks=["a ", "b "], then=then, after=1))
        received = b""
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.post(url, json=body) as resp:
                assert resp.status == 200
                async for line in resp.content:
                    received += line
        assert b'"text":"a "' in received and b'"text":"b "' not in received, then

    fake.script(Stream(chunks=["a "], then="stall"))
    received = b""
    async with http.post(url, json=body) as resp:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                async for line in resp.content:
                    received += line
        assert received.count(b"event: content_block_delta") == 1 and b"message_stop" not in received
        resp.close()
        gone = time.monotonic()
    assert await fake.wait_disconnect(2) - gone < 1

    with pytest.raises(ValueError):
        Stream(then="done", after=1)


async def test_forced_streamed_tool_use(fake, sdk):
    fake.script(Stream(tool_use=True, chunks=['{"x"', ": 1}"]))
    _, final = await streamed(sdk)
    assert [(b.type, b.name, b.input) for b in final.content] == [("tool_use", "tool", {"x": 1})]
    assert final.stop_reason == "tool_use"


async def test_stream_pacing(fake, http):
    fake.script(Stream(chunks=["a", "b", "c"], first_delay=0.15, chunk_delay=0.05))
    started = time.monotonic()
    arrivals = []
    body = {"model": MODEL, "max_tokens": 64, "messages": MSGS, "stream": True}
    async with http.post(f"{fake.base_url}/v1/messages", json=body) as resp:
        async for line in resp.content:
            if line.startswith(b"event: "):
                arrivals.append((line.strip().decode()[7:], time.monotonic() - started))
    assert arrivals[0][0] == "message_start" and arrivals[0][1] < 0.1, "message_start comes before first_delay"
    deltas = [t for name, t in arrivals if name == "content_block_delta"]
    assert deltas[0] >= 0.2 and deltas[2] - deltas[0] >= 0.09


# -- count_tokens, models, beta -------------------------------------------------------------------------


async def test_count_tokens_models_and_beta(fake, sdk):
    count = await sdk.messages.count_tokens(model=MODEL, messages=MSGS, system="be brief", tools=TOOLS)
    plain = await sdk.messages.count_tokens(model=MODEL, messages=MSGS)
    assert count.input_tokens > plain.input_tokens > 0
    assert (await create(sdk)).usage.input_tokens == plain.input_tokens
    assert fake.requests[0].path == "/v1/messages/count_tokens"

    page = await sdk.models.list()
    assert [m.id for m in page.data] == ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]
    assert page.data[0].display_name == "Claude Sonnet 4.5" and page.data[0].type == "model"
    assert page.data[0].created_at.year == 2025 and page.has_more is False
    assert (page.first_id, page.last_id) == ("claude-sonnet-4-5", "claude-opus-4-1")
    one = await sdk.models.list(limit=1, after_id="claude-sonnet-4-5")
    assert [m.id for m in one.data] == ["claude-haiku-4-5"] and one.has_more is True
    assert (await sdk.models.retrieve("claude-opus-4-1")).display_name == "Claude Opus 4.1"
    with pytest.raises(anthropic.NotFoundError):
        await sdk.models.retrieve("claude-nope")

    beta = await sdk.beta.messages.create(model=MODEL, max_tokens=64, messages=MSGS, betas=["context-1m-2025-08-07"])
    assert beta.content[0].text == ANSWER
    assert fake.requests[-1].path == "/v1/messages" and fake.requests[-1].headers["anthropic-beta"]


# -- errors -------------------------------------------------------------------------------------------


async def test_auth_and_version(fake, http):
    async with anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="sk-wrong", max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError) as err:
            await create(bad)
    assert err.value.body["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}
    assert err.value.body["type"] == "error" and err.value.body["request_id"].startswith("req_")

    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{fake.base_url}/v1/models", headers={"anthropic-version": "2023-06-01"}) as resp:
            assert resp.status == 401 and (await resp.json())["error"]["type"] == "authentication_error"
        async with anonymous.get(f"{fake.base_url}/v1/models", headers={"x-api-key": KEY}) as resp:
            assert (
                resp.status == 400
                and (await resp.json())["error"]["message"] == "anthropic-version: header is required"
            )
    strict = FakeAnthropicUpstream(bearer=False)
    async with strict, anthropic.AsyncAnthropic(base_url=strict.base_url, api_key="sk-ant-test", max_retries=0) as c:
        with pytest.raises(anthropic.AuthenticationError):
            await create(c)
        ok = await create(c, extra_headers={"x-api-key": "sk-ant-test"})
        assert ok.content[0].text == ANSWER

    status, body, resp = await post(http, fake, model=MODEL, max_tokens=8, messages=MSGS)
    assert status == 200 and resp.headers["request-id"].startswith("req_")


BAD_REQUESTS = [
    ({"max_tokens": 8}, "messages: Field required"),
    ({"messages": MSGS}, "max_tokens: Field required"),
    ({"max_tokens": "8", "messages": MSGS}, "max_tokens: Input should be a valid integer"),
    ({"max_tokens": 999_999, "messages": MSGS}, "which is the maximum allowed number of output tokens"),
    ({"max_tokens": 8, "messages": []}, "at least one message"),
    ({"max_tokens": 8, "messages": [{"role": "assistant", "content": "hi"}]}, "first message must use the"),
    ({"max_tokens": 8, "messages": [{"role": "system", "content": "hi"}]}, "messages.0.role"),
    ({"max_tokens": 8, "messages": MSGS * 2}, "roles must alternate"),
    ({"max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "video"}]}]}, "Input tag 'video'"),
    ({"max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}, "non-empty"),
    ({"max_tokens": 8, "messages": [{"role": "user", "content": 3}]}, "messages.0.content"),
    (
        {
            "max_tokens": 8,
            "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]}],
        },
        "unexpected `tool_use_id` found in `tool_result` blocks: toolu_x",
    ),
    (
        {
            "max_tokens": 8,
            "messages": [
                *MSGS,
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_a", "name": "t", "input": {}}]},
                {"role": "user", "content": "no result"},
            ],
        },
        "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_a",
    ),
    ({"max_tokens": 8, "messages": MSGS, "system": [{"type": "image"}]}, "system.0.type"),
    ({"max_tokens": 8, "messages": MSGS, "tools": [{"name": "t"}]}, "input_schema: Field required"),
    ({"max_tokens": 8, "messages": MSGS, "tools": [WEATHER, WEATHER]}, "Tool names must be unique"),
    ({"max_tokens": 8, "messages": MSGS, "tool_choice": {"type": "any"}}, "only be specified while providing tools"),
    ({"max_tokens": 8, "messages": MSGS, "tools": TOOLS, "tool_choice": {"type": "required"}}, "tool_choice"),
    ({"max_tokens": 8, "messages": MSGS, "thinking": {"type": "enabled", "budget_tokens": 10}}, "1024"),
    ({"max_tokens": 1024, "messages": MSGS, "thinking": THINKING}, "must be greater than `thinking.budget_tokens`"),
    ({"max_tokens": 2048, "messages": MSGS, "thinking": THINKING, "temperature": 0.5}, "temperature"),
    ({"max_tokens": 8, "messages": MSGS, "temperature": 2}, "temperature"),
    ({"max_tokens": 8, "messages": MSGS, "stop_sequences": "x"}, "stop_sequences"),
    ({"max_tokens": 8, "messages": MSGS, "metadata": {"session": "x"}}, "metadata.session: Extra inputs"),
    ({"max_tokens": 8, "messages": MSGS, "n": 2}, "n: Extra inputs are not permitted"),
]


async def test_validation(fake, http):
    for extra, expected in BAD_REQUESTS:
        status, body, resp = await post(http, fake, model=MODEL, **extra)
        assert status == 400 and body["type"] == "error", extra
        assert body["error"]["type"] == "invalid_request_error" and expected in body["error"]["message"], (extra, body)
        assert resp.headers["request-id"] == body["request_id"]
    async with http.post(f"{fake.base_url}/v1/messages", data=b"{not json") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["type"] == "invalid_request_error"

    status, body, _ = await post(http, fake, model="claude-9", max_tokens=8, messages=MSGS)
    assert (status, body["error"]) == (404, {"type": "not_found_error", "message": "model: claude-9"})
    status, body, _ = await post(http, fake, "/v1/messages/count_tokens", model=MODEL, messages=MSGS * 2)
    assert status == 400 and "alternate" in body["error"]["message"]
    status, body, _ = await post(http, fake, "/v1/messages/count_tokens", model=MODEL, messages=MSGS)
    assert (status, set(body)) == (200, {"input_tokens"}), "count_tokens needs no max_tokens"
    status, body, _ = await post(
        http, fake, "/v1/messages?beta=true", model=MODEL, max_tokens=8, messages=MSGS, betas=1
    )
    assert status == 200, "beta requests may carry fields the stable API does not know"
    async with http.get(f"{fake.base_url}/v1/nowhere") as resp:
        assert resp.status == 404 and (await resp.json())["error"]["type"] == "not_found_error"


async def test_valid_conversation_shapes(sdk):
    history = [
        {"role": "user", "content": [{"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Rome"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "hot"}]},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "noon", "is_error": False},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ],
        },
        {"role": "assistant", "content": "It is"},  # prefill
    ]
    msg = await create(
        sdk, messages=history, tools=TOOLS, tool_choice={"type": "auto"}, extra_body={"top_k": 5, "top_p": 0.9}
    )
    assert msg.content[0].text == "Hello from fake Claude! You said: hot noon"


async def test_scripted_errors_map_to_sdk_exceptions(fake, sdk, http):
    fake.script(rate_limited(2))
    with pytest.raises(anthropic.RateLimitError) as err:
        await create(sdk)
    assert err.value.response.headers["retry-after"] == "2"
    assert err.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert err.value.body["error"]["type"] == "rate_limit_error"

    cases = [
        (overloaded(), anthropic.APIStatusError, 529, "overloaded_error"),
        (api_error(), anthropic.InternalServerError, 500, "api_error"),
        (request_too_large(), anthropic.APIStatusError, 413, "request_too_large"),
        (permission_error(), anthropic.PermissionDeniedError, 403, "permission_error"),
        (prompt_too_long(), anthropic.BadRequestError, 400, "invalid_request_error"),
        (AnthropicError(401), anthropic.AuthenticationError, 401, "authentication_error"),
        (AnthropicError(404, "not_found_error", "model: x"), anthropic.NotFoundError, 404, "not_found_error"),
    ]
    for behaviour, exc, status, kind in cases:
        fake.script(behaviour)
        with pytest.raises(exc) as err:
            await create(sdk, stream=bool(status % 2))  # scripted errors win for stream requests too
        assert err.value.status_code == status and err.value.body["error"]["type"] == kind
    assert isinstance(err.value, anthropic.NotFoundError)
    fake.script(prompt_too_long())
    with pytest.raises(anthropic.BadRequestError, match="prompt is too long: 250000 tokens > 200000 maximum"):
        await create(sdk)

    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake.script(Reply(status=502, body=html, headers={"content-type": "text/html"}), Reply(json={"any": "thing"}))
    async with http.post(f"{fake.base_url}/v1/messages", json={"model": MODEL}) as resp:
        assert (resp.status, resp.content_type, await resp.read()) == (502, "text/html", html)
    async with http.post(f"{fake.base_url}/v1/messages", data=b"garbage") as resp:
        assert (resp.status, await resp.json()) == (200, {"any": "thing"}), "scripted replies win over validation"
    assert fake.queued == 0 and (await create(sdk)).content[0].text == ANSWER


async def test_context_window():
    async with FakeAnthropicUpstream(api_key=None, context_window=50) as small:
        async with anthropic.AsyncAnthropic(base_url=small.base_url, api_key="unused", max_retries=0) as client:
            with pytest.raises(anthropic.BadRequestError, match=r"prompt is too long: \d+ tokens > 50 maximum"):
                await create(client, messages=[{"role": "user", "content": "word " * 60}])
            assert (await create(client)).content[0].text == ANSWER


# -- slow, hanging and disconnecting clients ---------------------------------------------------------


async def test_delay_and_hang(fake, sdk):
    fake.script(Delay(0.1, overloaded()), Delay(0.1, Reply(content="late")))
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError):
        await create(sdk)
    assert (await create(sdk)).content[0].text == "late" and time.monotonic() - started >= 0.2

    fake.script(Hang())
    with pytest.raises(anthropic.APITimeoutError):
        await create(sdk.with_options(timeout=0.2))
    gave_up = time.monotonic()
    assert await fake.wait_disconnect(1) - gave_up < 1
    assert len(fake.disconnects) == 1


# -- CLI ---------------------------------------------------------------------------------------------


async def test_cli_serves_until_sigterm():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.fakes.anthropic_upstream", "--port", "0", "--api-key", "k-cli", "--chunks", "3"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert line.startswith("fake anthropic upstream listening on http://127.0.0.1:")
        async with anthropic.AsyncAnthropic(base_url=line.split()[-1], api_key="k-cli", max_retries=0) as client:
            texts, final = await streamed(client)
            assert len(texts) == 3 and final.content[0].text == ANSWER
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 5) == 0
        assert await proc.stdout.read() == b"" and await proc.stderr.read() == b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
