"""The fake upstream itself, driven by the official openai SDK (its wire format parses) and by raw
aiohttp where the point is exactly which bytes arrive (stream endings, resets, stalls)."""

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
import openai
import pytest

from tests.fakes.openai_upstream import (
    Delay,
    FakeOpenAIUpstream,
    Hang,
    OpenAIError,
    Reply,
    Stream,
    rate_limited,
)

KEY = "sk-fake-selftest-0123456789abcdef"
MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "ping pong"}]
ANSWER = "Hello from fake upstream! You said: ping pong"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["c", "f"]},
                    "days": {"type": "integer"},
                },
                "required": ["city", "unit", "days"],
            },
        },
    },
    {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}},
]
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    """No 'Error handling request', 'Task exception was never retrieved', unclosed-session noise."""
    caplog.set_level(logging.WARNING)
    yield
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.split(".")[0] in ("aiohttp", "asyncio")]
    assert not bad, [r.getMessage() for r in bad]


@pytest.fixture
async def fake():
    async with FakeOpenAIUpstream(api_key=KEY) as f:
        yield f


@pytest.fixture
async def sdk(fake):
    client = openai.AsyncOpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0, timeout=5)
    yield client
    await client.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as session:
        yield session


def events(body: bytes) -> list[bytes]:
    return [e.removeprefix(b"data: ") for e in body.split(b"\n\n") if e]


async def post_stream(http, fake, **extra) -> tuple[int, bytes]:
    payload = {"model": "gpt-4o-mini", "messages": MSGS, "stream": True, **extra}
    async with http.post(f"{fake.base_url}/chat/completions", json=payload) as resp:
        return resp.status, await resp.read()


# -- chat: non-stream --------------------------------------------------------------------------------


async def test_chat_completion_parses_with_the_sdk(fake, sdk):
    resp = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, n=2)
    assert resp.id.startswith("chatcmpl-") and resp.object == "chat.completion" and resp.model == "gpt-4o-mini"
    assert [c.index for c in resp.choices] == [0, 1]
    choice = resp.choices[0]
    assert (choice.message.role, choice.message.content, choice.message.refusal) == ("assistant", ANSWER, None)
    assert choice.finish_reason == "stop" and choice.logprobs is None
    usage = resp.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens and usage.completion_tokens > 0
    assert usage.prompt_tokens_details.cached_tokens == 0 and usage.completion_tokens_details.reasoning_tokens == 0
    assert resp.system_fingerprint and resp.service_tier == "default" and resp.created > 1_700_000_000

    sent = fake.requests[-1]
    assert (sent.method, sent.path, sent.json["messages"]) == ("POST", "/v1/chat/completions", MSGS)
    assert sent.headers["authorization"] == sent.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(sent.raw) == sent.json and sent.arrived_at <= time.monotonic()

    fake.script(Reply(content="scripted words"), Stream(chunks=["from ", "chunks"]))
    assert (await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS)).choices[0].message.content == (
        "scripted words"
    )
    assert (await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS)).choices[0].message.content == (
        "from chunks"
    )
    short = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, max_tokens=2)
    assert (short.choices[0].message.content, short.choices[0].finish_reason) == ("Hello from", "length")


async def test_tool_calls_non_stream(sdk):
    resp = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=TOOLS)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "ping pong", "unit": "c", "days": 1}

    named = {"type": "function", "function": {"name": "noop"}}
    resp = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=TOOLS, tool_choice=named)
    assert resp.choices[0].message.tool_calls[0].function.name == "noop"
    assert json.loads(resp.choices[0].message.tool_calls[0].function.arguments) == {}

    resp = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=TOOLS, tool_choice="none")
    assert resp.choices[0].message.content == ANSWER and resp.choices[0].message.tool_calls is None


# -- chat: streaming ---------------------------------------------------------------------------------


async def test_stream_parses_with_the_sdk_and_usage_only_when_asked(fake, sdk, http):
    chunks = [c async for c in await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)]
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER
    assert len(chunks) == 1 + 5 + 1, "role chunk, 5 content pieces, finish chunk"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].choices[0].delta.content is None
    assert {c.id for c in chunks} == {chunks[0].id} and all(c.object == "chat.completion.chunk" for c in chunks)
    assert all(c.usage is None for c in chunks)

    asked = [
        c
        async for c in await sdk.chat.completions.create(
            model="gpt-4o-mini", messages=MSGS, stream=True, stream_options={"include_usage": True}
        )
    ]
    assert asked[-1].choices == [] and asked[-1].usage.total_tokens > asked[-1].usage.completion_tokens > 0
    assert "".join(c.choices[0].delta.content or "" for c in asked[:-1]) == ANSWER

    # on the wire: no "usage" key at all unless asked; when asked every other chunk has "usage": null
    status, body = await post_stream(http, fake)
    assert status == 200 and events(body)[-1] == b"[DONE]"
    assert all(b'"usage"' not in e for e in events(body))
    status, body = await post_stream(http, fake, stream_options={"include_usage": True})
    parsed = [json.loads(e) for e in events(body)[:-1]]
    assert all("usage" in p for p in parsed) and [p["usage"] is None for p in parsed].count(False) == 1
    assert all(p["obfuscation"] for p in parsed)
    _, body = await post_stream(http, fake, stream_options={"include_obfuscation": False})
    assert b"obfuscation" not in body


