"""Anthropic errors <-> OpenAI errors (proxy/translate/anthropic_errors.py)."""

from __future__ import annotations

from proxy.translate.anthropic_errors import anthropic_error_body, openai_error_for_anthropic


def test_anthropic_errors_map_to_openai_statuses_and_back() -> None:
    assert openai_error_for_anthropic(529, "overloaded_error") == (503, "server_error", "overloaded_error")
    assert openai_error_for_anthropic(429, "rate_limit_error") == (429, "rate_limit_error", "rate_limit_error")
    assert anthropic_error_body(404, "invalid_request_error", "no")["error"]["type"] == "not_found_error"
    assert anthropic_error_body(529, "overloaded_error", "busy")["error"]["type"] == "overloaded_error"
    assert anthropic_error_body(503, None, "x")["error"]["type"] == "api_error"
