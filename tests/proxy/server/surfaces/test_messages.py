"""``POST /v1/messages`` with the official anthropic SDK, routed to the demo provider (translated
onto Chat Completions). Anthropic upstreams (native passthrough) are in ``test_anthropic_upstream.py``."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import anthropic
import pytest

from tests.helpers import ACCESS_KEY, gateway_context

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def test_messages_create_and_stream_agree_on_the_demo_provider(tmp_path: Path) -> None:
    """compat: anthropic-sdk x demo (text, stream)."""
    async with gateway_context(tmp_path) as ctx:
        client = ctx.anthropic()
        message = await client.messages.create(
            model="demo", max_tokens=200, messages=[{"role": "user", "content": "hello there"}]
        )
        assert message.type == "message" and message.role == "assistant"
        assert message.model == "demo"
        assert message.stop_reason == "end_turn"
        assert "hello there" in message.content[0].text
        assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
        async with client.messages.stream(
            model="demo", max_tokens=200, messages=[{"role": "user", "content": "hello there"}]
        ) as stream:
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
        assert len(pieces) > 3
        assert "".join(pieces) == message.content[0].text == final.content[0].text
        assert final.usage.output_tokens == message.usage.output_tokens
        assert final.usage.input_tokens == message.usage.input_tokens
        rows = ctx.rows()
        assert sorted((r.surface, r.status, r.stream) for r in rows) == [
            ("messages", "ok", False),
            ("messages", "ok", True),
        ]
        assert {r.tokens_out for r in rows} == {message.usage.output_tokens}


async def test_messages_tools_round_trip_on_the_demo_provider(tmp_path: Path) -> None:
    """compat: anthropic-sdk x demo (tools, stream)."""
    async with gateway_context(tmp_path) as ctx:
        client = ctx.anthropic()
        ask = [{"role": "user", "content": "weather in Paris"}]
        message = await client.messages.create(
            model="demo", max_tokens=200, tools=[WEATHER_TOOL], tool_choice={"type": "any"}, messages=ask
        )
        assert message.stop_reason == "tool_use"
        call = message.content[-1]
        assert call.type == "tool_use" and call.name == "get_weather" and isinstance(call.input, dict)
        async with client.messages.stream(
            model="demo", max_tokens=200, tools=[WEATHER_TOOL], tool_choice={"type": "any"}, messages=ask
        ) as stream:
            final = await stream.get_final_message()
        assert final.content[-1].input == call.input and final.content[-1].name == call.name
        assert final.stop_reason == "tool_use"
        # The tool result goes back; ids are kept through the translation.
        follow_up = await client.messages.create(
            model="demo",
            max_tokens=200,
            tools=[WEATHER_TOOL],
            messages=[
                *ask,
                {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in message.content]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}]},
            ],
        )
        assert follow_up.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("body", "status", "kind", "words"),
    [
        (b"{not json", 400, "invalid_request_error", "not valid JSON"),
        (
            b'{"model": "demo", "messages": [{"role": "user", "content": "x"}]}',
            400,
            "invalid_request_error",
            "max_tokens",
        ),
        (b'{"model": "demo", "max_tokens": "9", "messages": []}', 400, "invalid_request_error", "max_tokens"),
        (
            b'{"model": "demo", "max_tokens": 9, "messages": [{"role": "robot", "content": "x"}]}',
            400,
            "invalid_request_error",
            "role",
        ),
        (
            b'{"model": "nope", "max_tokens": 9, "messages": [{"role": "user", "content": "x"}]}',
            404,
            "not_found_error",
            "nope",
        ),
        (
            b'{"model": "demo", "max_tokens": 9, "messages": [{"role": "user", "content": [{"type": "hologram"}]}]}',
            400,
            "invalid_request_error",
            "hologram",
        ),
    ],
)
async def test_bad_messages_requests_get_anthropic_error_shapes(
    tmp_path: Path, body: bytes, status: int, kind: str, words: str
) -> None:
    async with gateway_context(tmp_path) as ctx, aiohttp.ClientSession() as http:
        headers = {"x-api-key": ACCESS_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        async with http.post(f"{ctx.base_url}/v1/messages", data=body, headers=headers) as resp:
            assert resp.status == status
            payload = await resp.json()
        assert payload["type"] == "error"
        assert payload["error"]["type"] == kind
        assert words in payload["error"]["message"]
        assert ctx.rows()[0].status == "rejected"


async def test_missing_access_key_on_messages_is_an_anthropic_authentication_error(tmp_path: Path) -> None:
    async with gateway_context(tmp_path) as ctx:
        client = anthropic.AsyncAnthropic(base_url=ctx.base_url, api_key="wrong-key", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as info:
            await client.messages.create(model="demo", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        assert info.value.body["error"]["type"] == "authentication_error"


async def test_count_tokens_is_estimated_for_non_anthropic_routes(tmp_path: Path) -> None:
    async with gateway_context(tmp_path) as ctx:
        client = ctx.anthropic()
        short = await client.messages.count_tokens(model="demo", messages=[{"role": "user", "content": "hi"}])
        text = "word " * 400
        raw = await client.messages.with_raw_response.count_tokens(
            model="demo", system="Be brief.", tools=[WEATHER_TOOL], messages=[{"role": "user", "content": text}]
        )
        long = await raw.parse()
        assert raw.headers["x-switchboard-estimate"] == "true"
        assert short.input_tokens >= 1
        assert 500 <= long.input_tokens <= 600  # ~4 characters per token
        assert [r.surface for r in ctx.rows()] == ["count_tokens", "count_tokens"]


async def test_base_url_probe_answers_without_a_key(tmp_path: Path) -> None:
    """Claude Code sends ``HEAD /`` to the base URL before anything else."""
    async with gateway_context(tmp_path) as ctx, aiohttp.ClientSession() as http:
        async with http.head(f"{ctx.base_url}/") as resp:
            assert resp.status == 200
        async with http.get(f"{ctx.base_url}/", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 403  # the Host gate still applies


async def test_mid_conversation_system_messages_are_accepted(tmp_path: Path) -> None:
    async with gateway_context(tmp_path) as ctx:
        message = await ctx.anthropic().messages.create(
            model="demo",
            max_tokens=50,
            messages=[{"role": "user", "content": "hello"}, {"role": "system", "content": "be nice"}],
        )
        assert "hello" in message.content[0].text