async def test_stream_n_and_chunking(fake, http):
    fake.script(Stream(chunks=["a", "b", "c"]))
    _, body = await post_stream(http, fake, n=2)
    parsed = [json.loads(e) for e in events(body)[:-1]]
    for i in (0, 1):
        mine = [p["choices"][0] for p in parsed if p["choices"][0]["index"] == i]
        assert "".join(c["delta"].get("content") or "" for c in mine) == "abc" and mine[-1]["finish_reason"] == "stop"
    many = FakeOpenAIUpstream(api_key=None, chunks=20)
    async with many:
        _, body = await post_stream(http, many, messages=[{"role": "user", "content": "w " * 40}])
    assert len(events(body)) == 1 + 20 + 1 + 1


async def test_streamed_tool_calls_reassemble_through_the_sdk(fake, sdk):
    stream = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, tools=TOOLS, stream=True)
    calls: dict[int, dict] = {}
    finish = None
    pieces = 0
    async for chunk in stream:
        for tc in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            if tc.id:
                assert call["id"] is None and tc.type == "function" and tc.function.arguments == ""
                call["id"] = tc.id
            else:
                assert tc.function.name is None and tc.type is None
                pieces += 1
            call["name"] += tc.function.name or ""
            call["arguments"] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls" and pieces > 1
    assert calls[0]["id"].startswith("call_") and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "ping pong", "unit": "c", "days": 1}

    fake.script(Stream(tool_call=True, chunks=['{"x"', ": 1}"]))
    stream = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    args = "".join([tc.function.arguments or "" async for c in stream for tc in c.choices[0].delta.tool_calls or []])
    assert json.loads(args) == {"x": 1}


async def test_tool_call_arguments_have_their_own_chunking_and_pacing(http):
    """``tool_chunks``/``tool_chunk_delay`` shape streamed tool-call arguments only; text streams keep ``chunks``."""
    words = [{"role": "user", "content": "w " * 40}]
    async with FakeOpenAIUpstream(api_key=None, chunks=3, tool_chunks=12, tool_chunk_delay=0.01) as shaped:
        _, body = await post_stream(http, shaped, messages=words)
        assert len(events(body)) == 1 + 3 + 1 + 1
        started = time.monotonic()
        _, body = await post_stream(http, shaped, messages=words, tools=TOOLS)
        assert time.monotonic() - started >= 12 * 0.01
    parsed = [json.loads(e) for e in events(body)[:-1]]
    pieces = [c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in parsed[1:-1]]
    assert len(pieces) == 12 and json.loads("".join(pieces))["city"] == "w " * 40
    async with FakeOpenAIUpstream(api_key=None, chunks=4) as default:  # defaults: the text stream's shape
        _, body = await post_stream(http, default, messages=words, tools=TOOLS)
    assert len(events(body)) == 1 + 4 + 1 + 1


async def test_stream_endings(fake, http):
    url = f"{fake.base_url}/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": MSGS, "stream": True}

    fake.script(Stream(chunks=["a ", "b "], then="eof"))
    status, raw = await post_stream(http, fake)
    got = events(raw)
    assert status == 200 and b"[DONE]" not in raw and b'"finish_reason":"stop"' not in raw
    assert [json.loads(e)["choices"][0]["delta"].get("content") for e in got] == ["", "a ", "b "]

    fake.script(Stream(chunks=["a "], then="error_event"))
    _, raw = await post_stream(http, fake)
    assert b"[DONE]" not in raw
    assert json.loads(events(raw)[-1]) == {
        "error": {"message": "Upstream provider error mid-stream", "type": "server_error", "code": 502}
    }

    for then in ("reset", "close"):
        fake.script(Stream(chunks=["a ", "b "], then=then))
        received = b""
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.post(url, json=body) as resp:
                assert resp.status == 200
                async for line in resp.content:
                    received += line
        assert b'"content":"b "' in received and b"[DONE]" not in received, then

    fake.script(Stream(chunks=["a "], then="stall"))
    received = b""
    async with http.post(url, json=body) as resp:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                async for line in resp.content:
                    received += line
        assert received.count(b"data: {") == 2
        resp.close()  # drop the connection: the fake notices
        gone = time.monotonic()
    assert await fake.wait_disconnect(2) - gone < 1


