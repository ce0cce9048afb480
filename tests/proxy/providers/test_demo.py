"""The demo provider through a real gateway, with the official openai SDK as the client."""

from __future__ import annotations

import base64
import json
import struct

import openai
import pytest

from proxy.providers.demo import embed
from tests.helpers import gateway_context

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            },
        },
    }
]


async def test_chat_non_stream(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        client = ctx.openai()
        resp = await client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "hello world"}])
        assert resp.object == "chat.completion"
        assert 'You said: "hello world"' in resp.choices[0].message.content
        assert resp.choices[0].finish_reason == "stop"
        assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
        raw = await client.chat.completions.with_raw_response.create(
            model="demo", messages=[{"role": "user", "content": "x"}]
        )
        assert raw.headers["x-switchboard-route"] == "demo"
        assert raw.headers["x-switchboard-provider"] == "demo"
        assert raw.headers["x-switchboard-model"] == "echo"
        assert raw.headers["x-switchboard-attempts"] == "1"
        await client.close()


async def test_chat_stream_reassembles_and_usage_only_when_asked(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        client = ctx.openai()
        messages = [{"role": "user", "content": "stream me please"}]
        full = await client.chat.completions.create(model="demo", messages=messages)
        chunks = [c async for c in await client.chat.completions.create(model="demo", messages=messages, stream=True)]
        assert len(chunks) > 5
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == full.choices[0].message.content
        assert chunks[0].choices[0].delta.role == "assistant"
        assert all(c.choices for c in chunks), "usage chunk must be hidden when the client did not ask"
        assert chunks[-1].choices[0].finish_reason == "stop"

        with_usage = [
            c
            async for c in await client.chat.completions.create(
                model="demo", messages=messages, stream=True, stream_options={"include_usage": True}
            )
        ]
        assert with_usage[-1].choices == [] and with_usage[-1].usage.completion_tokens > 0
        await client.close()
        rows = ctx.rows()
        assert [r.stream for r in rows] == [False, True, True]
        assert all(r.status == "ok" and r.tokens_out for r in rows), rows


async def test_tool_calls_non_stream_and_stream(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        client = ctx.openai()
        messages = [{"role": "user", "content": "the weather in Paris?"}]
        resp = await client.chat.completions.create(model="demo", messages=messages, tools=TOOLS)
        call = resp.choices[0].message.tool_calls[0]
        assert resp.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "the weather in Paris?", "days": 4}

        stream = await client.chat.completions.create(model="demo", messages=messages, tools=TOOLS, stream=True)
        ids, name, args, finish = set(), "", "", None
        async for chunk in stream:
            for tc in chunk.choices[0].delta.tool_calls or []:
                ids.add(tc.id) if tc.id else None
                name += tc.function.name or "" if tc.function else ""
                args += tc.function.arguments or "" if tc.function else ""
            finish = chunk.choices[0].finish_reason or finish
        assert ids == {call.id} and name == "get_weather"
        assert json.loads(args) == {"city": "the weather in Paris?", "days": 4}
        assert finish == "tool_calls"

        follow_up = messages + [
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
        ]
        answer = await client.chat.completions.create(model="demo", messages=follow_up, tools=TOOLS)
        assert answer.choices[0].message.content == "The tool returned: sunny, 21C"
        await client.close()


async def test_n_response_format_and_limits(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        client = ctx.openai()
        msg = [{"role": "user", "content": "one two three"}]
        resp = await client.chat.completions.create(model="demo", messages=msg, n=3)
        assert [c.index for c in resp.choices] == [0, 1, 2]
        resp = await client.chat.completions.create(model="demo", messages=msg, response_format={"type": "json_object"})
        assert json.loads(resp.choices[0].message.content) == {"echo": "one two three", "words": 3, "characters": 13}
        resp = await client.chat.completions.create(model="demo", messages=msg, max_tokens=3)
        assert resp.choices[0].finish_reason == "length"
        assert resp.choices[0].message.content == "You said: "
        resp = await client.chat.completions.create(model="demo", messages=msg, stop=["three"])
        assert resp.choices[0].message.content == 'You said: "one two '
        await client.close()


async def test_embeddings_float_and_base64(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        client = ctx.openai()
        resp = await client.embeddings.create(model="demo-embed", input=["the cat sat", "the cat sat down"])
        a, b = (d.embedding for d in resp.data)
        assert len(a) == 256 and a == pytest.approx(embed("the cat sat"))
        assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.5, "similar texts, similar vectors"
        assert resp.usage.prompt_tokens == 7
        raw = await client.embeddings.with_raw_response.create(
            model="demo/embed", input="hi", encoding_format="base64", dimensions=8
        )
        b64 = raw.http_response.json()["data"][0]["embedding"]
        assert struct.unpack("<8f", base64.b64decode(b64)) == pytest.approx(embed("hi", 8))
        await client.close()


async def test_wrong_model_kind_and_unknown_demo_model(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        client = ctx.openai()
        with pytest.raises(openai.BadRequestError, match="does not support embeddings"):
            await client.embeddings.create(model="demo", input="x")
        with pytest.raises(openai.NotFoundError) as err:
            await client.chat.completions.create(model="demo/nope", messages=[{"role": "user", "content": "x"}])
        assert err.value.body["code"] == "model_not_found"
        await client.close()
