"""Through the gateway to an OpenAI-compatible upstream (a local fake speaking OpenAI's exact
JSON and SSE), with the official openai SDK as the client and the key from an env variable."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import openai
import orjson
import pytest

from tests.fakes.openai_upstream import FakeOpenAIUpstream, Hang, OpenAIError, Reply, Stream, rate_limited
from tests.helpers import ACCESS_KEY, gateway_context

UPSTREAM_KEY = "sk-canary-upstream-key-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "hello upstream"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        },
    }
]


def config(base_url: str, **provider) -> dict:
    return {
        "providers": [
            {
                "id": "up",
                "preset": "custom",
                "base_url": base_url,
                "key": {"env": "SB_TEST_UPSTREAM_KEY"},
                "timeouts": {"connect": 2, "first_token": 2, "idle": 1, "total": 5},
                **provider,
            },
            {"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}},
        ],
        "routes": [
            {"name": "fast", "targets": [{"provider": "up", "model": "gpt-4o-mini"}]},
            {"name": "embed", "targets": [{"provider": "up", "model": "text-embedding-3-small"}]},
            {
                "name": "with-fallback",
                "targets": [{"provider": "up", "model": "gpt-4o-mini"}, {"provider": "demo", "model": "echo"}],
            },
        ],
    }


@pytest.fixture
async def upstream():
    async with FakeOpenAIUpstream(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture
async def ctx(tmp_path, upstream):
    async with gateway_context(tmp_path, config(upstream.base_url), env={"SB_TEST_UPSTREAM_KEY": UPSTREAM_KEY}) as c:
        yield c


def assert_no_key_anywhere(ctx, *texts: str) -> None:
    blob = "\n".join(texts)
    assert UPSTREAM_KEY not in blob
    for path in ctx.home.rglob("*"):
        if path.is_file():
            assert UPSTREAM_KEY.encode() not in path.read_bytes(), path


async def test_non_stream_passthrough_with_key_from_env(ctx, upstream):
    client = ctx.openai()
    resp = await client.chat.completions.create(model="fast", messages=MESSAGES)
    assert resp.choices[0].message.content and resp.usage.total_tokens > 0
    sent = upstream.requests[-1]
    assert sent.headers["Authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert sent.json["model"] == "gpt-4o-mini" and sent.json["messages"] == MESSAGES
    assert ACCESS_KEY not in str(sent.headers), "the local access key never goes upstream"
    row = ctx.rows()[-1]
    assert (row.status, row.provider, row.upstream_model, row.route) == ("ok", "up", "gpt-4o-mini", "fast")
    assert row.tokens_in == resp.usage.prompt_tokens and row.tokens_out == resp.usage.completion_tokens
    await client.close()


async def test_stream_relayed_and_usage_hidden_unless_asked(ctx, upstream):
    client = ctx.openai()
    chunks = [c async for c in await client.chat.completions.create(model="fast", messages=MESSAGES, stream=True)]
    assert upstream.requests[-1].json["stream_options"] == {"include_usage": True}, "gateway always asks for usage"
    assert all(c.choices for c in chunks), "the usage-only chunk is hidden from a client that did not ask"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text and chunks[-1].choices[0].finish_reason == "stop"
    row = ctx.rows()[-1]
    assert row.stream and row.status == "ok" and row.tokens_out, row

    asked = [
        c
        async for c in await client.chat.completions.create(
            model="fast", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    ]
    assert asked[-1].choices == [] and asked[-1].usage.total_tokens > 0
    assert "".join(c.choices[0].delta.content or "" for c in asked if c.choices) == text
    await client.close()


async def test_stream_is_relayed_event_by_event(ctx, upstream):
    upstream.script(Stream(chunks=["one ", "two ", "three"], chunk_delay=0.3))
    arrivals = []
    async with aiohttp.ClientSession() as s:
        body = {"model": "fast", "messages": MESSAGES, "stream": True}
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
            async for line in resp.content:
                if line.startswith(b"data: {"):
                    arrivals.append(time.monotonic())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert sum(1 for g in gaps if g > 0.2) >= 2, f"chunks must not be buffered: {gaps}"


async def test_streamed_tool_calls(ctx):
    client = ctx.openai()
    stream = await client.chat.completions.create(model="fast", messages=MESSAGES, tools=TOOLS, stream=True)
    name, args, finish = "", "", None
    async for chunk in stream:
        for tc in chunk.choices[0].delta.tool_calls or []:
            name += (tc.function.name or "") if tc.function else ""
            args += (tc.function.arguments or "") if tc.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert name == "lookup" and isinstance(orjson.loads(args), dict) and finish == "tool_calls"
    await client.close()


async def test_response_format_and_n_pass_through(ctx, upstream):
    client = ctx.openai()
    resp = await client.chat.completions.create(
        model="fast", messages=MESSAGES, n=2, response_format={"type": "json_object"}, temperature=0.2
    )
    assert len(resp.choices) == 2
    sent = upstream.requests[-1].json
    assert sent["n"] == 2 and sent["response_format"] == {"type": "json_object"} and sent["temperature"] == 0.2
    await client.close()


async def test_embeddings_and_models(ctx, upstream):
    client = ctx.openai()
    emb = await client.embeddings.create(model="embed", input=["a", "b"])
    assert len(emb.data) == 2 and emb.usage.prompt_tokens > 0
    ids = [m.id async for m in client.models.list()]
    assert {"fast", "embed", "with-fallback", "up/gpt-4o-mini", "up/text-embedding-3-small", "demo/echo"} <= set(ids)
    direct = await client.chat.completions.create(model="up/gpt-4o-mini", messages=MESSAGES)
    assert direct.choices and upstream.requests[-1].json["model"] == "gpt-4o-mini"
    await client.close()


@pytest.mark.parametrize(
    ("behaviour", "exc", "status"),
    [
        (
            OpenAIError(400, "Invalid value for 'temperature'", param="temperature", code="invalid_value"),
            openai.BadRequestError,
            400,
        ),
        (OpenAIError(401, "Incorrect API key provided", code="invalid_api_key"), openai.AuthenticationError, 401),
        (OpenAIError(404, "The model `x` does not exist", code="model_not_found"), openai.NotFoundError, 404),
        (OpenAIError(500, "The server had an error", type="server_error"), openai.InternalServerError, 500),
    ],
)
async def test_upstream_errors_keep_status_and_name_the_provider(ctx, upstream, behaviour, exc, status):
    upstream.script(behaviour, behaviour)  # a 500 is retried once on the same target
    client = ctx.openai()
    with pytest.raises(exc) as err:
        await client.chat.completions.create(model="fast", messages=MESSAGES)
    assert err.value.status_code == status
    assert "Provider 'up' returned HTTP" in err.value.message and behaviour.message in err.value.message
    row = ctx.rows()[-1]
    assert (row.status, row.http_status, row.provider) == ("upstream_error", status, "up")
    assert_no_key_anywhere(ctx, err.value.message)
    await client.close()


async def test_long_retry_after_returns_429_at_once(ctx, upstream):
    upstream.script(rate_limited(3600))
    started = time.monotonic()
    async with aiohttp.ClientSession() as s:
        body = {"model": "fast", "messages": MESSAGES}
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "3600"
            err = (await resp.json())["error"]
            assert err["type"] and "Provider 'up' returned HTTP 429" in err["message"]
    assert time.monotonic() - started < 1.0 and ctx.rows()[-1].attempts == 1


async def test_short_retry_after_is_honoured(ctx, upstream):
    upstream.script(rate_limited(1))
    started = time.monotonic()
    client = ctx.openai()
    resp = await client.chat.completions.create(model="fast", messages=MESSAGES)
    assert resp.choices and 1.0 <= time.monotonic() - started < 2.5
    row = ctx.rows()[-1]
    assert (row.status, row.attempts) == ("ok", 2)
    assert [a["status"] for a in orjson.loads(row.attempt_log)] == [429, 200]
    await client.close()


async def test_garbage_and_html_become_502_json(ctx, upstream):
    client = ctx.openai()
    html = Reply(status=502, body=b"<html><body>Bad gateway</body></html>", headers={"Content-Type": "text/html"})
    upstream.script(html, html)  # a 502 is retried once
    with pytest.raises(openai.APIStatusError) as err:
        await client.chat.completions.create(model="fast", messages=MESSAGES)
    assert err.value.status_code == 502 and "non-JSON error body (text/html" in err.value.message
    garbage = Reply(status=200, body=b"this is not json", headers={"Content-Type": "application/json"})
    upstream.script(garbage, garbage)  # an unusable answer is retried once
    with pytest.raises(openai.APIStatusError) as err:
        await client.chat.completions.create(model="fast", messages=MESSAGES)
    assert err.value.status_code == 502 and "not JSON" in err.value.message
    assert ctx.rows()[-1].status == "upstream_error"
    await client.close()


async def test_unreachable_is_502_and_timeout_is_504(tmp_path, upstream):
    dead = "http://127.0.0.1:9/v1"  # discard port: connection refused
    async with gateway_context(tmp_path / "a", config(dead), env={"SB_TEST_UPSTREAM_KEY": UPSTREAM_KEY}) as ctx:
        client = ctx.openai()
        with pytest.raises(openai.APIStatusError) as err:
            await client.chat.completions.create(model="fast", messages=MESSAGES)
        assert err.value.status_code == 502 and "unreachable" in err.value.message
        assert ctx.rows()[-1].status == "upstream_error"
        # a route with a second target falls back when the first cannot be reached
        resp = await client.chat.completions.create(model="with-fallback", messages=MESSAGES)
        assert "hello upstream" in resp.choices[0].message.content
        row = ctx.rows()[-1]
        assert (row.provider, row.attempts, row.status) == ("demo", 3, "ok")  # dead twice (one retry), then demo
        await client.close()
    async with gateway_context(
        tmp_path / "b", config(upstream.base_url), env={"SB_TEST_UPSTREAM_KEY": UPSTREAM_KEY}
    ) as ctx:
        upstream.script(Hang())
        client = ctx.openai()
        started = time.monotonic()
        with pytest.raises(openai.APIStatusError) as err:
            await client.chat.completions.create(model="fast", messages=MESSAGES)
        assert err.value.status_code == 504 and "timed out" in err.value.message
        assert 1.5 < time.monotonic() - started < 4
        assert ctx.rows()[-1].status == "timeout"
        await client.close()


async def test_missing_env_key_is_503_with_the_variable_named(tmp_path, upstream):
    async with gateway_context(tmp_path, config(upstream.base_url)) as ctx:
        client = ctx.openai()
        with pytest.raises(openai.APIStatusError) as err:
            await client.chat.completions.create(model="fast", messages=MESSAGES)
        assert err.value.status_code == 503
        assert "environment variable SB_TEST_UPSTREAM_KEY is not set" in err.value.message
        assert upstream.requests == []
        await client.close()


async def _raw_stream(ctx) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as s:
        body = {"model": "fast", "messages": MESSAGES, "stream": True}
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
            return resp.status, await resp.read()


@pytest.mark.parametrize(
    ("then", "status", "text"),
    [
        ("reset", "cut", "Stream interrupted"),
        ("eof", "cut", "without [DONE]"),
        ("error_event", "cut", '"type": "server_error"'),
    ],
)
async def test_mid_stream_failures_never_look_like_success(ctx, upstream, then, status, text):
    upstream.script(Stream(chunks=["a ", "b ", "c "], then=then))
    code, body = await _raw_stream(ctx)
    assert code == 200
    events = [e for e in body.split(b"\n\n") if e]
    assert b"data: [DONE]" not in body, "a failed stream must not end with [DONE]"
    assert b'"error"' in events[-1], events[-1]
    assert text.replace('": "', '":"').encode() in events[-1].replace(b'": "', b'":"'), events[-1]
    assert b'"content":"a "' in body
    row = ctx.rows()[-1]
    assert row.status == status, row


async def test_stall_mid_stream_hits_the_idle_timeout(ctx, upstream):
    upstream.script(Stream(chunks=["a ", "b "], then="stall"))
    started = time.monotonic()
    code, body = await _raw_stream(ctx)
    assert code == 200 and b"data: [DONE]" not in body and b"no stream data (idle) within 1 s" in body
    assert 0.9 < time.monotonic() - started < 3
    assert ctx.rows()[-1].status == "cut"


async def test_upstream_error_before_stream_is_a_real_status(ctx, upstream):
    upstream.script(
        OpenAIError(400, "This model's maximum context length is 128000 tokens", code="context_length_exceeded")
    )
    code, body = await _raw_stream(ctx)
    assert code == 400 and orjson.loads(body)["error"]["code"] == "context_length_exceeded"


async def test_client_disconnect_cancels_upstream_within_1s(ctx, upstream):
    upstream.script(Stream(chunks=[f"w{i} " for i in range(100)], chunk_delay=0.05))
    reader, writer = await asyncio.open_connection("127.0.0.1", ctx.port)
    body = orjson.dumps({"model": "fast", "messages": MESSAGES, "stream": True})
    writer.write(
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{ctx.port}\r\nAuthorization: Bearer {ACCESS_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    received = b""
    while received.count(b"data: {") < 3:
        received += await asyncio.wait_for(reader.read(4096), 5)
    closed_at = time.monotonic()
    writer.transport.abort()
    seen = await upstream.wait_disconnect(timeout=3)
    assert seen - closed_at < 1.0
    for _ in range(50):
        rows = ctx.rows()
        if rows and rows[-1].status == "client_cancelled":
            break
        await asyncio.sleep(0.05)
    row = ctx.rows()[-1]
    assert (row.status, row.stream, row.provider) == ("client_cancelled", True, "up")


async def test_client_disconnect_while_waiting_for_first_byte(ctx, upstream):
    upstream.script(Hang())
    client = ctx.openai(timeout=0.5)
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="fast", messages=MESSAGES)
    seen = await upstream.wait_disconnect(timeout=3)
    assert seen > 0
    await client.close()