async def test_stream_error_event_raises_in_the_sdk(fake, sdk):
    fake.script(Stream(chunks=["partial "], then="error_event"))
    got = ""
    with pytest.raises(openai.APIError, match="mid-stream"):
        async for chunk in await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True):
            got += chunk.choices[0].delta.content or ""
    assert got == "partial "


async def test_stream_pacing_and_first_delay(fake, http):
    fake.script(Stream(chunks=["a", "b", "c"], first_delay=0.2, chunk_delay=0.1))
    started = time.monotonic()
    arrivals = []
    async with http.post(
        f"{fake.base_url}/chat/completions", json={"model": "gpt-4o-mini", "messages": MSGS, "stream": True}
    ) as resp:
        headers_at = time.monotonic() - started
        async for line in resp.content:
            if line.startswith(b"data: "):
                arrivals.append(time.monotonic() - started)
    assert headers_at < 0.15, "headers are sent before first_delay"
    assert arrivals[0] >= 0.2 and arrivals[3] - arrivals[0] >= 0.28


# -- embeddings, models ------------------------------------------------------------------------------


async def test_embeddings_float_and_base64(fake, sdk):
    as_floats = await sdk.embeddings.create(model="text-embedding-3-small", input=["a", "b"], encoding_format="float")
    as_b64 = await sdk.embeddings.create(model="text-embedding-3-small", input=["a", "b"])  # the SDK asks for base64
    assert fake.requests[-1].json["encoding_format"] == "base64"
    assert [d.index for d in as_floats.data] == [0, 1] and as_floats.object == "list"
    assert as_floats.model == "text-embedding-3-small" and as_floats.usage.prompt_tokens == 2
    assert len(as_floats.data[0].embedding) == 1536
    assert [list(d.embedding) for d in as_b64.data] == [d.embedding for d in as_floats.data]
    assert as_floats.data[0].embedding != as_floats.data[1].embedding
    assert abs(sum(v * v for v in as_floats.data[0].embedding) - 1) < 1e-4

    small = await sdk.embeddings.create(model="text-embedding-3-small", input="a", dimensions=8)
    assert len(small.data) == 1 and len(small.data[0].embedding) == 8
    again = await sdk.embeddings.create(model="text-embedding-3-small", input="a", dimensions=8)
    assert again.data[0].embedding == small.data[0].embedding, "deterministic"
    tokens = await sdk.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3], [4]], dimensions=4)
    assert [len(d.embedding) for d in tokens.data] == [4, 4] and tokens.usage.prompt_tokens == 4


async def test_models(fake, sdk):
    page = await sdk.models.list()
    assert [m.id for m in page.data] == ["gpt-4o-mini", "text-embedding-3-small"]
    assert all(m.object == "model" and m.owned_by and m.created for m in page.data)
    assert (await sdk.models.retrieve("gpt-4o-mini")).id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        await sdk.models.retrieve("gpt-nope")


# -- errors ------------------------------------------------------------------------------------------


async def test_auth_errors_mask_the_key(fake):
    wrong = "sk-wrong-key-0123456789"
    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key=wrong, max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError) as err:
            await bad.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert err.value.status_code == 401
    assert err.value.body == {
        "message": "Incorrect API key provided: sk-****************6789. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    assert wrong not in json.dumps(err.value.body)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{fake.base_url}/models") as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["message"].startswith("You didn't provide an API key.")
    assert len(fake.requests) == 2, "refused requests are recorded too"


