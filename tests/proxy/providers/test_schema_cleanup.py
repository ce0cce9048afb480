"""Gemini's OpenAI-compatible endpoint gets tool schemas without the keywords it rejects."""

from __future__ import annotations

from proxy.providers.schema_cleanup import clean_request, clean_schema
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context

PYDANTIC_STYLE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "city": {"type": "string", "description": "City name", "default": "Paris"},
        "days": {"type": "integer", "enum": [1, 3, 7], "exclusiveMinimum": 0},
        "filters": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z]+$"},
            "additionalProperties": {"type": "string"},
        },
        "tags": {"type": "array", "items": {"type": "string", "const": "x"}},
        "mode": {"anyOf": [{"type": "string", "examples": ["a"]}, {"type": "null"}]},
    },
    "required": ["city"],
}


def test_clean_schema_keeps_meaning_and_drops_rejected_keywords():
    cleaned = clean_schema(PYDANTIC_STYLE)
    assert cleaned == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer", "enum": ["1", "3", "7"]},
            "filters": {"type": "object"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "mode": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["city"],
    }
    assert "additionalProperties" in PYDANTIC_STYLE, "the original is not modified"


def test_clean_request_touches_only_schemas():
    body = {
        "model": "m",
        "messages": [],
        "tools": [{"type": "function", "function": {"name": "f", "strict": True, "parameters": PYDANTIC_STYLE}}],
    }
    out = clean_request(body)
    assert out["tools"][0]["function"]["parameters"] == clean_schema(PYDANTIC_STYLE)
    assert "strict" not in out["tools"][0]["function"] and body["tools"][0]["function"]["strict"] is True
    assert clean_request({"model": "m", "messages": []}) == {"model": "m", "messages": []}


async def test_gemini_preset_sends_clean_schemas(tmp_path):
    key = "AIzaSyTEST-gemini-canary-000000000000000"
    async with FakeOpenAIUpstream(api_key=key, models=["gemini-2.0-flash"]) as fake:
        config = {
            "providers": [
                {"id": "gem", "preset": "gemini-openai", "base_url": fake.base_url, "key": {"env": "SB_GEMINI_KEY"}},
                {"id": "oa", "preset": "custom", "base_url": fake.base_url, "key": {"env": "SB_GEMINI_KEY"}},
            ],
            "routes": [],
        }
        tools = [{"type": "function", "function": {"name": "weather", "parameters": PYDANTIC_STYLE}}]
        async with gateway_context(tmp_path, config, env={"SB_GEMINI_KEY": key}) as ctx:
            client = ctx.openai()
            messages = [{"role": "user", "content": "weather in Paris"}]
            await client.chat.completions.create(model="gem/gemini-2.0-flash", messages=messages, tools=tools)
            assert fake.requests[-1].json["tools"][0]["function"]["parameters"] == clean_schema(PYDANTIC_STYLE)
            assert "key=" not in fake.requests[-1].path, "the key goes in a header, never the URL"
            await client.chat.completions.create(model="oa/gemini-2.0-flash", messages=messages, tools=tools)
            assert fake.requests[-1].json["tools"][0]["function"]["parameters"] == PYDANTIC_STYLE, "others untouched"
            await client.close()
