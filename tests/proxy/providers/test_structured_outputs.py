"""Structured outputs that hold on every upstream (issue 18, item 3), through the real SDKs:

- the openai SDK's ``chat.completions.parse()`` / ``.stream()`` with a pydantic model, and
  ``json_object`` mode, on an Anthropic model with native structured outputs (``output_config.format``)
  and on one without (a forced tool call whose input becomes the content);
- the Responses API's ``text.format`` (``responses.parse``) on the same two;
- the Messages API's ``output_config.format`` going to an OpenAI-compatible upstream;
- a schema no target can honour: a 400 naming the keyword, after the route's other targets.

The fake Anthropic upstream speaks the exact wire format of both paths (``tests/fakes/anthropic_upstream.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from pydantic import BaseModel, Field

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.gemini_upstream import FakeGeminiUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream, Reply
from tests.helpers import gateway_context

KEY = "sk-ant-api03-structured-test-key-0123456789"
OPENAI_KEY = "sk-openai-structured-test-key-0123456789"
ENV = {"SB_ANTHROPIC_KEY": KEY, "SB_OPENAI_KEY": OPENAI_KEY}
ASK = [{"role": "user", "content": "Alice and Bob meet on Friday"}]


class Person(BaseModel):
    name: str
    age: int


class Event(BaseModel):
    title: str
    day: str
    people: list[Person]


class Bounded(BaseModel):
    """A schema Anthropic's grammar cannot enforce (``minimum``)."""

    count: int = Field(ge=1)


def config(claude: FakeAnthropicUpstream, oa: FakeOpenAIUpstream) -> dict:
    return {
        "providers": [
            {
                "id": "claude",
                "preset": "anthropic",
                "base_url": f"{claude.base_url}/v1",
                "key": {"env": "SB_ANTHROPIC_KEY"},
            },
            {"id": "oa", "base_url": oa.base_url, "key": {"env": "SB_OPENAI_KEY"}},
        ],
        "routes": [
            {"name": "native", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]},
            {"name": "tooled", "targets": [{"provider": "claude", "model": "claude-opus-4-1"}]},
            {"name": "gpt", "targets": [{"provider": "oa", "model": "gpt-4o-mini"}]},
            {
                "name": "falls-back",
                "targets": [
                    {"provider": "claude", "model": "claude-sonnet-4-5"},
                    {"provider": "oa", "model": "gpt-4o-mini"},
                ],
            },
            {
                "name": "claude-only",
                "targets": [
                    {"provider": "claude", "model": "claude-sonnet-4-5"},
                    {"provider": "claude", "model": "claude-haiku-4-5"},
                ],
            },
        ],
    }


@pytest.fixture
async def fakes():
    async with FakeAnthropicUpstream(api_key=KEY, bearer=False) as claude, FakeOpenAIUpstream(api_key=OPENAI_KEY) as oa:
        yield claude, oa


def _sent(claude: FakeAnthropicUpstream) -> dict:
    return claude.requests[-1].json


@pytest.mark.parametrize("route", ["native", "tooled"])
async def test_parse_with_a_pydantic_model_stream_and_not(tmp_path: Path, fakes, route: str) -> None:
    """compat: openai-sdk chat.completions.parse x anthropic (native structured outputs / forced tool)."""
    claude, oa = fakes
    async with gateway_context(tmp_path, config(claude, oa), env=ENV) as ctx:
        client = ctx.openai()
        reply = await client.chat.completions.parse(model=route, messages=ASK, response_format=Event)
        event = reply.choices[0].message.parsed
        assert isinstance(event, Event) and event.people and isinstance(event.people[0], Person)
        assert reply.choices[0].finish_reason == "stop" and not reply.choices[0].message.tool_calls
        sent = _sent(claude)
        if route == "native":  # Anthropic's own structured outputs, every object closed
            schema = sent["output_config"]["format"]["schema"]
            assert sent["output_config"]["format"]["type"] == "json_schema" and "tools" not in sent
            assert schema["additionalProperties"] is False
            assert schema["$defs"]["Person"]["additionalProperties"] is False
        else:  # no native structured outputs on Opus 4.1: a forced tool whose input is the answer
            assert "output_config" not in sent
            assert sent["tool_choice"] == {"type": "tool", "name": "json_response", "disable_parallel_tool_use": True}
            assert sent["tools"][-1]["input_schema"]["properties"].keys() == {"title", "day", "people"}

        async with client.chat.completions.stream(model=route, messages=ASK, response_format=Event) as stream:
            deltas = [e.delta async for e in stream if e.type == "content.delta"]
            final = await stream.get_final_completion()
        assert len(deltas) > 1  # streamed as content deltas, not one lump
        assert final.choices[0].message.parsed == event
        assert final.choices[0].finish_reason == "stop" and not final.choices[0].message.tool_calls
        assert all(r.status == "ok" for r in ctx.rows())


