"""Routes to a native Gemini upstream (``preset: gemini``; the fake speaks Gemini's exact wire
format): the openai SDK's Chat Completions and the anthropic SDK's Messages, translated by the
Gemini adapter; thought signatures across tool turns, cached-content tokens, embeddings, the
schema clean-up, and Gemini's errors as the attempt loop's triggers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from proxy.config.schema import ProviderConfig
from proxy.providers.keytest import ACCEPTED, REJECTED, fetch_models
from proxy.providers.keytest import test_key as ask_key
from tests.fakes.gemini_upstream import (
    FakeGeminiUpstream,
    GeminiError,
    Stream,
    invalid_argument,
    permission_denied,
    resource_exhausted,
    unavailable,
)
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import GatewayContext, gateway_context

KEY = "AIzaSyUPSTREAMgemini-test-key-00000000000"
OPENAI_KEY = "sk-gemini-fallback-test-key-0123456789"
ENV = {"SB_GEM": KEY, "SB_OA": OPENAI_KEY}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, *, cached: int = 0, route: dict[str, Any] | None = None
) -> AsyncIterator[tuple[GatewayContext, FakeGeminiUpstream, FakeOpenAIUpstream]]:
    async with (
        FakeGeminiUpstream(api_key=KEY, cached_tokens=cached) as gem,
        FakeOpenAIUpstream(api_key=OPENAI_KEY) as oa,
    ):
        config = {
            "providers": [
                {"id": "gem", "preset": "gemini", "base_url": gem.base_url, "key": {"env": "SB_GEM"}},
                {"id": "oa", "preset": "openai", "base_url": oa.base_url, "key": {"env": "SB_OA"}},
            ],
            "routes": [
                {"name": "flash", "targets": [{"provider": "gem", "model": "gemini-2.5-flash"}], **(route or {})},
                {
                    "name": "flash-then-openai",
                    "targets": [
                        {"provider": "gem", "model": "gemini-2.5-flash"},
                        {"provider": "oa", "model": "gpt-4o-mini"},
                    ],
                    "retries": {"max_retries": 0},
                    "cooldown": {"failures": 100},
                },
                {
                    "name": "pro",
                    "targets": [{"provider": "gem", "model": "gemini-2.5-pro"}],
                    "retries": {"max_retries": 0},
                },
                {"name": "embed", "targets": [{"provider": "gem", "model": "text-embedding-004"}]},
            ],
        }
        async with gateway_context(tmp_path, config, env=ENV) as ctx:
            yield ctx, gem, oa


async def test_openai_sdk_text_and_stream_with_cached_tokens(tmp_path: Path) -> None:
    """compat: openai-sdk x gemini (text, stream; cached-content tokens in usage)."""
    async with running(tmp_path, cached=4) as (ctx, gem, _):
        client = ctx.openai()
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
        answer = await client.chat.completions.create(model="flash", messages=messages, max_tokens=100)
        assert "hello there" in (answer.choices[0].message.content or "")
        assert answer.choices[0].finish_reason == "stop"
        assert answer.usage and answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
        assert answer.usage.prompt_tokens_details and answer.usage.prompt_tokens_details.cached_tokens == 4
        sent = gem.requests[-1]
        assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
        assert sent.headers["x-goog-api-key"] == KEY and "key=" not in sent.path
        assert sent.json["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        assert sent.json["generationConfig"] == {"maxOutputTokens": 100}
        stream = await client.chat.completions.create(
            model="flash", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        pieces, usage = [], None
        async for chunk in stream:
            pieces += [c.delta.content or "" for c in chunk.choices]
            usage = chunk.usage or usage
        assert "".join(pieces) == answer.choices[0].message.content
        assert usage is not None and usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 4
        assert gem.requests[-1].path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        rows = ctx.rows()
        assert [(r.status, r.tokens_cached) for r in rows] == [("ok", 4), ("ok", 4)]


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_sdk_tools_carry_thought_signatures(tmp_path: Path, stream: bool) -> None:
    """compat: openai-sdk x gemini (tools round trip; the signature rides in the call id; schema cleaned)."""
    async with running(tmp_path) as (ctx, gem, _):
        client = ctx.openai()
        ask = [{"role": "user", "content": "weather in Paris, use tool"}]
        if stream:
            calls: dict[int, dict[str, str]] = {}
            async for chunk in await client.chat.completions.create(
                model="flash", messages=ask, tools=[TOOL], stream=True
            ):
                for c in chunk.choices:
                    for call in c.delta.tool_calls or []:
                        seen = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                        seen["id"] += call.id or ""
                        seen["name"] += (call.function and call.function.name) or ""
                        seen["arguments"] += (call.function and call.function.arguments) or ""
            call_id, name, arguments = calls[0]["id"], calls[0]["name"], calls[0]["arguments"]
        else:
            answer = await client.chat.completions.create(model="flash", messages=ask, tools=[TOOL])
            assert answer.choices[0].finish_reason == "tool_calls"
            tool_call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
            call_id, name, arguments = tool_call.id, tool_call.function.name, tool_call.function.arguments  # type: ignore[union-attr]
        assert name == "get_weather" and json.loads(arguments) == {"city": "weather in Paris, use tool"}
        declared = gem.requests[-1].json["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]
        assert "additionalProperties" not in declared and "$schema" not in declared  # the Gemini clean-up
        history = [
            *ask,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}],
            },
            {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 C"},
        ]
        done = await client.chat.completions.create(model="flash", messages=history, tools=[TOOL], tool_choice="none")
        assert done.choices[0].message.content
        contents = gem.requests[-1].json["contents"]
        model_turn = contents[1]["parts"][0]
        assert model_turn["thoughtSignature"] in gem.signatures  # carried back: the fake refuses a call without it
        assert contents[2] == {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "id": model_turn["functionCall"]["id"],
                        "name": "get_weather",
                        "response": {"output": "sunny, 21 C"},
                    }
                }
            ],
        }
        # sent without the id (so without its signature), Gemini refuses the turn: the client's own 400
        history[1]["tool_calls"][0]["id"] = history[2]["tool_call_id"] = "call_plain"
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="flash", messages=history, tools=[TOOL], tool_choice="none")
        assert "thought_signature" in caught.value.message


async def test_anthropic_sdk_text_stream_and_tools(tmp_path: Path) -> None:
    """compat: anthropic-sdk x gemini (text, stream, tools round trip)."""
    async with running(tmp_path) as (ctx, gem, _):
        client = ctx.anthropic()
        message = await client.messages.create(
            model="flash", max_tokens=200, messages=[{"role": "user", "content": "hello there"}]
        )
        assert message.stop_reason == "end_turn" and "hello there" in message.content[0].text  # type: ignore[union-attr]
        async with client.messages.stream(
            model="flash", max_tokens=200, messages=[{"role": "user", "content": "hello there"}]
        ) as s:
            text = "".join([t async for t in s.text_stream])
        assert text == message.content[0].text  # type: ignore[union-attr]
        tool = {"name": "get_weather", "description": "Weather", "input_schema": TOOL["function"]["parameters"]}
        ask = [{"role": "user", "content": "weather in Paris, use tool"}]
        called = await client.messages.create(model="flash", max_tokens=200, tools=[tool], messages=ask)  # type: ignore[arg-type,list-item]
        assert called.stop_reason == "tool_use"
        use = called.content[-1]
        assert use.type == "tool_use" and use.name == "get_weather"
        result = {"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}
        history = [*ask, {"role": "assistant", "content": [use.model_dump()]}, {"role": "user", "content": [result]}]
        done = await client.messages.create(
            model="flash",
            max_tokens=200,
            tools=[tool],
            tool_choice={"type": "none"},
            messages=history,  # type: ignore[arg-type,list-item]
        )
        assert done.stop_reason == "end_turn"
        assert gem.requests[-1].json["contents"][1]["parts"][0]["thoughtSignature"] in gem.signatures


async def test_thinking_and_embeddings(tmp_path: Path) -> None:
    """compat: openai-sdk x gemini (reasoning_effort -> thinkingConfig, thoughts back as reasoning; embeddings)."""
    async with running(tmp_path) as (ctx, gem, _):
        client = ctx.openai()
        answer = await client.chat.completions.create(
            model="flash", messages=[{"role": "user", "content": "think"}], reasoning_effort="low"
        )
        assert gem.requests[-1].json["generationConfig"]["thinkingConfig"] == {
            "thinkingBudget": 1024,
            "includeThoughts": True,
        }
        message = answer.choices[0].message.model_dump()
        assert message["reasoning_content"].startswith("**Thinking**")
        assert answer.usage and answer.usage.completion_tokens_details
        assert answer.usage.completion_tokens_details.reasoning_tokens == 12
        embedded = await client.embeddings.create(model="embed", input=["one", "two"], dimensions=64)
        assert [len(e.embedding) for e in embedded.data] == [64, 64] and [e.index for e in embedded.data] == [0, 1]
        assert gem.requests[-1].path == "/v1beta/models/text-embedding-004:batchEmbedContents"


async def test_errors_map_to_the_fallback_triggers(tmp_path: Path) -> None:
    """RESOURCE_EXHAUSTED is a 429 with RetryInfo's Retry-After; UNAVAILABLE, PERMISSION_DENIED and a
    bad key move on to the next target; any other INVALID_ARGUMENT is the client's own 400."""
    async with running(tmp_path, route={"retries": {"max_retries": 0}}) as (ctx, gem, oa):
        client = ctx.openai()
        ask = [{"role": "user", "content": "hi"}]
        gem.script(resource_exhausted(37))
        with pytest.raises(openai.RateLimitError) as limited:  # (its own model: the 429 cools that target down)
            await client.chat.completions.create(model="pro", messages=ask)
        assert limited.value.response.headers["retry-after"] == "37"
        for failure in (
            unavailable(),
            permission_denied(),
            GeminiError(400, "API key not valid. Please pass a valid API key."),
        ):
            gem.script(failure)
            answer = await client.chat.completions.create(model="flash-then-openai", messages=ask)
            assert "fake upstream" in (answer.choices[0].message.content or "")  # the OpenAI target answered
            assert gem.queued == 0
        gem.script(invalid_argument("* GenerateContentRequest.contents[0].parts: contents.parts must not be empty."))
        calls_before = len(oa.requests)
        with pytest.raises(openai.BadRequestError) as bad:
            await client.chat.completions.create(model="flash-then-openai", messages=ask)
        assert "must not be empty" in bad.value.message and len(oa.requests) == calls_before
        gem.script(
            invalid_argument("The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).")
        )
        answer = await client.chat.completions.create(
            model="flash-then-openai", messages=ask
        )  # context length: next target
        assert "fake upstream" in (answer.choices[0].message.content or "")
        gem.script(Stream(chunks=["one ", "two "], then="error_event"))
        seen = []
        with pytest.raises(openai.APIError):
            async for chunk in await client.chat.completions.create(model="flash", messages=ask, stream=True):
                seen += [c.delta.content or "" for c in chunk.choices]
        assert "".join(seen) == "one two "
        assert [r.status for r in ctx.rows() if r.stream] == ["cut"]
        assert all(KEY not in str(r) for r in ctx.rows())


