"""The Gemini surface with the real ``google-genai`` SDK (unmodified), on all three upstream kinds:
an OpenAI-compatible fake, an Anthropic fake (both translated) and a Gemini fake (native)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.anthropic_upstream import Reply as AnthropicReply
from tests.fakes.gemini_upstream import FakeGeminiUpstream, Stream, resource_exhausted, unavailable
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.openai_upstream import Reply as OpenAIReply
from tests.fakes.openai_upstream import Stream as OpenAIStream
from tests.helpers import ACCESS_KEY, GatewayContext, gateway_context

OPENAI_KEY = "sk-gemini-surface-openai-0000000000000"
ANTHROPIC_KEY = "sk-ant-gemini-surface-000000000000000"
GEMINI_KEY = "AIzaSyGEMINIsurface-test-key-0000000000"
ENV = {"SB_T_OA": OPENAI_KEY, "SB_T_ANT": ANTHROPIC_KEY, "SB_T_GEM": GEMINI_KEY}
KINDS = ("openai", "anthropic", "gemini")
MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
EMBED = {"openai": "text-embedding-3-small", "gemini": "text-embedding-004"}
ROUTE_OF_EMBED = {"openai": "texts-openai", "gemini": "texts-native"}
"""(A model name with "gemini" in it makes the SDK embed a list as one multimodal content.)"""

WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Weather for a city",
    parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class Fakes:
    def __init__(self) -> None:
        self.openai = FakeOpenAIUpstream(api_key=OPENAI_KEY)
        self.anthropic = FakeAnthropicUpstream(api_key=ANTHROPIC_KEY, bearer=False)
        self.gemini = FakeGeminiUpstream(api_key=GEMINI_KEY)

    def config(self) -> dict[str, Any]:
        return {
            "providers": [
                {"id": "oa", "preset": "openai", "base_url": self.openai.base_url, "key": {"env": "SB_T_OA"}},
                {
                    "id": "ant",
                    "preset": "anthropic",
                    "base_url": f"{self.anthropic.base_url}/v1",
                    "key": {"env": "SB_T_ANT"},
                },
                {"id": "gem", "preset": "gemini", "base_url": self.gemini.base_url, "key": {"env": "SB_T_GEM"}},
            ],
            "routes": [
                {"name": "via-openai", "targets": [{"provider": "oa", "model": MODEL["openai"]}]},
                {"name": "via-anthropic", "targets": [{"provider": "ant", "model": MODEL["anthropic"]}]},
                {"name": "via-gemini", "targets": [{"provider": "gem", "model": MODEL["gemini"]}]},
                {"name": "texts-openai", "targets": [{"provider": "oa", "model": EMBED["openai"]}]},
                {"name": "texts-native", "targets": [{"provider": "gem", "model": EMBED["gemini"]}]},
            ],
        }


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[GatewayContext, Fakes, genai.Client]]:
    fakes = Fakes()
    async with fakes.openai, fakes.anthropic, fakes.gemini:
        async with gateway_context(tmp_path, fakes.config(), env=ENV) as ctx:
            client = genai.Client(
                api_key=ACCESS_KEY,
                http_options=types.HttpOptions(base_url=ctx.base_url, api_version="v1beta", timeout=20_000),
            )
            try:
                yield ctx, fakes, client
            finally:
                await client.aio.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_text_and_stream(tmp_path: Path, kind: str) -> None:
    """compat: google-genai x openai-compatible / anthropic / gemini (text, stream)."""
    async with running(tmp_path) as (ctx, _, client):
        answer = await client.aio.models.generate_content(
            model=f"via-{kind}",
            contents="hello there",
            config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=200),
        )
        assert "hello there" in (answer.text or "")
        assert answer.candidates and answer.candidates[0].finish_reason == types.FinishReason.STOP
        assert answer.usage_metadata and answer.usage_metadata.prompt_token_count
        assert answer.usage_metadata.candidates_token_count
        pieces = [
            c.text or ""
            async for c in await client.aio.models.generate_content_stream(model=f"via-{kind}", contents="hello there")
        ]
        assert len([p for p in pieces if p]) > 1
        assert "".join(pieces) == answer.text
        rows = ctx.rows()
        assert sorted((r.surface, r.status, r.stream) for r in rows) == [
            ("gemini", "ok", False),
            ("gemini", "ok", True),
        ]
        assert all(r.tokens_in and r.tokens_out for r in rows)


@pytest.mark.parametrize("kind", KINDS)
async def test_tools_round_trip(tmp_path: Path, kind: str) -> None:
    """compat: google-genai x openai-compatible / anthropic / gemini (tools round trip, thought signatures)."""
    async with running(tmp_path) as (_, fakes, client):
        tools = [types.Tool(function_declarations=[WEATHER])]
        config = types.GenerateContentConfig(
            tools=tools,
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
        )
        ask = types.Content(role="user", parts=[types.Part(text="weather in Paris, use tool")])
        answer = await client.aio.models.generate_content(model=f"via-{kind}", contents=[ask], config=config)
        calls = answer.function_calls or []
        assert len(calls) == 1 and calls[0].name == "get_weather" and isinstance(calls[0].args, dict)
        assert answer.candidates and answer.candidates[0].content
        reply = types.Part.from_function_response(name="get_weather", response={"output": "sunny, 21 C"})
        if calls[0].id:
            reply.function_response.id = calls[0].id  # type: ignore[union-attr]
        history = [ask, answer.candidates[0].content, types.Content(role="user", parts=[reply])]
        no_more = types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="NONE"))
        done = await client.aio.models.generate_content(
            model=f"via-{kind}", contents=history, config=types.GenerateContentConfig(tools=tools, tool_config=no_more)
        )
        assert done.text
        sent = {"openai": fakes.openai, "anthropic": fakes.anthropic, "gemini": fakes.gemini}[kind].requests[-1].json
        assert "sunny, 21 C" in str(sent)
        # streamed: the call arrives whole, in Gemini's shape
        chunks = [
            c
            async for c in await client.aio.models.generate_content_stream(
                model=f"via-{kind}", contents=[ask], config=config
            )
        ]
        streamed = [call for c in chunks for call in c.function_calls or []]
        assert [c.name for c in streamed] == ["get_weather"] and streamed[0].args == calls[0].args


class City(BaseModel):
    city: str
    population: int


@pytest.mark.parametrize("kind", KINDS)
async def test_json_schema(tmp_path: Path, kind: str) -> None:
    """compat: google-genai x openai-compatible / anthropic / gemini (JSON schema)."""
    async with running(tmp_path) as (_, fakes, client):
        # the chat fakes answer what they are told (JSON here); what the gateway asked of them is checked
        fakes.openai.script(OpenAIReply(content='{"city": "Paris", "population": 2100000}'))
        fakes.anthropic.script(AnthropicReply(content='{"city": "Paris", "population": 2100000}'))
        answer = await client.aio.models.generate_content(
            model=f"via-{kind}",
            contents="a city, as JSON",
            config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=City),
        )
        assert isinstance(answer.parsed, City), answer.text
        if kind == "openai":
            fmt = fakes.openai.requests[-1].json["response_format"]
            assert fmt["type"] == "json_schema"
            assert fmt["json_schema"]["schema"]["properties"]["population"]["type"] == "integer"
        if kind == "gemini":
            config = fakes.gemini.requests[-1].json["generationConfig"]
            assert config["responseMimeType"] == "application/json"


@pytest.mark.parametrize("kind", KINDS)
async def test_count_tokens(tmp_path: Path, kind: str) -> None:
    """compat: google-genai x openai-compatible / anthropic / gemini (count tokens)."""
    async with running(tmp_path) as (_, fakes, client):
        counted = await client.aio.models.count_tokens(model=f"via-{kind}", contents="count these words please")
        assert counted.total_tokens and counted.total_tokens > 0
        if kind == "gemini":
            assert fakes.gemini.requests[-1].path.endswith(":countTokens")


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_embeddings(tmp_path: Path, kind: str) -> None:
    """compat: google-genai x openai-compatible / gemini (embeddings; Anthropic has none)."""
    async with running(tmp_path) as (ctx, _, client):
        result = await client.aio.models.embed_content(model=ROUTE_OF_EMBED[kind], contents=["one", "two"])
        assert result.embeddings and len(result.embeddings) == 2
        assert all(e.values and len(e.values) > 100 for e in result.embeddings)
        assert result.embeddings[0].values != result.embeddings[1].values
        async with aiohttp.ClientSession() as http:
            url = f"{ctx.base_url}/v1beta/models/{ROUTE_OF_EMBED[kind]}:embedContent"
            body = {"content": {"parts": [{"text": "one"}]}}
            async with http.post(url, json=body, headers={"x-goog-api-key": ACCESS_KEY}) as resp:
                assert resp.status == 200
                single = await resp.json()
        assert single["embedding"]["values"] == result.embeddings[0].values


async def test_errors_in_googles_shape(tmp_path: Path) -> None:
    """compat: google-genai x gemini (errors: 429 RetryInfo, no route, bad key, bad request)."""
    async with running(tmp_path) as (ctx, fakes, client):
        fakes.gemini.script(*[resource_exhausted(7)] * 3)
        with pytest.raises(errors.ClientError) as caught:
            await client.aio.models.generate_content(model="via-gemini", contents="hi")
        assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
        with pytest.raises(errors.ClientError) as caught:
            await client.aio.models.generate_content(model="no-such-route", contents="hi")
        assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
        bad = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=ctx.base_url))
        with pytest.raises(errors.ClientError) as caught:
            await bad.aio.models.generate_content(model="via-gemini", contents="hi")
        assert caught.value.code == 401 and caught.value.status == "UNAUTHENTICATED"
        await bad.aio.aclose()
        async with aiohttp.ClientSession() as http:
            url = f"{ctx.base_url}/v1beta/models/via-gemini:generateContent?key={ACCESS_KEY}"
            async with http.post(url, json={"contents": "nope"}) as resp:
                assert resp.status == 400
                body = await resp.json()
                assert body["error"]["status"] == "INVALID_ARGUMENT" and "contents" in body["error"]["message"]
            async with http.post(url, json={"contents": []}) as resp:
                assert resp.status == 400 and "contents is not specified" in (await resp.json())["error"]["message"]
            fakes.gemini.script(*[resource_exhausted(7)] * 3)
            async with http.post(url, json={"contents": [{"parts": [{"text": "hi"}]}]}) as resp:
                assert resp.status == 429 and resp.headers["Retry-After"] == "7"
        rows = ctx.rows()
        assert all(ACCESS_KEY not in str(r) for r in rows)


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_a_stream_cut_after_content_ends_in_an_error(tmp_path: Path, kind: str) -> None:
    """Streams never lie: content, then an in-band error the SDK raises; the log says cut."""
    async with running(tmp_path) as (ctx, fakes, client):
        if kind == "gemini":
            fakes.gemini.script(Stream(chunks=["one ", "two "], then="eof"))
        else:
            fakes.openai.script(OpenAIStream(chunks=["one ", "two "], then="eof"))
        seen: list[str] = []
        with pytest.raises(errors.APIError):
            async for chunk in await client.aio.models.generate_content_stream(model=f"via-{kind}", contents="hi"):
                seen.append(chunk.text or "")
        assert "".join(seen).startswith("one")
        assert [r.status for r in ctx.rows()] == ["cut"]


async def test_the_demo_provider(tmp_path: Path) -> None:
    """compat: google-genai x demo (text, stream, models list)."""
    async with gateway_context(tmp_path) as ctx:
        client = genai.Client(
            api_key=ACCESS_KEY, http_options=types.HttpOptions(base_url=ctx.base_url, api_version="v1beta")
        )
        try:
            answer = await client.aio.models.generate_content(model="demo", contents="hello there")
            assert "hello there" in (answer.text or "")
            pieces = [
                c.text or ""
                async for c in await client.aio.models.generate_content_stream(model="demo", contents="hello there")
            ]
            assert "".join(pieces) == answer.text
            names = [m.name async for m in await client.aio.models.list()]
            assert "models/demo" in names
            model = await client.aio.models.get(model="demo")
            assert model.name == "models/demo"
        finally:
            await client.aio.aclose()


async def test_any_route_serves_it_with_fallback_across_kinds(tmp_path: Path) -> None:
    """A Gemini request to a route whose native Gemini target is UNAVAILABLE falls back to an
    OpenAI-compatible target, translated; unknown /v1beta paths answer in Google's shape."""
    fakes = Fakes()
    async with fakes.openai, fakes.anthropic, fakes.gemini:
        config = fakes.config()
        config["routes"].append(
            {
                "name": "mixed",
                "targets": [
                    {"provider": "gem", "model": MODEL["gemini"]},
                    {"provider": "oa", "model": MODEL["openai"]},
                ],
                "retries": {"max_retries": 0},
            }
        )
        async with gateway_context(tmp_path, config, env=ENV) as ctx:
            client = genai.Client(
                api_key=ACCESS_KEY, http_options=types.HttpOptions(base_url=ctx.base_url, api_version="v1beta")
            )
            try:
                fakes.gemini.script(unavailable())
                answer = await client.aio.models.generate_content(model="mixed", contents="hello there")
                assert (answer.text or "").startswith("Hello from fake upstream!") and fakes.gemini.queued == 0
                fakes.gemini.script(unavailable())
                pieces = [
                    c.text or ""
                    async for c in await client.aio.models.generate_content_stream(
                        model="mixed", contents="hello there"
                    )
                ]
                assert "".join(pieces) == answer.text and fakes.gemini.queued == 0
            finally:
                await client.aio.aclose()
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{ctx.base_url}/v1beta/nothing", headers={"x-goog-api-key": ACCESS_KEY}) as resp:
                    assert resp.status == 404
                    assert (await resp.json())["error"]["status"] == "NOT_FOUND"
                async with http.post(
                    f"{ctx.base_url}/v1beta/models/mixed:generateContent", json={"contents": []}
                ) as resp:
                    assert resp.status == 401
                    body = await resp.json()
                    assert body["error"]["status"] == "UNAUTHENTICATED"
            rows = ctx.rows()
            mixed = [r for r in rows if r.requested_model == "mixed"]
            assert [(r.status, r.provider, r.attempts) for r in mixed] == [("ok", "oa", 2)] * 2
