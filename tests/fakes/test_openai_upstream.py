"""The fake upstream itself, driven directly by the official openai SDK: its wire format parses."""

from __future__ import annotations

import json

import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAIUpstream, rate_limited

KEY = "sk-fake-selftest-0000000000"


@pytest.fixture
async def client():
    async with FakeOpenAIUpstream(api_key=KEY) as fake:
        sdk = openai.AsyncOpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0)
        yield fake, sdk
        await sdk.close()


async def test_chat_stream_tools_embeddings_models(client):
    fake, sdk = client
    msgs = [{"role": "user", "content": "ping"}]
    full = await sdk.chat.completions.create(model="gpt-4o-mini", messages=msgs)
    assert full.choices[0].message.content == "Hello from fake upstream! You said: ping"
    chunks = [c async for c in await sdk.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True)]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == full.choices[0].message.content
    assert all(c.usage is None for c in chunks)
    with_usage = [
        c
        async for c in await sdk.chat.completions.create(
            model="gpt-4o-mini", messages=msgs, stream=True, stream_options={"include_usage": True}
        )
    ]
    assert with_usage[-1].choices == [] and with_usage[-1].usage.total_tokens > 0
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    args = ""
    async for c in await sdk.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=tools, stream=True):
        for tc in c.choices[0].delta.tool_calls or []:
            args += tc.function.arguments or ""
    assert json.loads(args) == {"q": "ping"}
    emb = await sdk.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=4)
    assert [len(d.embedding) for d in emb.data] == [4, 4]
    assert [m.id async for m in sdk.models.list()] == fake.models


async def test_errors_in_openai_shape(client):
    fake, sdk = client
    bad = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-wrong-key-123456", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        await bad.models.list()
    assert "sk-wrong-key-123456" not in str(err.value.body)
    await bad.close()
    fake.script(rate_limited(2))
    with pytest.raises(openai.RateLimitError) as err:
        await sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert err.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.NotFoundError):
        await sdk.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
