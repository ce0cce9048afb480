"""The cache hook end to end: hits skip the upstream, replay as a stream when the client
streams, cost nothing (the log shows what they saved), and can be bypassed."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context

KEY = "sk-cache-test-0000000000000000"
MESSAGES = [{"role": "user", "content": "cache me"}]


def config(base_url: str, **cache) -> dict:
    return {
        # preset openai (pointed at the local fake) so genai-prices knows what gpt-4o-mini costs
        "providers": [{"id": "oa", "preset": "openai", "base_url": base_url, "key": {"env": "SB_CACHE_KEY"}}],
        "routes": [
            {
                "name": "cached",
                "targets": [{"provider": "oa", "model": "gpt-4o-mini"}],
                "cache": {"enabled": True, **cache},
            },
            {"name": "plain", "targets": [{"provider": "oa", "model": "gpt-4o-mini"}]},
        ],
    }


@pytest.fixture
async def upstream():
    async with FakeOpenAIUpstream(api_key=KEY) as fake:
        yield fake


async def test_hit_skips_upstream_costs_nothing_and_says_what_it_saved(tmp_path, upstream):
    async with gateway_context(tmp_path, config(upstream.base_url), env={"SB_CACHE_KEY": KEY}) as ctx:
        client = ctx.openai()
        first = await client.chat.completions.with_raw_response.create(model="cached", messages=MESSAGES)
        assert first.headers["x-switchboard-cache"] == "miss"
        await asyncio.sleep(0.2)  # the store happens in the background
        second = await client.chat.completions.with_raw_response.create(model="cached", messages=MESSAGES, user="x")
        assert second.headers["x-switchboard-cache"] == "hit"
        assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
        assert len(upstream.requests) == 1
        miss, hit = ctx.rows()[-2:]
        assert (miss.cache, hit.cache, hit.attempts) == ("miss", "hit", 0)
        assert miss.cost and miss.cost > 0
        assert hit.cost == 0.0 and hit.cost_saved == pytest.approx(miss.cost)
        plain = await client.chat.completions.with_raw_response.create(model="plain", messages=MESSAGES)
        assert plain.headers["x-switchboard-cache"] == "off", "routes without a cache say so"
        await client.close()


async def test_streams_are_cached_and_replayed(tmp_path, upstream):
    async with gateway_context(tmp_path, config(upstream.base_url), env={"SB_CACHE_KEY": KEY}) as ctx:
        client = ctx.openai()
        chunks = [c async for c in await client.chat.completions.create(model="cached", messages=MESSAGES, stream=True)]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        await asyncio.sleep(0.2)
        replay = [
            c
            async for c in await client.chat.completions.create(
                model="cached", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        ]
        assert "".join(c.choices[0].delta.content or "" for c in replay if c.choices) == text
        assert replay[-1].choices == [] and replay[-1].usage.total_tokens > 0
        plain = await client.chat.completions.create(model="cached", messages=MESSAGES)
        assert plain.choices[0].message.content == text, "a streamed answer serves a plain request too"
        assert len(upstream.requests) == 1
        assert [r.cache for r in ctx.rows()[-3:]] == ["miss", "hit", "hit"]
        await client.close()


@pytest.mark.parametrize("headers", [{"Cache-Control": "no-cache"}, {"x-switchboard-cache": "bypass"}])
async def test_bypass(tmp_path, upstream, headers):
    async with gateway_context(tmp_path, config(upstream.base_url), env={"SB_CACHE_KEY": KEY}) as ctx:
        async with aiohttp.ClientSession() as s:
            body = {"model": "cached", "messages": MESSAGES}
            for _ in range(2):
                async with s.post(
                    f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers(**headers)
                ) as resp:
                    assert resp.status == 200 and resp.headers["x-switchboard-cache"] == "bypass"
                await asyncio.sleep(0.1)
        assert len(upstream.requests) == 2


async def test_ttl_expiry(tmp_path, upstream):
    async with gateway_context(tmp_path, config(upstream.base_url, ttl=0.3), env={"SB_CACHE_KEY": KEY}) as ctx:
        client = ctx.openai()
        await client.chat.completions.create(model="cached", messages=MESSAGES)
        await asyncio.sleep(0.5)
        raw = await client.chat.completions.with_raw_response.create(model="cached", messages=MESSAGES)
        assert raw.headers["x-switchboard-cache"] == "miss" and len(upstream.requests) == 2
        await client.close()
