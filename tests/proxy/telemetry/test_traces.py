"""OTLP traces end to end: a real gateway, fake upstreams speaking the exact wire formats, and a
real OTLP/HTTP receiver decoding the protobuf payloads with the official messages."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import aiohttp
import pytest

pytest.importorskip("opentelemetry.sdk", reason="the telemetry extra is not installed")

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status  # noqa: E402

from proxy.engine.hooks import Telemetry  # noqa: E402
from tests.fakes.openai_upstream import FakeOpenAIUpstream, OpenAIError  # noqa: E402
from tests.helpers import gateway_context  # noqa: E402
from tests.proxy.telemetry.receiver import Receiver  # noqa: E402

KEY = "sk-otel-test-secret-000000000000"
SECRET_WORD = "sk-ant-api03-" + "Z" * 40  # a key-shaped string in a prompt: redacted when captured


def config(one: str, two: str, **route) -> dict:
    provider = {"preset": "custom", "key": {"env": "SB_OTEL_KEY"}, "timeouts": {"connect": 2, "first_token": 5}}
    return {
        "providers": [{"id": "one", "base_url": one, **provider}, {"id": "two", "base_url": two, **provider}],
        "routes": [
            {
                "name": "chain",
                "targets": [{"provider": "one", "model": "gpt-4o-mini"}, {"provider": "two", "model": "gpt-4o"}],
                "retries": {"backoff_base": 0.01, "backoff_max": 0.02, "max_retries": 1},
                **route,
            }
        ],
    }


def env(receiver: Receiver, **extra: str) -> dict[str, str]:
    return {
        "SB_OTEL_KEY": KEY,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": "sb-test",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2000",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        **extra,
    }


def flush(ctx) -> None:
    hook = next(h for h in ctx.gateway.hooks.all if isinstance(h, Telemetry))
    assert hook.exporter is not None, "export is on"
    assert hook.exporter.flush(10)


@pytest.fixture
async def pair():
    models = ["gpt-4o-mini", "gpt-4o"]
    async with (
        FakeOpenAIUpstream(api_key=KEY, models=models) as one,
        FakeOpenAIUpstream(api_key=KEY, models=models) as two,
    ):
        yield one, two


async def test_streamed_fallback_is_one_trace_with_attempt_spans(tmp_path, pair):
    one, two = pair
    one.script(OpenAIError(503, "overloaded", type="server_error"), OpenAIError(503, "overloaded", type="server_error"))
    async with Receiver() as rx, gateway_context(tmp_path, config(one.base_url, two.base_url), env=env(rx)) as ctx:
        client = ctx.openai()
        stream = await client.chat.completions.create(
            model="chain",
            messages=[{"role": "user", "content": f"hello {SECRET_WORD}"}],
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=50,
            temperature=0.3,
            top_p=0.9,
        )
        async for _ in stream:
            pass
        flush(ctx)
        spans = await rx.wait_spans(4)
    assert len(spans) == 4
    server = next(s for s in spans if s["kind"] == Span.SPAN_KIND_SERVER)
    attempts = sorted((s for s in spans if s["kind"] == Span.SPAN_KIND_CLIENT), key=lambda s: s["start"])
    assert len(attempts) == 3 and {s["trace_id"] for s in spans} == {server["trace_id"]}
    assert all(a["parent"] == server["span_id"] for a in attempts), "attempts are siblings under the server span"
    assert server["parent"] == ""
    assert server["name"] == "chat chain"
    assert [a["name"] for a in attempts] == ["chat gpt-4o-mini", "chat gpt-4o-mini", "chat gpt-4o"]
    assert [a["attrs"]["switchboard.attempt.kind"] for a in attempts] == ["first", "retry", "fallback"]
    assert [a["attrs"]["switchboard.attempt.number"] for a in attempts] == [1, 2, 3]
    assert [a["status"] for a in attempts] == [Status.STATUS_CODE_ERROR, Status.STATUS_CODE_ERROR, 0]
    assert attempts[0]["attrs"]["error.type"] == "503"
    assert "overloaded" in attempts[2]["attrs"]["switchboard.fallback.reason"]
    assert attempts[2]["attrs"]["server.address"] == "127.0.0.1"
    a = server["attrs"]
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "chain"
    assert a["gen_ai.response.model"] == "gpt-4o"
    assert a["gen_ai.provider.name"] == "custom"
    assert a["gen_ai.request.max_tokens"] == 50
    assert a["gen_ai.request.temperature"] == pytest.approx(0.3)
    assert a["gen_ai.request.top_p"] == pytest.approx(0.9)
    assert a["gen_ai.response.id"].startswith("chatcmpl")
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert attempts[2]["attrs"]["gen_ai.usage.output_tokens"] == a["gen_ai.usage.output_tokens"]
    assert a["switchboard.route"] == "chain" and a["switchboard.attempts"] == 3
    assert a["gen_ai.request.stream"] is True
    assert attempts[2]["end"] <= server["end"] and server["start"] <= attempts[0]["start"]
    assert rx.resources[0]["service.name"] == "sb-test"
    assert rx.resources[0]["deployment.environment"] == "test"
    raw = b"".join(rx.raw)
    assert b"hello" not in raw, "no content by default"
    assert KEY.encode() not in raw and SECRET_WORD.encode() not in raw


async def test_inbound_traceparent_continues_and_propagates(tmp_path, pair):
    one, two = pair
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    headers = {"traceparent": f"00-{trace_id}-{parent}-01", "tracestate": "vendor=abc"}
    async with Receiver() as rx, gateway_context(tmp_path, config(one.base_url, two.base_url), env=env(rx)) as ctx:
        async with aiohttp.ClientSession() as s:
            body = {"model": "chain", "messages": [{"role": "user", "content": "hi"}]}
            async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers(**headers)) as r:
                assert r.status == 200
            # an unsampled caller: nothing is exported for it
            unsampled = {"traceparent": f"00-{'1' * 32}-{parent}-00"}
            async with s.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers(**unsampled)) as r:
                assert r.status == 200
        flush(ctx)
        spans = await rx.wait_spans(2)
    assert {s["trace_id"] for s in spans} == {trace_id}
    server = next(s for s in spans if s["kind"] == Span.SPAN_KIND_SERVER)
    attempt = next(s for s in spans if s["kind"] == Span.SPAN_KIND_CLIENT)
    assert server["parent"] == parent and server["trace_state"] == "vendor=abc"
    sent = one.requests[0].headers.get("traceparent")
    assert sent == f"00-{trace_id}-{attempt['span_id']}-01", "a custom provider gets the attempt span's id"
    assert one.requests[0].headers.get("tracestate") == "vendor=abc"
    assert "traceparent" not in one.requests[1].headers, "no stale trace for the unsampled request"
    assert len(spans) == 2


async def test_content_is_redacted_when_opted_in(tmp_path, pair):
    one, two = pair
    extra = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
    cfg = config(one.base_url, two.base_url)
    cfg["providers"][0]["trace_propagation"] = False
    async with Receiver() as rx, gateway_context(tmp_path, cfg, env=env(rx, **extra)) as ctx:
        client = ctx.openai()
        await client.chat.completions.create(
            model="chain", messages=[{"role": "user", "content": f"remember {SECRET_WORD}"}]
        )
        flush(ctx)
        spans = await rx.wait_spans(2)
    server = next(s for s in spans if s["kind"] == Span.SPAN_KIND_SERVER)
    assert "remember" in server["attrs"]["gen_ai.input.messages"]
    assert SECRET_WORD not in server["attrs"]["gen_ai.input.messages"]
    assert "gen_ai.output.messages" in server["attrs"]
    assert KEY.encode() not in b"".join(rx.raw) and SECRET_WORD.encode() not in b"".join(rx.raw)
    assert "traceparent" not in one.requests[0].headers, "propagation switched off for this provider"


async def test_dead_collector_leaves_requests_unaffected(tmp_path, pair):
    one, two = pair
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    variables = {
        "SB_OTEL_KEY": KEY,
        "OTEL_EXPORTER_OTLP_ENDPOINT": dead,
        "OTEL_EXPORTER_OTLP_TIMEOUT": "500",
        "OTEL_METRICS_EXPORTER": "none",
    }
    async with gateway_context(tmp_path, config(one.base_url, two.base_url), env=variables) as ctx:
        client = ctx.openai()
        for _ in range(3):
            reply = await client.chat.completions.create(model="chain", messages=[{"role": "user", "content": "x"}])
            assert reply.choices[0].message.content
        flush(ctx)
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{ctx.base_url}/metrics", headers=ctx.headers()) as resp:
                text = await resp.text()
        assert [r.status for r in ctx.rows()] == ["ok"] * 3
    dropped = next(line for line in text.splitlines() if line.startswith("switchboard_otel_spans_dropped_total"))
    assert float(dropped.split()[-1]) >= 6


async def test_otlp_metrics_follow_the_conventions(tmp_path, pair):
    one, two = pair
    async with Receiver() as rx, gateway_context(tmp_path, config(one.base_url, two.base_url), env=env(rx)) as ctx:
        client = ctx.openai()
        await client.chat.completions.create(model="chain", messages=[{"role": "user", "content": "count me"}])
        flush(ctx)
        for _ in range(100):
            if "gen_ai.client.token.usage" in rx.metrics and "switchboard.requests" in rx.metrics:
                break
            await asyncio.sleep(0.05)
    usage = rx.metrics["gen_ai.client.token.usage"][-1]
    assert usage.unit == "{token}"
    points = usage.histogram.data_points
    types = {next(a.value.string_value for a in p.attributes if a.key == "gen_ai.token.type") for p in points}
    assert types == {"input", "output"}
    assert list(points[0].explicit_bounds)[:3] == [1, 4, 16]
    duration = rx.metrics["gen_ai.client.operation.duration"][-1]
    assert duration.unit == "s" and list(duration.histogram.data_points[0].explicit_bounds)[:2] == [0.01, 0.02]
    assert "switchboard.upstream.attempts" in rx.metrics


def test_nothing_set_imports_no_opentelemetry(tmp_path):
    code = f"""
