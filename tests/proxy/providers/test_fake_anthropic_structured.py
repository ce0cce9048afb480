"""The fake Anthropic upstream's native structured outputs, forced tool use and cache breakpoint rules,
proven with the official anthropic SDK pointed straight at it."""

from __future__ import annotations

import json

import anthropic
import pytest
from pydantic import BaseModel

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream

KEY = "sk-ant-fake-structured-0123456789"
MSGS = [{"role": "user", "content": "Alice is thirty"}]


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture
async def client():
    async with FakeAnthropicUpstream(api_key=KEY) as fake:
        sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=KEY, max_retries=0)
        try:
            yield sdk
        finally:
            await sdk.close()


async def test_output_config_format_answers_json_that_fits_stream_and_not(client: anthropic.AsyncAnthropic) -> None:
    reply = await client.messages.parse(model="claude-haiku-4-5", max_tokens=200, messages=MSGS, output_format=Person)
    assert reply.parsed_output == Person(name="Alice is thirty", age=1)
    assert reply.stop_reason == "end_turn" and reply.content[0].type == "text"
    async with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=200, messages=MSGS, output_format=Person
    ) as stream:
        deltas = [e async for e in stream if e.type == "content_block_delta"]
        final = await stream.get_final_message()
    assert len(deltas) > 1 and json.loads(final.content[0].text) == {"name": "Alice is thirty", "age": 1}


async def test_the_beta_output_format_needs_its_header(client: anthropic.AsyncAnthropic) -> None:
    fmt = {"type": "json_schema", "schema": Person.model_json_schema() | {"additionalProperties": False}}
    reply = await client.beta.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=MSGS,
        extra_body={"output_format": fmt},  # deprecated: the SDK no longer names it
        betas=["structured-outputs-2025-11-13"],
    )
    assert json.loads(reply.content[0].text)["age"] == 1
    with pytest.raises(anthropic.BadRequestError, match="structured-outputs-2025-11-13"):
        await client.beta.messages.create(
            model="claude-haiku-4-5", max_tokens=200, messages=MSGS, extra_body={"output_format": fmt}
        )


@pytest.mark.parametrize(
    ("model", "schema", "says"),
    [
        ("claude-opus-4-1", {"type": "object", "properties": {}, "additionalProperties": False}, "does not support"),
        ("claude-haiku-4-5", {"type": "object", "properties": {}}, "'additionalProperties' must be explicitly set"),
        (
            "claude-haiku-4-5",
            {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "additionalProperties": False},
            "'minimum' keyword is not supported",
        ),
    ],
)
async def test_what_the_grammar_cannot_take_is_a_400(
    client: anthropic.AsyncAnthropic, model: str, schema: dict, says: str
) -> None:
    with pytest.raises(anthropic.BadRequestError, match=says):
        await client.messages.create(
            model=model,
            max_tokens=100,
            messages=MSGS,
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )


async def test_a_forced_tool_call_follows_refs_stream_and_not(client: anthropic.AsyncAnthropic) -> None:
    schema = {
        "type": "object",
        "properties": {"who": {"$ref": "#/$defs/P"}},
        "$defs": {"P": Person.model_json_schema()},
    }
    tool = {"name": "answer", "input_schema": schema}
    args = {"model": "claude-opus-4-1", "max_tokens": 200, "messages": MSGS, "tools": [tool]}
    reply = await client.messages.create(**args, tool_choice={"type": "tool", "name": "answer"})
    (block,) = reply.content
    assert block.type == "tool_use" and block.input == {"who": {"name": "Alice is thirty", "age": 1}}
    assert reply.stop_reason == "tool_use"
    async with client.messages.stream(**args, tool_choice={"type": "tool", "name": "answer"}) as stream:
        final = await stream.get_final_message()
    assert final.content[0].input == block.input


async def test_cache_breakpoint_rules(client: anthropic.AsyncAnthropic) -> None:
    mark = {"type": "ephemeral"}
    blocks = [{"type": "text", "text": f"part {i}", "cache_control": mark} for i in range(5)]
    with pytest.raises(anthropic.BadRequestError, match="A maximum of 4 blocks with cache_control"):
        await client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": blocks}]
        )
    late_hour = [
        {"type": "text", "text": "a", "cache_control": mark},
        {"type": "text", "text": "b", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
    ]
    with pytest.raises(anthropic.BadRequestError, match="ttl='1h'"):
        await client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": late_hour}]
        )
    first = await client.messages.create(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": blocks[:4]}]
    )
    again = await client.messages.create(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": blocks[:4]}]
    )
    assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens
    assert again.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


async def test_one_hour_writes_are_reported_apart(client: anthropic.AsyncAnthropic) -> None:
    hour = {"type": "ephemeral", "ttl": "1h"}
    blocks = [
        {"type": "text", "text": "long lived " * 50, "cache_control": hour},
        {"type": "text", "text": "short lived " * 20, "cache_control": {"type": "ephemeral"}},
    ]
    reply = await client.messages.create(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": blocks}]
    )
    split = reply.usage.cache_creation
    assert split is not None and split.ephemeral_1h_input_tokens > 0 and split.ephemeral_5m_input_tokens > 0
    assert split.ephemeral_1h_input_tokens + split.ephemeral_5m_input_tokens == reply.usage.cache_creation_input_tokens