def test_old_configs_keep_the_openai_compatible_endpoint() -> None:
    """``preset: gemini`` naming the OpenAI-compatible endpoint stays that endpoint (gemini-openai)."""
    key = {"env": "GEMINI_API_KEY"}
    old = ProviderConfig.model_validate(
        {
            "id": "g",
            "preset": "gemini",
            "base_url": "https://generativelanguage.googleapis.com/v1beta/openai/",
            "key": key,
        }
    )
    assert old.preset == "gemini-openai"
    native = ProviderConfig.model_validate({"id": "g", "preset": "gemini", "key": key})
    assert native.preset == "gemini" and native.effective_base_url == "https://generativelanguage.googleapis.com/v1beta"


async def test_models_come_from_geminis_own_list(tmp_path: Path) -> None:
    """The list of models comes from Gemini's own ``models`` list (``name: models/...``)."""
    async with running(tmp_path) as (ctx, _, _oa):
        models = await ctx.openai().models.list()
        ids = {m.id for m in models.data}
        assert {"gem/gemini-2.5-flash", "gem/text-embedding-004", "flash"} <= ids


async def test_responses_to_gemini(tmp_path: Path) -> None:
    """compat: openai-sdk responses x gemini (text, stream)."""
    async with running(tmp_path) as (ctx, gem, _):
        client = ctx.openai()
        response = await client.responses.create(model="flash", input="hello there", instructions="Be brief.")
        assert "hello there" in response.output_text
        assert gem.requests[-1].json["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        events = [e async for e in await client.responses.create(model="flash", input="hello there", stream=True)]
        assert events[-1].type == "response.completed"
        assert events[-1].response.output_text == response.output_text  # type: ignore[union-attr]


async def test_key_test_and_model_list_speak_geminis_api() -> None:
    """The key test and the model list ask Gemini's ``models`` with ``x-goog-api-key`` (never ``?key=``)."""
    async with FakeGeminiUpstream(api_key=KEY) as gem:
        provider = ProviderConfig(id="gem", preset="gemini", base_url=gem.base_url, key={"env": "SB_GEM"})
        listed = await fetch_models(provider, KEY)
        assert listed.ok and "gemini-2.5-flash" in listed.models, listed.message
        assert gem.requests[-1].headers["x-goog-api-key"] == KEY and gem.requests[-1].path == "/v1beta/models"
        assert (await ask_key(provider, KEY)).outcome == ACCEPTED
        wrong = "AIzaSyWRONG-key-000000000000000000000000"
        refused = await ask_key(provider, wrong)
        assert refused.outcome == REJECTED and wrong not in refused.message
        listed = await fetch_models(provider, wrong)
        assert not listed.ok and "refused the key (400)" in listed.message
