"""Fallback chains end to end: two fake upstreams behind one route; the sequence of attempts is
asserted from the log and the response headers, streamed and not."""

from __future__ import annotations

import aiohttp
import openai
import orjson
import pytest

from proxy.domain.events import GatewayEvents, KeyFailing, TargetHealthChanged
from tests.fakes.openai_upstream import FakeOpenAIUpstream, OpenAIError, Stream
from tests.helpers import gateway_context

KEY = "sk-chain-test-0000000000000000"
MESSAGES = [{"role": "user", "content": "fall back please"}]


def chain_config(first: str, second: str, **route) -> dict:
    provider = {
        "preset": "custom",
        "key": {"env": "SB_CHAIN_KEY"},
        "timeouts": {"connect": 2, "first_token": 2, "idle": 1, "total": 5},
    }
    return {
        "providers": [{"id": "one", "base_url": first, **provider}, {"id": "two", "base_url": second, **provider}],
        "routes": [
            {
                "name": "chain",
                "targets": [{"provider": "one", "model": "gpt-4o-mini"}, {"provider": "two", "model": "gpt-4o-mini"}],
                "retries": {"backoff_base": 0.01, "backoff_max": 0.02},
                **route,
            }
        ],
    }


@pytest.fixture
async def pair():
    async with FakeOpenAIUpstream(api_key=KEY) as one, FakeOpenAIUpstream(api_key=KEY) as two:
        yield one, two


def attempts(row) -> list[tuple[str, int]]:
    return [(a["target"].split("/")[0], a["status"]) for a in orjson.loads(row.attempt_log)]


async def test_503_retried_then_next_target(tmp_path, pair):
    one, two = pair
    one.script(OpenAIError(503, "overloaded", type="server_error"), OpenAIError(503, "overloaded", type="server_error"))
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        client = ctx.openai()
        raw = await client.chat.completions.with_raw_response.create(model="chain", messages=MESSAGES)
        assert raw.headers["x-switchboard-provider"] == "two" and raw.headers["x-switchboard-attempts"] == "3"
        row = ctx.rows()[-1]
        assert attempts(row) == [("one", 503), ("one", 503), ("two", 200)] and row.status == "ok"
        await client.close()


async def test_client_mistake_is_returned_not_retried(tmp_path, pair):
    one, two = pair
    one.script(OpenAIError(400, "Invalid value for 'temperature'", param="temperature"))
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        client = ctx.openai()
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="chain", messages=MESSAGES)
        assert len(two.requests) == 0 and attempts(ctx.rows()[-1]) == [("one", 400)]
        await client.close()


async def test_auth_error_moves_on_and_reports_the_key(tmp_path, pair):
    one, two = pair
    one.script(OpenAIError(401, "Incorrect API key provided", code="invalid_api_key"))
    events = GatewayEvents()
    seen = []
    events.connect(lambda e: seen.append(e) if isinstance(e, KeyFailing) else None)
    async with gateway_context(
        tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}, events=events
    ) as ctx:
        client = ctx.openai()
        assert (await client.chat.completions.create(model="chain", messages=MESSAGES)).choices
        assert attempts(ctx.rows()[-1]) == [("one", 401), ("two", 200)]
        assert [e.provider for e in seen] == ["one"]
        await client.close()


async def test_context_length_moves_to_a_larger_window(tmp_path, pair):
    one, two = pair
    one.script(OpenAIError(400, "This model's maximum context length is 8192 tokens.", code="context_length_exceeded"))
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        client = ctx.openai()
        assert (await client.chat.completions.create(model="chain", messages=MESSAGES)).choices
        assert attempts(ctx.rows()[-1]) == [("one", 400), ("two", 200)]
        await client.close()


async def stream_raw(ctx, model: str = "chain") -> tuple[int, bytes, dict]:
    async with aiohttp.ClientSession() as s:
        body = {"model": model, "messages": MESSAGES, "stream": True}
        async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
            return resp.status, await resp.read(), dict(resp.headers)


@pytest.mark.parametrize("then", ["reset", "error_event", "eof"])
async def test_stream_failing_before_content_falls_back_invisibly(tmp_path, pair, then):
    one, two = pair
    one.script(Stream(chunks=[], then=then), Stream(chunks=[], then=then))  # role chunk, then the failure
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        status, body, headers = await stream_raw(ctx)
        assert status == 200 and headers["x-switchboard-provider"] == "two"
        assert body.count(b'"role":"assistant"') == 1, "exactly one stream start reaches the client"
        assert body.count(b"data: [DONE]") == 1 and b'"error"' not in body
        assert ctx.rows()[-1].status == "ok"


