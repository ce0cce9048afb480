"""Exchange's attempt log: the upstream response headers worth keeping, redacted."""

from __future__ import annotations

import orjson
from multidict import CIMultiDict

from proxy.domain.exchange import Exchange, useful_headers
from proxy.support.redact import MASK
from tests.fakes.openai_upstream import OpenAIError
from tests.helpers import gateway_context
from tests.proxy.routing.test_fallback_chain import KEY, MESSAGES, chain_config, pair  # noqa: F401


def test_useful_headers_keep_the_short_list_any_case_and_redact():
    headers = CIMultiDict(
        {
            "Content-Type": "application/json",
            "X-Request-Id": "req_123",
            "x-ratelimit-remaining-tokens": "9000",
            "Set-Cookie": "session=abc",
            "openai-organization": "org-secret",
            "cf-ray": "sk-proj-abcdefghijklmnopqrstuvwxyz0123",  # a key where none belongs: masked
        }
    )
    assert useful_headers(headers) == {
        "content-type": "application/json",
        "x-request-id": "req_123",
        "x-ratelimit-remaining-tokens": "9000",
        "cf-ray": MASK,
    }
    assert useful_headers({}) == {}


def test_garbage_from_an_upstream_never_breaks_the_log_row():
    """aiohttp keeps header bytes that are not UTF-8 as surrogate escapes; orjson refuses those, so
    one garbled header used to lose the request's log row (found by the fault-injection suite)."""
    garbled = b"id-\xff\xfe".decode("utf-8", "surrogateescape")
    assert useful_headers({"x-request-id": garbled, "cf-ray": "x" * 5000}) == {
        "x-request-id": "id-\ufffd\ufffd",
        "cf-ray": "x" * 200,
    }
    ex = Exchange("chat", None)
    ex.note_attempt("p", "m", 502, f"bad answer: {garbled}", 1.0, {"x-request-id": garbled})
    row = ex.record()
    assert orjson.loads(row.attempt_log)[0]["error"] == "bad answer: id-\ufffd\ufffd"


async def test_a_successful_attempt_keeps_its_response_headers(tmp_path, pair):  # noqa: F811
    one, two = pair
    one.script(OpenAIError(503, "overloaded", type="server_error"))
    config = chain_config(one.base_url, two.base_url, retries={"max_retries": 0})
    async with gateway_context(tmp_path, config, env={"SB_CHAIN_KEY": KEY}) as ctx:
        await ctx.openai().chat.completions.create(model="chain", messages=MESSAGES)
        row = ctx.rows()[-1]
    failed, served = orjson.loads(row.attempt_log)
    assert "response_headers" not in failed  # an error's headers are not kept
    assert served["response_headers"]["x-request-id"].startswith("req_")
    assert served["response_headers"]["content-type"].startswith("application/json")
    assert KEY not in row.attempt_log
