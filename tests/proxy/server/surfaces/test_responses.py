"""``POST /v1/responses`` with the official openai SDK: passed through to an upstream that serves
the Responses API (the ``openai`` preset), translated onto Chat Completions for every other kind
(OpenAI-compatible, Anthropic, demo)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import openai
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream, Stream
from tests.helpers import DEMO_CONFIG, gateway_context

KEY = "sk-responses-test-key-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-responses-test-key-0123456789"
TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def config(openai_fake: FakeOpenAIUpstream, claude: FakeAnthropicUpstream | None = None) -> dict:
    providers = [
        # the same fake twice: as OpenAI itself (serves /responses) and as a chat-only server
        {"id": "openai", "preset": "openai", "base_url": openai_fake.base_url, "key": {"env": "SB_RESP_KEY"}},
        {"id": "compat", "preset": "custom", "base_url": openai_fake.base_url, "key": {"env": "SB_RESP_KEY"}},
    ]
    routes = [
        {"name": "native", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}]},
        {"name": "compat", "targets": [{"provider": "compat", "model": "gpt-4o-mini"}]},
    ]
    if claude is not None:
        providers.append(
            {"id": "claude", "preset": "anthropic", "base_url": f"{claude.base_url}/v1", "key": {"env": "SB_ANT_KEY"}}
        )
        routes.append({"name": "claude", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]})
    return {"providers": providers, "routes": routes}


ENV = {"SB_RESP_KEY": KEY, "SB_ANT_KEY": ANTHROPIC_KEY}


@pytest.fixture
async def upstreams():
    async with (
        FakeOpenAIUpstream(api_key=KEY) as openai_fake,
        FakeAnthropicUpstream(api_key=ANTHROPIC_KEY, bearer=False) as claude,
    ):
        yield openai_fake, claude


async def _text_and_stream(client: openai.AsyncOpenAI, model: str, prompt: str) -> tuple[str, str, object]:
    whole = await client.responses.create(model=model, input=prompt, instructions="Be brief.")
    pieces = []
    completed = None
    stream = await client.responses.create(model=model, input=prompt, instructions="Be brief.", stream=True)
    async for event in stream:
        if event.type == "response.output_text.delta":
            pieces.append(event.delta)
        elif event.type == "response.completed":
            completed = event.response
    assert completed is not None, "the stream ended with response.completed"
    assert completed.output_text == "".join(pieces)
    return whole.output_text, "".join(pieces), whole


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("native", "Hello from fake OpenAI Responses! You said: hello responses"),
        ("compat", "Hello from fake upstream! You said: hello responses"),
        ("claude", "Hello from fake Claude! You said: hello responses"),
    ],
    ids=["openai-native", "openai-compatible-translated", "anthropic-translated"],
)
async def test_responses_text_and_stream(tmp_path: Path, upstreams, route: str, expected: str) -> None:
    """compat: openai-sdk responses x openai (native) / openai-compatible / anthropic (text, stream)."""
    openai_fake, claude = upstreams
    async with gateway_context(tmp_path, config(openai_fake, claude), env=ENV) as ctx:
        client = ctx.openai()
        whole, streamed, response = await _text_and_stream(client, route, "hello responses")
        assert expected in whole and whole == streamed
        assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
        rows = ctx.rows()
        assert [(r.surface, r.status) for r in rows] == [("responses", "ok"), ("responses", "ok")]
        assert rows[-1].tokens_out and rows[-1].tokens_in
        if route == "native":
            assert openai_fake.requests[-1].path == "/v1/responses"
            assert openai_fake.requests[-1].json["instructions"] == "Be brief."  # untranslated
        elif route == "compat":
            sent = openai_fake.requests[-1]
            assert sent.path == "/v1/chat/completions"
            assert sent.json["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_responses_on_the_demo_provider(tmp_path: Path) -> None:
    """compat: openai-sdk responses x demo (text, stream, tools)."""
    async with gateway_context(tmp_path, DEMO_CONFIG) as ctx:
        client = ctx.openai()
        whole, streamed, _ = await _text_and_stream(client, "demo", "hello demo")
        assert "hello demo" in whole and whole == streamed
        call = await client.responses.create(
            model="demo", input="weather in Paris", tools=[TOOL], tool_choice="required"
        )
        calls = [item for item in call.output if item.type == "function_call"]
        assert calls and calls[0].name == "get_weather" and json.loads(calls[0].arguments)


@pytest.mark.parametrize("route", ["native", "compat", "claude"])
async def test_responses_function_calls_round_trip(tmp_path: Path, upstreams, route: str) -> None:
    """compat: openai-sdk responses x openai / openai-compatible / anthropic (tools, stream)."""
    openai_fake, claude = upstreams
    async with gateway_context(tmp_path, config(openai_fake, claude), env=ENV) as ctx:
        client = ctx.openai()
        ask = [{"role": "user", "content": "use tool: weather in Paris"}]
        response = await client.responses.create(model=route, input=ask, tools=[TOOL], tool_choice="required")
        calls = [item for item in response.output if item.type == "function_call"]
        assert len(calls) >= 1 and calls[0].name == "get_weather"
        arguments = json.loads(calls[0].arguments)
        assert isinstance(arguments.get("city"), str)
        # streamed: the same call, argument deltas reassembling to the same JSON
        stream = await client.responses.create(
            model=route, input=ask, tools=[TOOL], tool_choice="required", stream=True
        )
        deltas, done_items = [], []
        async for event in stream:
            if event.type == "response.function_call_arguments.delta":
                deltas.append(event.delta)
            elif event.type == "response.output_item.done" and event.item.type == "function_call":
                done_items.append(event.item)
        assert done_items and json.loads("".join(deltas)) == json.loads(done_items[0].arguments) == arguments
        # the result goes back as function_call_output (stateless: the whole conversation is sent)
        follow = await client.responses.create(
            model=route,
            tools=[TOOL],
            input=[
                *ask,
                {
                    "type": "function_call",
                    "call_id": calls[0].call_id,
                    "name": "get_weather",
                    "arguments": calls[0].arguments,
                },
                {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny, 21C"},
            ],
        )
        sent = (claude if route == "claude" else openai_fake).requests[-1].json
        if route == "native":  # passed through as it was
            assert sent["input"][-1] == {
                "type": "function_call_output",
                "call_id": calls[0].call_id,
                "output": "sunny, 21C",
            }
        elif route == "compat":  # translated: the call id is the chat tool-call id
            assert sent["messages"][-1] == {"role": "tool", "tool_call_id": calls[0].call_id, "content": "sunny, 21C"}
            assert sent["messages"][-2]["tool_calls"][0]["id"] == calls[0].call_id
        else:
            assert follow.output_text.startswith("Hello from fake Claude!")
            assert sent["messages"][-1]["content"][0]["tool_use_id"] == calls[0].call_id


async def test_previous_response_id_is_refused_on_translated_routes(tmp_path: Path, upstreams) -> None:
    openai_fake, claude = upstreams
    async with gateway_context(tmp_path, config(openai_fake, claude), env=ENV) as ctx:
        with pytest.raises(openai.BadRequestError) as info:
            await ctx.openai().responses.create(model="compat", input="more", previous_response_id="resp_123")
        assert info.value.body["param"] == "previous_response_id"
        assert "stateless" in info.value.body["message"]
        assert openai_fake.requests == []


async def test_translated_stream_cut_after_content_ends_with_response_failed(tmp_path: Path, upstreams) -> None:
    openai_fake, claude = upstreams
    openai_fake.script(Stream(chunks=["Hello", " wor"], then="reset"))
    async with gateway_context(tmp_path, config(openai_fake, claude), env=ENV) as ctx:
        async with aiohttp.ClientSession() as http:
            body = {"model": "compat", "input": "cut", "stream": True}
            async with http.post(f"{ctx.base_url}/v1/responses", json=body, headers=ctx.headers()) as resp:
                raw = await resp.read()
        events = [json.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]
        kinds = [e["type"] for e in events]
        assert "response.output_text.delta" in kinds
        assert kinds[-1] == "response.failed" and "response.completed" not in kinds
        assert [e["sequence_number"] for e in events] == list(range(len(events)))
        assert ctx.rows()[-1].status == "cut"


async def test_bad_responses_requests_get_precise_errors(tmp_path: Path) -> None:
    async with gateway_context(tmp_path, DEMO_CONFIG) as ctx, aiohttp.ClientSession() as http:
        for body, param in (
            ({"model": "demo"}, "input"),
            ({"model": "demo", "input": 5}, "input"),
            ({"model": "demo", "input": "x", "stream": "yes"}, "stream"),
            ({"model": "demo", "input": [{"type": "item_reference", "id": "msg_1"}]}, None),
        ):
            async with http.post(f"{ctx.base_url}/v1/responses", json=body, headers=ctx.headers()) as resp:
                assert resp.status == 400, body
                error = (await resp.json())["error"]
                assert error["message"] and (param is None or error["param"] == param)