async def test_stream_failing_after_content_is_cut_and_never_falls_back(tmp_path, pair):
    one, two = pair
    one.script(Stream(chunks=["partial ", "answer "], then="reset"))
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        status, body, _ = await stream_raw(ctx)
        assert status == 200 and b"partial " in body
        assert body.rstrip().endswith(b"}") and b"data: [DONE]" not in body
        assert b"Stream interrupted" in body.split(b"\n\n")[-2]
        assert len(two.requests) == 0, "no silent fallback after content"
        row = ctx.rows()[-1]
        assert row.status == "cut" and "after content was sent" in row.error


async def test_cooldown_skips_a_failing_target(tmp_path, pair):
    one, two = pair
    one.script(*[OpenAIError(503, "down", type="server_error")] * 2)
    events = GatewayEvents()
    health = []
    events.connect(lambda e: health.append((e.target, e.state)) if isinstance(e, TargetHealthChanged) else None)
    config = chain_config(
        one.base_url,
        two.base_url,
        cooldown={"failures": 2, "seconds": 60},
        retries={"max_retries": 1, "backoff_base": 0.01, "backoff_max": 0.02},
    )
    async with gateway_context(tmp_path, config, env={"SB_CHAIN_KEY": KEY}, events=events) as ctx:
        client = ctx.openai()
        assert (await client.chat.completions.create(model="chain", messages=MESSAGES)).choices
        assert health == [("one/gpt-4o-mini", "cooling")]
        before = len(one.requests)
        for _ in range(3):
            assert (await client.chat.completions.create(model="chain", messages=MESSAGES)).choices
        assert len(one.requests) == before, "a cooling target is skipped"
        assert attempts(ctx.rows()[-1]) == [("two", 200)]
        await client.close()


async def test_round_robin_spreads_requests(tmp_path, pair):
    one, two = pair
    async with gateway_context(
        tmp_path, chain_config(one.base_url, two.base_url, strategy="round-robin"), env={"SB_CHAIN_KEY": KEY}
    ) as ctx:
        client = ctx.openai()
        for _ in range(4):
            await client.chat.completions.create(model="chain", messages=MESSAGES)
        assert (len(one.requests), len(two.requests)) == (2, 2)
        await client.close()


async def test_status_and_metrics_show_health(tmp_path, pair):
    import asyncio
    import subprocess
    import sys

    one, two = pair
    one.script(*[OpenAIError(503, "down", type="server_error")] * 2)
    config = chain_config(one.base_url, two.base_url, cooldown={"failures": 2, "seconds": 60})
    async with gateway_context(tmp_path, config, env={"SB_CHAIN_KEY": KEY}) as ctx:
        client = ctx.openai()
        await client.chat.completions.create(model="chain", messages=MESSAGES)
        await client.close()
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{ctx.base_url}/switchboard/status", headers=ctx.headers()) as resp:
                status = await resp.json()
            async with s.get(f"{ctx.base_url}/metrics", headers=ctx.headers()) as resp:
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                metrics = await resp.text()
            async with s.get(f"{ctx.base_url}/metrics") as resp:
                assert resp.status == 401, "metrics need the access key"
        assert status["targets"]["one/gpt-4o-mini"]["state"] == "cooling"
        assert status["targets"]["two/gpt-4o-mini"]["state"] == "healthy"
        assert (
            'switchboard_requests_total{model="gpt-4o-mini",provider="two",route="chain",status="ok",'
            'surface="chat",variant=""} 1.0' in metrics
        )
        assert 'switchboard_target_breaker_state{model="gpt-4o-mini",provider="one"} 2.0' in metrics
        assert 'switchboard_target_breaker_state{model="gpt-4o-mini",provider="two"} 0.0' in metrics
        assert 'switchboard_target_in_flight{model="gpt-4o-mini",provider="two"} 0.0' in metrics
        assert "_created" not in metrics
        assert 'switchboard_upstream_attempts_total{route="chain"} 3.0' in metrics
        assert KEY not in metrics
        out = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "proxy.cli", "status", "--url", ctx.base_url, "--home", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "one/gpt-4o-mini" in out.stdout and "cooling" in out.stdout and "last error" in out.stdout


async def test_hedged_request_takes_the_faster_target_and_cancels_the_other(tmp_path, pair):
    import time

    from tests.fakes.openai_upstream import Delay

    one, two = pair
    one.script(Delay(2.0))  # the first target is slow to answer
    async with gateway_context(
        tmp_path, chain_config(one.base_url, two.base_url, hedge_after_ms=200), env={"SB_CHAIN_KEY": KEY}
    ) as ctx:
        client = ctx.openai()
        started = time.monotonic()
        raw = await client.chat.completions.with_raw_response.create(model="chain", messages=MESSAGES)
        assert time.monotonic() - started < 1.5, "the hedge answered before the slow target"
        assert raw.headers["x-switchboard-provider"] == "two"
        await one.wait_disconnect(timeout=2)  # the slow one was cancelled
        row = ctx.rows()[-1]
        assert row.provider == "two" and sorted(attempts(row)) == [("one", 0), ("two", 200)]
        # a fast first target never starts the hedge
        await client.chat.completions.create(model="chain", messages=MESSAGES)
        assert attempts(ctx.rows()[-1]) == [("one", 200)]
        await client.close()