import asyncio, os, sys
for k in list(os.environ):
    if k.startswith("OTEL_"):
        del os.environ[k]
os.environ["SWITCHBOARD_ACCESS_KEY"] = "sb-local-x"
from proxy.engine.gateway import GatewayOptions
from proxy.server.app import new_gateway
from proxy.config.schema import default_config
async def main():
    g = new_gateway(GatewayOptions(home={str(tmp_path)!r}, port=0, discover_local=False), config=default_config())
    await g.start()
    import aiohttp
    async with aiohttp.ClientSession() as s:
        body = {{"model": "demo", "messages": [{{"role": "user", "content": "hi"}}]}}
        h = {{"Authorization": "Bearer sb-local-x"}}
        async with s.post(g.base_url + "/v1/chat/completions", json=body, headers=h) as r:
            assert r.status == 200, r.status
    await g.stop()
asyncio.run(main())
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


async def test_claude_code_style_stream_that_falls_back_once(tmp_path):
    """The issue's check: a streamed Messages request that falls back once is one trace with two
    attempt spans and the right token usage."""
    from tests.fakes.anthropic_upstream import AnthropicError, FakeAnthropicUpstream

    ant_key = "sk-ant-otel-test-0000000000000000"
    model = "claude-sonnet-4-5"
    async with (
        FakeAnthropicUpstream(api_key=ant_key, bearer=False, models=[model]) as first,
        FakeAnthropicUpstream(api_key=ant_key, bearer=False, models=[model]) as second,
        Receiver() as rx,
    ):
        first.script(AnthropicError(529))
        provider = {"preset": "anthropic", "key": {"env": "SB_ANT_KEY"}}
        cfg = {
            "providers": [
                {"id": "a1", "base_url": f"{first.base_url}/v1", **provider},
                {"id": "a2", "base_url": f"{second.base_url}/v1", **provider},
            ],
            "routes": [
                {
                    "name": "claude",
                    "targets": [{"provider": "a1", "model": model}, {"provider": "a2", "model": model}],
                    "retries": {"max_retries": 0},
                }
            ],
        }
        async with gateway_context(tmp_path, cfg, env={**env(rx), "SB_ANT_KEY": ant_key}) as ctx:
            client = ctx.anthropic()
            async with client.messages.stream(
                model="claude", max_tokens=64, messages=[{"role": "user", "content": "hello"}]
            ) as stream:
                final = await stream.get_final_message()
            flush(ctx)
            spans = await rx.wait_spans(3)
            row = ctx.rows()[-1]
    assert len(spans) == 3 and len({s["trace_id"] for s in spans}) == 1
    server = next(s for s in spans if s["kind"] == Span.SPAN_KIND_SERVER)
    attempts = sorted((s for s in spans if s["kind"] == Span.SPAN_KIND_CLIENT), key=lambda s: s["start"])
    assert [a["attrs"]["switchboard.provider"] for a in attempts] == ["a1", "a2"]
    assert [a["attrs"]["switchboard.attempt.kind"] for a in attempts] == ["first", "fallback"]
    assert attempts[0]["attrs"]["error.type"] == "529"
    assert server["attrs"]["gen_ai.provider.name"] == "anthropic"
    assert server["attrs"]["gen_ai.usage.input_tokens"] == final.usage.input_tokens == row.tokens_in
    assert server["attrs"]["gen_ai.usage.output_tokens"] == final.usage.output_tokens == row.tokens_out
    assert server["attrs"]["gen_ai.response.id"] == final.id
    assert server["attrs"]["gen_ai.response.finish_reasons"] == [final.stop_reason]
    assert "traceparent" not in first.requests[0].headers, "a cloud preset gets no traceparent by default"


