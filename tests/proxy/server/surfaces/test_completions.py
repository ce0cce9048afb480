"""``POST /v1/completions`` (legacy text completions, FIM ``suffix``), every route without its
``/v1`` prefix, and the cost of a request told back to the client (``x-switchboard-cost``,
OpenRouter's ``usage.cost``): real SDKs and sockets against the OpenAI fake."""

from __future__ import annotations

import aiohttp
import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import ACCESS_KEY, gateway_context

KEY = "sk-fake-upstream"


def config(fake: FakeOpenAIUpstream, *, first: str | None = None, preset: str = "custom") -> dict:
    providers = [{"id": "fake", "preset": preset, "base_url": fake.base_url, "key": {"env": "FAKE_KEY"}}]
    targets = [{"provider": "fake", "model": "gpt-4o-mini"}]
    if first == "demo":
        providers.append({"id": "demo", "preset": "demo"})
        targets.insert(0, {"provider": "demo", "model": "echo"})
    if first == "groq":
        providers.append({"id": "groq", "preset": "groq", "base_url": fake.base_url, "key": {"env": "FAKE_KEY"}})
        targets.insert(0, {"provider": "groq", "model": "gpt-4o-mini"})
    return {"providers": providers, "routes": [{"name": "code", "targets": targets}]}


@pytest.fixture
async def fake():
    async with FakeOpenAIUpstream(api_key=KEY) as upstream:
        yield upstream


async def test_a_completion_with_a_suffix_passes_through(fake, tmp_path) -> None:
    async with gateway_context(tmp_path, config(fake), env={"FAKE_KEY": KEY}) as gw:
        answer = await gw.openai().completions.create(model="code", prompt="def add(a, b):", suffix="return c")
        assert answer.object == "text_completion"
        assert answer.choices[0].text == "completion of 'def add(a, b):' before 'return c'"
        sent = fake.requests[-1]
        assert sent.path == "/v1/completions" and sent.json["suffix"] == "return c"
        assert sent.json["model"] == "gpt-4o-mini"
        (row,) = gw.rows()
        assert row.surface == "completions" and row.status == "ok" and row.tokens_out == answer.usage.completion_tokens


async def test_a_streamed_completion_is_relayed_and_its_usage_logged(fake, tmp_path) -> None:
    async with gateway_context(tmp_path, config(fake), env={"FAKE_KEY": KEY}) as gw:
        stream = await gw.openai().completions.create(model="code", prompt="hello there", stream=True)
        chunks = [chunk async for chunk in stream]
        assert "".join(c.choices[0].text for c in chunks if c.choices) == "completion of 'hello there'"
        assert all(c.usage is None for c in chunks)  # usage asked on the client's behalf, not shown
        assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
        (row,) = gw.rows()
        assert row.stream and row.tokens_in == 2


@pytest.mark.parametrize(
    ("first", "refusal"),
    [("demo", "the demo provider has no completions endpoint"), ("groq", "Groq has no /completions endpoint")],
)
async def test_a_target_without_the_endpoint_moves_on_then_answers_400(fake, tmp_path, first, refusal) -> None:
    cfg = config(fake, first=first)
    async with gateway_context(tmp_path, cfg, env={"FAKE_KEY": KEY}) as gw:
        answer = await gw.openai().completions.create(model="code", prompt="x")
        assert answer.choices[0].text == "completion of 'x'"
        assert len(fake.requests) == 1  # the refusing target sent nothing upstream
        only = {**cfg, "routes": [{"name": "code", "targets": cfg["routes"][0]["targets"][:1]}]}
    async with gateway_context(tmp_path / "only", only, env={"FAKE_KEY": KEY}) as gw:
        with pytest.raises(openai.BadRequestError) as caught:
            await gw.openai().completions.create(model="code", prompt="x")
        assert refusal in caught.value.message
        assert caught.value.code == "unsupported_by_provider"


async def test_bad_completion_requests_get_precise_400s(fake, tmp_path) -> None:
    async with gateway_context(tmp_path, config(fake), env={"FAKE_KEY": KEY}) as gw:
        async with aiohttp.ClientSession() as http:
            for body, param in (
                ({"model": "code"}, "prompt"),
                ({"model": "code", "prompt": [1, "a"]}, "prompt"),
                ({"model": "code", "prompt": "x", "suffix": 3}, "suffix"),
                ({"model": "code", "prompt": "x", "messages": []}, "messages"),
            ):
                async with http.post(f"{gw.base_url}/v1/completions", json=body, headers=gw.headers()) as resp:
                    assert resp.status == 400
                    assert (await resp.json())["error"]["param"] == param
        assert fake.requests == []