async def test_hedged_stream(tmp_path, pair):
    from tests.fakes.openai_upstream import Delay

    one, two = pair
    one.script(Delay(2.0))
    async with gateway_context(
        tmp_path, chain_config(one.base_url, two.base_url, hedge_after_ms=100), env={"SB_CHAIN_KEY": KEY}
    ) as ctx:
        status, body, headers = await stream_raw(ctx)
        assert status == 200 and headers["x-switchboard-provider"] == "two"
        assert body.count(b"data: [DONE]") == 1 and body.count(b'"role":"assistant"') == 1


async def test_concurrency_cap_moves_on_or_answers_busy(tmp_path, pair):
    import asyncio

    one, two = pair
    one.script(Stream(chunks=["slow "] * 5, chunk_delay=0.2))
    config = chain_config(one.base_url, two.base_url)
    config["routes"][0]["targets"][0]["max_concurrent"] = 1
    config["routes"].append(
        {
            "name": "solo",
            "targets": [{"provider": "one", "model": "gpt-4o-mini", "max_concurrent": 1, "queue_timeout": 0.2}],
        }
    )
    async with gateway_context(tmp_path, config, env={"SB_CHAIN_KEY": KEY}) as ctx:
        slow = asyncio.create_task(stream_raw(ctx))
        while not one.requests:
            await asyncio.sleep(0.01)
        client = ctx.openai()
        raw = await client.chat.completions.with_raw_response.create(model="chain", messages=MESSAGES)
        assert raw.headers["x-switchboard-provider"] == "two", "a busy target is skipped"
        async with aiohttp.ClientSession() as s:
            body = {"model": "solo", "messages": MESSAGES}
            async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                assert resp.status == 429 and resp.headers["Retry-After"] == "1"
                assert (await resp.json())["error"]["code"] == "targets_busy"
        status, body, _ = await slow
        assert status == 200 and body.endswith(b"data: [DONE]\n\n")
        again = await client.chat.completions.with_raw_response.create(model="solo", messages=MESSAGES)
        assert again.headers["x-switchboard-provider"] == "one", "the slot was given back when the stream ended"
        await client.close()


async def test_error_answers_say_what_was_tried(tmp_path, pair):
    one, two = pair
    for fake in (one, two):
        fake.script(*[OpenAIError(503, "down", type="server_error")] * 2)
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        async with aiohttp.ClientSession() as s:
            body = {"model": "chain", "messages": MESSAGES}
            async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                assert resp.status == 503
                assert resp.headers["x-switchboard-attempts"] == "4"
                assert resp.headers["x-switchboard-provider"] == "two"
                assert resp.headers["x-request-id"] == ctx.rows()[-1].id
            async with s.post(f"{ctx.base_url}/v1/chat/completions", data=b"{", headers=ctx.headers()) as resp:
                assert resp.status == 400 and "x-request-id" in resp.headers
                assert "x-switchboard-attempts" not in resp.headers, "nothing was routed"


async def test_hedge_respects_the_concurrency_cap_of_the_second_target(tmp_path, pair):
    import asyncio

    from tests.fakes.openai_upstream import Delay

    one, two = pair
    two.script(Stream(chunks=["busy "] * 5, chunk_delay=0.2))  # holds two's only slot for about a second
    one.script(Delay(0.5))
    config = chain_config(one.base_url, two.base_url, hedge_after_ms=50)
    config["routes"][0]["targets"][1]["max_concurrent"] = 1
    config["routes"].append(
        {"name": "solo", "targets": [{"provider": "two", "model": "gpt-4o-mini", "max_concurrent": 1}]}
    )
    async with gateway_context(tmp_path, config, env={"SB_CHAIN_KEY": KEY}) as ctx:
        busy = asyncio.create_task(stream_raw(ctx, model="solo"))
        while not two.requests:
            await asyncio.sleep(0.01)
        client = ctx.openai()
        raw = await client.chat.completions.with_raw_response.create(model="chain", messages=MESSAGES)
        assert raw.headers["x-switchboard-provider"] == "one", "no hedge while the second target is at its cap"
        assert len(two.requests) == 1
        assert (await busy)[0] == 200
        # With room again, the hedge fires, and the winner's slot is given back when it is done.
        one.script(Delay(1.0))
        raw = await client.chat.completions.with_raw_response.create(model="chain", messages=MESSAGES)
        assert raw.headers["x-switchboard-provider"] == "two"
        raw = await client.chat.completions.with_raw_response.create(model="solo", messages=MESSAGES)
        assert raw.headers["x-switchboard-provider"] == "two"
        await client.close()
