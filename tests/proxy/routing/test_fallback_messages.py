"""The fault matrix on the Anthropic surface: the anthropic SDK through ``/v1/messages`` to two
fake OpenAI-compatible upstreams. Fallback before content, an explicit ``event: error`` after."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.openai_upstream import FakeOpenAIUpstream, OpenAIError, Stream, rate_limited
from tests.helpers import gateway_context
from tests.proxy.routing.test_fallback_chain import KEY, attempts, chain_config

ASK = [{"role": "user", "content": "fall back please"}]


@pytest.fixture
async def pair():
    async with FakeOpenAIUpstream(api_key=KEY) as one, FakeOpenAIUpstream(api_key=KEY) as two:
        yield one, two


async def _stream_text(client: anthropic.AsyncAnthropic) -> str:
    async with client.messages.stream(model="chain", max_tokens=100, messages=ASK) as stream:
        return "".join([text async for text in stream.text_stream])


@pytest.mark.parametrize(
    "failure",
    [
        OpenAIError(503, "overloaded", type="server_error"),
        Stream(chunks=[], then="error_event"),  # an in-band error before any content
        Stream(chunks=[], then="reset"),  # the connection drops after the role chunk
    ],
    ids=["503", "error-before-content", "reset-before-content"],
)
async def test_failure_before_content_falls_back_on_the_messages_surface(tmp_path, pair, failure) -> None:
    one, two = pair
    one.script(failure, failure)
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        text = await _stream_text(ctx.anthropic())
        assert "fall back please" in text
        row = ctx.rows()[-1]
        assert row.status == "ok" and row.provider == "two"
        assert attempts(row)[-1] == ("two", 200)


@pytest.mark.parametrize("ending", ["reset", "eof", "error_event"])
async def test_failure_after_content_ends_with_an_error_event_and_the_log_says_cut(tmp_path, pair, ending) -> None:
    one, two = pair
    one.script(Stream(chunks=["Hello", " wor"], then=ending))
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        client = ctx.anthropic()
        seen: list[str] = []
        with pytest.raises(anthropic.APIStatusError):
            async with client.messages.stream(model="chain", max_tokens=100, messages=ASK) as stream:
                async for event in stream:
                    seen.append(event.type)
        assert "message_stop" not in seen and "text" in seen
        row = ctx.rows()[-1]
        assert row.status == "cut" and row.provider == "one"
        assert len(two.requests) == 0  # content was sent: no fallback


async def test_every_target_rate_limited_returns_anthropic_429_with_retry_after(tmp_path, pair) -> None:
    one, two = pair
    one.script(*[rate_limited(30)] * 3)
    two.script(*[rate_limited(30)] * 3)
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        with pytest.raises(anthropic.RateLimitError) as info:
            await ctx.anthropic().messages.create(model="chain", max_tokens=10, messages=ASK)
        assert info.value.body["error"]["type"] == "rate_limit_error"
        assert info.value.response.headers["retry-after"] == "30"
        assert info.value.response.headers["x-switchboard-attempts"] == "2"
        assert [a[1] for a in attempts(ctx.rows()[-1])] == [429, 429]


async def test_client_mistake_on_the_messages_surface_is_returned_not_retried(tmp_path, pair) -> None:
    one, two = pair
    one.script(OpenAIError(400, "Invalid value for 'temperature'", param="temperature"))
    async with gateway_context(tmp_path, chain_config(one.base_url, two.base_url), env={"SB_CHAIN_KEY": KEY}) as ctx:
        with pytest.raises(anthropic.BadRequestError) as info:
            await ctx.anthropic().messages.create(
                model="chain", max_tokens=10, messages=ASK, extra_body={"temperature": 0.5}
            )
        assert info.value.body["error"]["type"] == "invalid_request_error"
        assert "temperature" in info.value.body["error"]["message"]
        assert len(two.requests) == 0
        sent = one.requests[0].json
        assert sent["temperature"] == 0.5 and sent["max_tokens"] == 10