async def test_every_route_answers_without_the_v1_prefix(fake, tmp_path) -> None:
    async with gateway_context(tmp_path, config(fake), env={"FAKE_KEY": KEY}) as gw:
        client = openai.AsyncOpenAI(base_url=gw.base_url, api_key=ACCESS_KEY, max_retries=0)  # a tool that strips /v1
        gw.clients.append(client)
        chat = await client.chat.completions.create(model="code", messages=[{"role": "user", "content": "hi"}])
        assert chat.choices[0].message.content == "Hello from fake upstream! You said: hi"
        assert (await client.completions.create(model="code", prompt="p")).choices[0].text == "completion of 'p'"
        assert "code" in [m.id async for m in client.models.list()]
        answer = await gw.anthropic().messages.create(  # Anthropic's SDK already calls /v1/messages
            model="code", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.content[0].text.startswith("Hello from fake upstream")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{gw.base_url}/messages", json={}, headers=gw.headers()) as resp:
                assert resp.status == 400 and (await resp.json())["type"] == "error"  # Anthropic's error shape
        assert [r.surface for r in gw.rows()][:3] == ["chat", "completions", "models"]


async def test_the_cost_goes_back_in_a_header_and_on_request_in_usage(fake, tmp_path) -> None:
    async with gateway_context(tmp_path, config(fake, preset="openai"), env={"FAKE_KEY": KEY}) as gw:
        body = {"model": "code", "messages": [{"role": "user", "content": "what does it cost"}]}
        async with aiohttp.ClientSession() as http:
            url = f"{gw.base_url}/v1/chat/completions"
            async with http.post(url, json=body, headers=gw.headers()) as resp:
                plain = await resp.json()
                cost = float(resp.headers["x-switchboard-cost"])
            async with http.post(url, json={**body, "usage": {"include": True}}, headers=gw.headers()) as resp:
                asked = await resp.json()
        assert cost > 0 and "cost" not in plain["usage"]
        assert asked["usage"]["cost"] == pytest.approx(cost) and asked["usage"]["prompt_tokens"] > 0
        assert "usage" not in fake.requests[-1].json  # OpenRouter's field never goes upstream
        rows = gw.rows()
        assert rows[0].cost == pytest.approx(cost)


async def test_an_unknown_price_sends_no_cost_header(fake, tmp_path) -> None:
    async with gateway_context(tmp_path, config(fake), env={"FAKE_KEY": KEY}) as gw:  # custom: price unknown
        async with aiohttp.ClientSession() as http:
            body = {"model": "code", "messages": [{"role": "user", "content": "hi"}], "usage": {"include": True}}
            async with http.post(f"{gw.base_url}/v1/chat/completions", json=body, headers=gw.headers()) as resp:
                assert resp.status == 200 and "x-switchboard-cost" not in resp.headers
                assert "cost" not in (await resp.json())["usage"]


async def test_a_stream_carries_the_cost_in_its_usage_chunk_when_asked(fake, tmp_path) -> None:
    """Headers are gone before a stream's usage is known: the cost rides in the usage chunk."""
    async with gateway_context(tmp_path, config(fake, preset="openai"), env={"FAKE_KEY": KEY}) as gw:
        client = gw.openai()
        body = {"model": "code", "messages": [{"role": "user", "content": "what does it cost"}], "stream": True}
        stream = await client.chat.completions.create(**body, extra_body={"usage": {"include": True}})
        usages = [chunk.usage async for chunk in stream if chunk.usage is not None]
        assert len(usages) == 1 and usages[0].prompt_tokens > 0
        cost = (usages[0].model_extra or {})["cost"]
        assert "usage" not in fake.requests[-1].json  # never upstream
        assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
        plain = await client.chat.completions.create(**body)  # not asked: no usage chunk, no cost
        assert [c.usage async for c in plain if c.usage is not None] == []
        rows = gw.rows()
        assert cost > 0 and cost == pytest.approx(rows[1].cost)