async def test_not_found_and_bad_requests(fake, sdk, http):
    with pytest.raises(openai.NotFoundError) as err:
        await sdk.chat.completions.create(model="gpt-9", messages=MSGS)
    assert err.value.body == {
        "message": "The model `gpt-9` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }
    with pytest.raises(openai.NotFoundError):
        await sdk.embeddings.create(model="gpt-9", input="x")
    async with http.post(f"{fake.base_url}/chat/completions", data=b"{not json") as resp:
        assert resp.status == 400 and resp.content_type == "application/json"
        error = (await resp.json())["error"]
        assert (
            error["message"].startswith("We could not parse the JSON body") and error["type"] == "invalid_request_error"
        )
        assert set(error) == {"message", "type", "param", "code"}
    async with http.post(f"{fake.base_url}/chat/completions", json={"model": "gpt-4o-mini"}) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["param"] == "messages"
    async with http.post(f"{fake.base_url}/embeddings", json={"model": "text-embedding-3-small"}) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["param"] == "input"
    async with http.get(f"{fake.base_url}/nowhere") as resp:
        assert resp.status == 404 and (await resp.json())["error"]["message"] == "Invalid URL (GET /v1/nowhere)"


async def test_scripted_errors_and_raw_replies(fake, sdk, http):
    fake.script(rate_limited(2))
    with pytest.raises(openai.RateLimitError) as err:
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert err.value.response.headers["retry-after"] == "2"
    assert err.value.response.headers["retry-after-ms"] == "2000"
    assert err.value.code == "rate_limit_exceeded" and err.value.type == "requests"

    fake.script(OpenAIError(500, "The server had an error", type="server_error"))
    with pytest.raises(openai.InternalServerError):
        await sdk.embeddings.create(model="text-embedding-3-small", input="x")

    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake.script(Reply(status=502, body=html, headers={"content-type": "text/html"}), Reply(json={"any": "thing"}))
    async with http.post(f"{fake.base_url}/chat/completions", json={"model": "gpt-4o-mini", "messages": MSGS}) as resp:
        assert (resp.status, resp.content_type, await resp.read()) == (502, "text/html", html)
    async with http.post(f"{fake.base_url}/chat/completions", data=b"garbage") as resp:
        assert (resp.status, await resp.json()) == (200, {"any": "thing"}), "scripted replies win over validation"
    assert fake.queued == 0
    ok = await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert ok.choices[0].message.content == ANSWER, "an empty script means normal answers"


# -- slow, hanging and disconnecting clients ---------------------------------------------------------


async def test_delay(fake, sdk):
    fake.script(Delay(0.2), Delay(0.1, Reply(content="late")), OpenAIError(503, "busy", type="server_error", delay=0.1))
    started = time.monotonic()
    assert (await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS)).choices[0].message.content == ANSWER
    assert time.monotonic() - started >= 0.2
    assert (await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS)).choices[0].message.content == "late"
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError):
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert time.monotonic() - started >= 0.1

    fake.script(Delay(30))
    impatient = sdk.with_options(timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        await impatient.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    gave_up = time.monotonic()
    assert await fake.wait_disconnect(1) - gave_up < 1


async def test_hang_records_the_client_disconnect_within_1s(fake, sdk):
    fake.script(Hang(), Hang())
    impatient = sdk.with_options(timeout=0.3)
    for _ in range(2):
        with pytest.raises(openai.APITimeoutError):
            await impatient.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        gave_up = time.monotonic()
        seen = await fake.wait_disconnect(1)
        assert abs(seen - gave_up) < 1
    assert len(fake.disconnects) == 2
    with pytest.raises(TimeoutError):
        await fake.wait_disconnect(0.05)
    fake.clear()
    assert fake.disconnects == [] and fake.requests == []


async def test_disconnect_mid_stream_is_recorded(fake):
    fake.script(Stream(chunks=[f"w{i} " for i in range(100)], chunk_delay=0.02))
    reader, writer = await asyncio.open_connection("127.0.0.1", fake.port)
    payload = json.dumps({"model": "gpt-4o-mini", "messages": MSGS, "stream": True}).encode()
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
    )
    received = b""
    while received.count(b"data: {") < 3:
        received += await asyncio.wait_for(reader.read(4096), 2)
    writer.transport.abort()
    gone = time.monotonic()
    assert await fake.wait_disconnect(1) - gone < 0.5
    await asyncio.sleep(0.1)
    assert len(fake.disconnects) == 1


async def test_close_ends_hangs_and_stalls_at_once(http):
    fake = FakeOpenAIUpstream(api_key=None)
    await fake.start()
    fake.script(Hang(), Stream(then="stall"), Delay(30))
    body = {"model": "gpt-4o-mini", "messages": MSGS, "stream": True}

    async def call() -> None:
        async with http.post(f"{fake.base_url}/chat/completions", json=body) as resp:
            await resp.read()

    calls = [asyncio.create_task(call()) for _ in range(3)]
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await fake.close()
    assert time.monotonic() - started < 0.5
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, aiohttp.ClientError) for r in results), results
    assert fake.disconnects == [], "the fake closing is not a client disconnect"
    await fake.close()  # idempotent


# -- CLI ---------------------------------------------------------------------------------------------


async def test_cli_serves_until_sigterm():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.openai_upstream",
        "--port",
        "0",
        "--api-key",
        "k-cli",
        "--chunks",
        "3",
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert line.startswith("fake upstream listening on http://127.0.0.1:") and line.endswith("/v1\n")
        base = line.split()[-1]
        async with openai.AsyncOpenAI(base_url=base, api_key="k-cli", max_retries=0) as client:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
            assert len([c async for c in stream]) == 1 + 3 + 1
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 5) == 0
        assert await proc.stdout.read() == b"" and await proc.stderr.read() == b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
