"""Routes to an Anthropic upstream (the fake speaks Anthropic's exact wire format):

- the openai SDK's Chat Completions, translated both ways by the Anthropic adapter;
- the anthropic SDK's Messages, passed through natively;
- both, when a route mixes an Anthropic target with an OpenAI-compatible one.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import anthropic
import openai
import pytest

from tests.fakes.anthropic_upstream import (
    AnthropicError,
    FakeAnthropicUpstream,
    Stream,
    overloaded,
    prompt_too_long,
    rate_limited,
)
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context

KEY = "sk-ant-api03-upstream-test-key-0123456789"
OPENAI_KEY = "sk-openai-fallback-test-key-0123456789"
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ANTHROPIC_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": TOOL["function"]["parameters"],
}


def config(claude: FakeAnthropicUpstream, other: FakeOpenAIUpstream | None = None) -> dict:
    providers = [
        {
            "id": "claude",
            "preset": "anthropic",
            "base_url": f"{claude.base_url}/v1",
            "key": {"env": "SB_ANTHROPIC_KEY"},
            "timeouts": {"connect": 2, "first_token": 2, "idle": 1, "total": 10},
        }
    ]
    routes = [
        {"name": "sonnet", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]},
        {"name": "claude-*haiku*", "targets": [{"provider": "claude", "model": "claude-haiku-4-5"}]},
    ]
    if other is not None:
        providers.append({"id": "oa", "base_url": other.base_url, "key": {"env": "SB_OPENAI_KEY"}})
        routes.append(
            {
                "name": "mixed",
                "targets": [
                    {"provider": "claude", "model": "claude-sonnet-4-5"},
                    {"provider": "oa", "model": "gpt-4o-mini"},
                ],
                "retries": {"max_retries": 0},
            }
        )
    return {"providers": providers, "routes": routes}


ENV = {"SB_ANTHROPIC_KEY": KEY, "SB_OPENAI_KEY": OPENAI_KEY}


@pytest.fixture
async def claude():
    async with FakeAnthropicUpstream(api_key=KEY, bearer=False) as fake:
        yield fake


# ------------------------------------------------------------------------------------------------
# openai SDK (Chat Completions) -> Anthropic, translated
# ------------------------------------------------------------------------------------------------


async def test_chat_to_anthropic_text_stream_and_headers(tmp_path: Path, claude: FakeAnthropicUpstream) -> None:
    """compat: openai-sdk chat x anthropic (text, stream)."""
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        client = ctx.openai()
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi claude"}]
        reply = await client.chat.completions.create(model="sonnet", messages=messages, max_tokens=100)
        text = reply.choices[0].message.content
        assert text == "Hello from fake Claude! You said: hi claude"
        assert reply.choices[0].finish_reason == "stop"
        assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
        sent = claude.requests[-1]
        assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in {k.lower() for k in sent.headers}
        assert sent.json["system"] == [{"type": "text", "text": "Be brief."}] and sent.json["max_tokens"] == 100
        stream = await client.chat.completions.create(
            model="sonnet", messages=messages, max_tokens=100, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == text
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == reply.usage.completion_tokens
        rows = ctx.rows()
        assert [r.status for r in rows] == ["ok", "ok"] and rows[-1].provider == "claude"
        assert all(r.cost and r.cost > 0 for r in rows)  # priced as Anthropic's model, wherever it is served


async def test_chat_to_anthropic_tools_parallel_and_round_trip(tmp_path: Path, claude: FakeAnthropicUpstream) -> None:
    """compat: openai-sdk chat x anthropic (tools, stream)."""
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        client = ctx.openai()
        ask = [{"role": "user", "content": "use tool in parallel for Paris and Rome"}]
        reply = await client.chat.completions.create(model="sonnet", messages=ask, tools=[TOOL])
        calls = reply.choices[0].message.tool_calls
        assert reply.choices[0].finish_reason == "tool_calls" and len(calls) == 2
        assert all(c.id.startswith("toolu_") and c.function.name == "get_weather" for c in calls)
        stream = await client.chat.completions.create(model="sonnet", messages=ask, tools=[TOOL], stream=True)
        parts: dict[int, dict] = {}
        async for chunk in stream:
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                slot = parts.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                slot["name"] += call.function.name or ""
                slot["arguments"] += call.function.arguments or ""
        assert [(p["name"], p["arguments"]) for p in parts.values()] == [
            (c.function.name, c.function.arguments) for c in calls
        ]
        assert all(p["id"].startswith("toolu_") for p in parts.values())  # Anthropic's ids, kept
        follow = await client.chat.completions.create(
            model="sonnet",
            tools=[TOOL],
            messages=[
                *ask,
                reply.choices[0].message.model_dump(exclude_none=True),
                *({"role": "tool", "tool_call_id": c.id, "content": "sunny"} for c in calls),
            ],
        )
        assert follow.choices[0].finish_reason == "stop"
        sent = claude.requests[-1].json["messages"]
        assert [b["tool_use_id"] for b in sent[-1]["content"]] == [c.id for c in calls]  # ids kept


async def test_chat_to_anthropic_thinking_and_cache_usage(tmp_path: Path, claude: FakeAnthropicUpstream) -> None:
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        client = ctx.openai()
        long_system = {"type": "text", "text": "Rules. " * 400, "cache_control": {"type": "ephemeral"}}
        messages = [{"role": "system", "content": [long_system]}, {"role": "user", "content": "think first"}]
        first = await client.chat.completions.create(
            model="sonnet", messages=messages, reasoning_effort="low", max_tokens=200
        )
        message = first.choices[0].message.model_dump()
        assert message["reasoning_content"] and message["thinking_blocks"][0]["signature"]
        assert first.usage.prompt_tokens_details.cached_tokens == 0
        second = await client.chat.completions.create(model="sonnet", messages=messages, max_tokens=200)
        assert second.usage.prompt_tokens_details.cached_tokens > 0
        first_row, second_row = ctx.rows()
        assert second_row.tokens_cached == second.usage.prompt_tokens_details.cached_tokens
        assert first_row.tokens_cache_write and first_row.tokens_cache_write > 0  # priced at the cache-write rate
        assert not second_row.tokens_cache_write
        sent = claude.requests[0].json
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize(
    ("failure", "error", "status"),
    [
        (rate_limited(30), openai.RateLimitError, 429),
        (overloaded(), openai.InternalServerError, 503),
        (AnthropicError(401, "authentication_error", "invalid x-api-key"), openai.AuthenticationError, 401),
    ],
)
async def test_anthropic_errors_reach_openai_clients_in_openai_terms(
    tmp_path: Path, claude: FakeAnthropicUpstream, failure: AnthropicError, error: type, status: int
) -> None:
    claude.default_behaviour = failure
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        with pytest.raises(error) as info:
            await ctx.openai().chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "x"}])
        assert info.value.status_code == status
        assert info.value.body["code"] == failure.type  # Anthropic's own type is kept
        assert failure.message in info.value.body["message"]


async def test_context_length_moves_on_and_unsupported_fields_are_refused(tmp_path: Path, claude) -> None:
    async with FakeOpenAIUpstream(api_key=OPENAI_KEY) as other:
        claude.script(prompt_too_long())
        async with gateway_context(tmp_path, config(claude, other), env=ENV) as ctx:
            client = ctx.openai()
            raw = await client.chat.completions.with_raw_response.create(
                model="mixed", messages=[{"role": "user", "content": "a very long prompt"}]
            )
            assert raw.headers["x-switchboard-provider"] == "oa"  # a larger window, by the route's order
            # n=2 cannot go to Anthropic: the next target takes it; alone, it is a precise 400.
            raw = await client.chat.completions.with_raw_response.create(
                model="mixed", n=2, messages=[{"role": "user", "content": "two please"}]
            )
            assert raw.headers["x-switchboard-provider"] == "oa"
            with pytest.raises(openai.BadRequestError) as info:
                await client.chat.completions.create(model="sonnet", n=2, messages=[{"role": "user", "content": "x"}])
            assert info.value.body["param"] == "n" and info.value.body["code"] == "unsupported_by_provider"


# ------------------------------------------------------------------------------------------------
# anthropic SDK (Messages) -> Anthropic, native
# ------------------------------------------------------------------------------------------------


async def test_messages_pass_through_natively(tmp_path: Path, claude: FakeAnthropicUpstream) -> None:
    """compat: anthropic-sdk x anthropic (text, tools, stream)."""
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        client = ctx.anthropic()
        system = [{"type": "text", "text": "Be brief. " * 300, "cache_control": {"type": "ephemeral"}}]
        message = await client.messages.create(
            model="sonnet",
            max_tokens=2000,
            system=system,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[{"role": "user", "content": "hello native"}],
            extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
        )
        assert [b.type for b in message.content] == ["thinking", "text"]
        assert message.content[0].signature
        assert message.usage.cache_creation_input_tokens > 0
        sent = claude.requests[-1]
        assert sent.json["model"] == "claude-sonnet-4-5"  # the route's upstream model
        assert sent.json["system"] == system and sent.json["thinking"]["budget_tokens"] == 1024  # untranslated
        assert sent.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
        assert sent.headers["x-api-key"] == KEY
        tools_ask = [{"role": "user", "content": "use tool in parallel please"}]
        whole = await client.messages.create(model="sonnet", max_tokens=300, tools=[ANTHROPIC_TOOL], messages=tools_ask)
        async with client.messages.stream(
            model="sonnet", max_tokens=300, tools=[ANTHROPIC_TOOL], messages=tools_ask
        ) as stream:
            final = await stream.get_final_message()
        assert [(b.type, getattr(b, "input", None)) for b in final.content] == [
            (b.type, getattr(b, "input", None)) for b in whole.content
        ]
        assert final.stop_reason == "tool_use" and sum(b.type == "tool_use" for b in final.content) == 2
        count = await client.messages.with_raw_response.count_tokens(
            model="sonnet", messages=[{"role": "user", "content": "count me"}]
        )
        assert "x-switchboard-estimate" not in count.headers  # Anthropic counted
        assert (await count.parse()).input_tokens > 0
        assert claude.requests[-1].path.endswith("/v1/messages/count_tokens")
        rows = ctx.rows()
        assert all(r.status == "ok" and r.provider == "claude" for r in rows)
        assert rows[0].tokens_in == message.usage.input_tokens + message.usage.cache_creation_input_tokens


async def test_glob_route_maps_hard_coded_model_names(tmp_path: Path, claude: FakeAnthropicUpstream) -> None:
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        raw = await ctx.anthropic().messages.with_raw_response.create(
            model="claude-haiku-4-5-20251001", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
        )
        assert raw.headers["x-switchboard-route"] == "claude-*haiku*"
        assert claude.requests[-1].json["model"] == "claude-haiku-4-5"


async def test_native_stream_cut_after_content_ends_with_an_error_event(tmp_path: Path, claude) -> None:
    claude.script(Stream(then="reset", after=2))
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        kinds: list[str] = []
        with pytest.raises(anthropic.APIStatusError):
            async with ctx.anthropic().messages.stream(
                model="sonnet", max_tokens=100, messages=[{"role": "user", "content": "cut me"}]
            ) as stream:
                async for event in stream:
                    kinds.append(event.type)
        assert "text" in kinds and "message_stop" not in kinds
        assert ctx.rows()[-1].status == "cut"


async def test_mixed_route_falls_back_from_native_to_translated(tmp_path: Path, claude) -> None:
    """compat: anthropic-sdk x openai-compatible (after an Anthropic failure, mid-route)."""
    async with FakeOpenAIUpstream(api_key=OPENAI_KEY) as other:
        claude.script(Stream(then="error_event", after=0), overloaded())
        async with gateway_context(tmp_path, config(claude, other), env=ENV) as ctx:
            client = ctx.anthropic()
            async with client.messages.stream(
                model="mixed", max_tokens=100, messages=[{"role": "user", "content": "fall over"}]
            ) as stream:
                text = "".join([t async for t in stream.text_stream])
                final = await stream.get_final_message()
            assert text == "Hello from fake upstream! You said: fall over"
            assert final.stop_reason == "end_turn" and final.model == "mixed"
            message = await client.messages.create(
                model="mixed", max_tokens=100, messages=[{"role": "user", "content": "again"}]
            )
            assert message.content[0].text.endswith("You said: again")
            rows = ctx.rows()
            assert [r.provider for r in rows] == ["oa", "oa"] and all(r.attempts == 2 for r in rows)


async def test_anthropic_errors_keep_their_shape_on_the_messages_surface(tmp_path: Path, claude) -> None:
    claude.default_behaviour = overloaded()
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx, aiohttp.ClientSession() as http:
        body = {"model": "sonnet", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
        headers = {**ctx.headers(), "anthropic-version": "2023-06-01"}
        async with http.post(f"{ctx.base_url}/v1/messages", json=body, headers=headers) as resp:
            assert resp.status == 529
            payload = await resp.json()
        assert payload["type"] == "error" and payload["error"]["type"] == "overloaded_error"