async def test_hedge_is_a_sibling_attempt(tmp_path, pair):
    from tests.fakes.openai_upstream import Delay

    one, two = pair
    one.script(Delay(2.0))
    async with (
        Receiver() as rx,
        gateway_context(tmp_path, config(one.base_url, two.base_url, hedge_after_ms=100), env=env(rx)) as ctx,
    ):
        client = ctx.openai()
        await client.chat.completions.create(model="chain", messages=[{"role": "user", "content": "race"}])
        await one.wait_disconnect(timeout=3)
        flush(ctx)
        spans = await rx.wait_spans(3)
    attempts = sorted((s for s in spans if s["kind"] == Span.SPAN_KIND_CLIENT), key=lambda s: s["start"])
    server = next(s for s in spans if s["kind"] == Span.SPAN_KIND_SERVER)
    assert [a["attrs"]["switchboard.attempt.kind"] for a in attempts] == ["first", "hedge"]
    assert all(a["parent"] == server["span_id"] for a in attempts)
    assert attempts[1]["start"] < attempts[0]["end"], "the hedge overlaps the slow first attempt"
    assert server["attrs"]["gen_ai.response.model"] == "gpt-4o"


async def test_a_hanging_collector_never_holds_up_a_stop(tmp_path, pair):
    import time

    from aiohttp import web

    one, two = pair
    hang = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        await hang.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/v1/traces", never)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    variables = {
        "SB_OTEL_KEY": KEY,
        "OTEL_EXPORTER_OTLP_ENDPOINT": url,
        "OTEL_EXPORTER_OTLP_TIMEOUT": "30000",  # the SDK would wait this long
        "OTEL_METRICS_EXPORTER": "none",
    }
    try:
        async with gateway_context(tmp_path, config(one.base_url, two.base_url), env=variables) as ctx:
            client = ctx.openai()
            reply = await client.chat.completions.create(model="chain", messages=[{"role": "user", "content": "x"}])
            assert reply.choices[0].message.content
            started = time.monotonic()
        assert time.monotonic() - started < 15, "the stop waited for the collector's 30 s timeout"
    finally:
        hang.set()
        await runner.cleanup()
