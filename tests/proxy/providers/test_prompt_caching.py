"""Prompt caching across translation (issue 18, item 4): Chat Completions and Responses requests to an
Anthropic target get breakpoints (on by default per route, with a switch), the fake reports the cache
writes and reads Anthropic would, and the log prices them at genai-prices' cache rates."""

from __future__ import annotations

from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from proxy.api import dashboard
from proxy.config.schema import GatewayConfig
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.helpers import gateway_context

KEY = "sk-ant-api03-caching-test-key-0123456789"
ENV = {"SB_ANTHROPIC_KEY": KEY}
SYSTEM = "You are a careful assistant. " * 600  # ~2,400 words: above Sonnet 4.5's 1,024-token minimum


def config(claude: FakeAnthropicUpstream) -> dict:
    return {
        "providers": [
            {
                "id": "claude",
                "preset": "anthropic",
                "base_url": f"{claude.base_url}/v1",
                "key": {"env": "SB_ANTHROPIC_KEY"},
            }
        ],
        "routes": [
            {"name": "cached", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]},
            {
                "name": "uncached",
                "prompt_caching": False,
                "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}],
            },
        ],
    }


@pytest.fixture
async def claude():
    async with FakeAnthropicUpstream(api_key=KEY, bearer=False) as fake:
        yield fake


def _price(tokens_in: int, tokens_out: int, cached: int, written: int) -> float:
    usage = Usage(
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cache_read_tokens=cached or None,
        cache_write_tokens=written or None,
    )
    return float(calc_price(usage, model_ref="claude-sonnet-4-5", provider_id="anthropic").total_price)


async def test_chat_requests_are_cached_and_priced_at_cache_rates(
    tmp_path: Path, claude: FakeAnthropicUpstream
) -> None:
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        client = ctx.openai()
        turn = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "first question"}]
        first = await client.chat.completions.create(model="cached", messages=turn)
        sent = claude.requests[-1].json
        assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert sent["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        turn += [
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "more"},
        ]
        second = await client.chat.completions.create(model="cached", messages=turn, stream=True)
        async for _chunk in second:
            pass
        rows = sorted(ctx.rows(), key=lambda r: r.started_at)
        written, read = rows[0], rows[1]
        assert written.tokens_cache_write and written.tokens_cache_write > 2000 and not written.tokens_cached
        assert read.tokens_cached and read.tokens_cached >= written.tokens_cache_write
        for row in rows:
            assert row.tokens_in is not None and row.tokens_out is not None
            expected = _price(row.tokens_in, row.tokens_out, row.tokens_cached or 0, row.tokens_cache_write or 0)
            assert row.cost == pytest.approx(expected)
        # the read was cheaper than the same tokens uncached, the write dearer
        assert read.cost is not None and read.cost < _price(read.tokens_in or 0, read.tokens_out or 0, 0, 0)
        assert written.cost is not None and written.cost > _price(written.tokens_in or 0, written.tokens_out or 0, 0, 0)
        # the dashboard's read model: what the prompt cache saved on this route (reads less writes)
        data = dashboard.load(ctx.gateway.home.log_db, GatewayConfig.model_validate(config(claude)), "hour")
        saved = sum(
            _price(r.tokens_in or 0, 0, 0, 0)
            - _price(r.tokens_in or 0, 0, r.tokens_cached or 0, r.tokens_cache_write or 0)
            for r in rows
        )
        assert saved > 0
        assert data.prompt_cache_saved == {"cached": pytest.approx(saved, rel=1e-3)}
        assert data.prompt_cache_saved_by_provider == {"claude": pytest.approx(saved, rel=1e-3)}


async def test_responses_requests_are_cached_too(tmp_path: Path, claude: FakeAnthropicUpstream) -> None:
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        client = ctx.openai()
        for _ in range(2):
            await client.responses.create(model="cached", instructions=SYSTEM, input="hello")
        assert "cache_control" in claude.requests[-1].json["system"][0]
        rows = sorted(ctx.rows(), key=lambda r: r.started_at)
        assert rows[0].tokens_cache_write and rows[1].tokens_cached


async def test_the_route_switch_turns_it_off(tmp_path: Path, claude: FakeAnthropicUpstream) -> None:
    async with gateway_context(tmp_path, config(claude), env=ENV) as ctx:
        client = ctx.openai()
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "hi"}]
        await client.chat.completions.create(model="uncached", messages=messages)
        assert "cache_control" not in claude.requests[-1].json["system"][0]
        assert not ctx.rows()[-1].tokens_cache_write