@pytest.mark.parametrize("route", ["native", "tooled"])
async def test_json_object_mode_is_json(tmp_path: Path, fakes, route: str) -> None:
    claude, oa = fakes
    async with gateway_context(tmp_path, config(claude, oa), env=ENV) as ctx:
        client = ctx.openai()
        reply = await client.chat.completions.create(model=route, messages=ASK, response_format={"type": "json_object"})
        assert isinstance(json.loads(reply.choices[0].message.content), dict)
        assert reply.choices[0].finish_reason == "stop"
        # any object: Anthropic's grammar has no "any object", so JSON mode is the forced tool on every model
        (tool,) = _sent(claude)["tools"]
        assert tool["name"] == "json_response" and tool["input_schema"] == {"type": "object"}
        stream = await client.chat.completions.create(
            model=route, messages=ASK, response_format={"type": "json_object"}, stream=True
        )
        chunks = [c async for c in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert isinstance(json.loads(text), dict)
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


async def test_the_answer_tool_sits_beside_the_clients_tools(tmp_path: Path, fakes) -> None:
    """With tools of its own the client may still get a tool call; the answer tool is offered, not forced."""
    claude, oa = fakes
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
    async with gateway_context(tmp_path, config(claude, oa), env=ENV) as ctx:
        client = ctx.openai()
        ask = [{"role": "user", "content": "use tool lookup first"}]
        reply = await client.chat.completions.create(
            model="tooled", messages=ask, tools=[tool], response_format={"type": "json_object"}
        )
        sent = _sent(claude)
        assert [t["name"] for t in sent["tools"]] == ["lookup", "json_response"]
        assert sent["tool_choice"] == {"type": "auto"}
        assert "json_response" in sent["system"][-1]["text"]
        assert reply.choices[0].finish_reason == "tool_calls"
        assert reply.choices[0].message.tool_calls[0].function.name == "lookup"


@pytest.mark.parametrize("route", ["native", "tooled"])
async def test_responses_text_format_via_the_openai_sdk(tmp_path: Path, fakes, route: str) -> None:
    """compat: openai-sdk responses.parse x anthropic."""
    claude, oa = fakes
    async with gateway_context(tmp_path, config(claude, oa), env=ENV) as ctx:
        client = ctx.openai()
        parsed = await client.responses.parse(model=route, input="Alice and Bob meet on Friday", text_format=Event)
        assert isinstance(parsed.output_parsed, Event) and parsed.output_parsed.people
        assert parsed.status == "completed"
        assert ("output_config" in _sent(claude)) == (route == "native")
        async with client.responses.stream(model=route, input="Alice meets Bob", text_format=Event) as stream:
            async for _event in stream:
                pass
            final = await stream.get_final_response()
        assert isinstance(final.output_parsed, Event)


async def test_messages_output_format_goes_to_an_openai_upstream_as_response_format(tmp_path: Path, fakes) -> None:
    """compat: anthropic-sdk messages.parse x openai-compatible."""
    claude, oa = fakes
    answer = Person(name="Alice", age=30).model_dump_json()
    oa.script(Reply(content=answer), Reply(content=answer))
    async with gateway_context(tmp_path, config(claude, oa), env=ENV) as ctx:
        client = ctx.anthropic()
        reply = await client.messages.parse(model="gpt", max_tokens=200, messages=ASK, output_format=Person)
        assert reply.parsed_output == Person(name="Alice", age=30)
        fmt = oa.requests[-1].json["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        assert fmt["json_schema"]["schema"]["properties"].keys() == {"name", "age"}
        # an optional property breaks OpenAI's strict rules: the schema still goes, as guidance
        schema = {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": False}
        await client.messages.create(
            model="gpt",
            max_tokens=200,
            messages=ASK,
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )
        fmt = oa.requests[-1].json["response_format"]
        assert fmt == {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}


async def test_a_keyword_no_target_can_honour_is_a_400_naming_it_after_every_target(tmp_path: Path, fakes) -> None:
    claude, oa = fakes
    async with gateway_context(tmp_path, config(claude, oa), env=ENV) as ctx:
        client = ctx.openai()
        # another target (OpenAI enforces `minimum`) takes it
        oa.script(Reply(content='{"count": 3}'))
        reply = await client.chat.completions.parse(model="falls-back", messages=ASK, response_format=Bounded)
        assert reply.choices[0].message.parsed == Bounded(count=3)
        assert ctx.rows()[-1].provider == "oa" and ctx.rows()[-1].attempts == 2
        # no target can: the client's 400 names the keyword and where it is
        before = len(claude.requests)
        with pytest.raises(openai.BadRequestError) as info:
            await client.chat.completions.parse(model="claude-only", messages=ASK, response_format=Bounded)
        error = info.value.body
        assert "`minimum`" in error["message"] and "claude-haiku-4-5" in error["message"]
        assert error["param"] == "response_format.json_schema.schema.properties.count.minimum"
        assert len(claude.requests) == before  # refused before anything was sent upstream
        row = ctx.rows()[-1]
        assert row.status == "rejected" and row.http_status == 400 and row.attempts == 2


async def test_messages_output_format_goes_to_a_gemini_upstream_as_its_response_schema(tmp_path: Path) -> None:
    """compat: anthropic-sdk messages.parse x gemini (native): the canonical response_format, mapped on."""
    async with FakeGeminiUpstream(api_key="gemini-structured-test-key") as gem:
        cfg = {
            "providers": [{"id": "gem", "preset": "gemini", "base_url": gem.base_url, "key": {"env": "SB_GEM"}}],
            "routes": [{"name": "flash", "targets": [{"provider": "gem", "model": "gemini-2.5-flash"}]}],
        }
        async with gateway_context(tmp_path, cfg, env={"SB_GEM": "gemini-structured-test-key"}) as ctx:
            client = ctx.anthropic()
            reply = await client.messages.parse(model="flash", max_tokens=200, messages=ASK, output_format=Person)
            assert isinstance(reply.parsed_output, Person)
            generation = gem.requests[-1].json["generationConfig"]
            assert generation["responseMimeType"] == "application/json"
            assert generation["responseJsonSchema"]["properties"].keys() == {"name", "age"}


async def test_parse_on_the_other_upstream_kinds_stream_and_not(tmp_path: Path, fakes) -> None:
    """``.parse()`` with a pydantic model on an OpenAI-compatible and a native Gemini upstream too."""
    claude, oa = fakes
    event = Event(title="Lunch", day="Friday", people=[Person(name="Bob", age=40)])
    oa.script(Reply(content=event.model_dump_json()), Reply(content=event.model_dump_json()))
    async with FakeGeminiUpstream(api_key="gemini-structured-test-key") as gem:
        cfg = config(claude, oa)
        cfg["providers"].append({"id": "gem", "preset": "gemini", "base_url": gem.base_url, "key": {"env": "SB_GEM"}})
        cfg["routes"].append({"name": "flash", "targets": [{"provider": "gem", "model": "gemini-2.5-flash"}]})
        async with gateway_context(tmp_path, cfg, env={**ENV, "SB_GEM": "gemini-structured-test-key"}) as ctx:
            client = ctx.openai()
            for route in ("gpt", "flash"):
                reply = await client.chat.completions.parse(model=route, messages=ASK, response_format=Event)
                assert isinstance(reply.choices[0].message.parsed, Event)
                async with client.chat.completions.stream(model=route, messages=ASK, response_format=Event) as stream:
                    final = await stream.get_final_completion()
                assert final.choices[0].message.parsed == reply.choices[0].message.parsed
            assert oa.requests[-1].json["response_format"]["json_schema"]["strict"] is True
            assert "responseJsonSchema" in gem.requests[-1].json["generationConfig"]
