"""OpenAI's legacy text completions: ``POST /v1/completions`` (autocomplete in Continue and other
editors, fill-in-the-middle with ``suffix``).

The request goes out as it came (``model`` set per target) to ``completions`` below the provider's
base URL: OpenAI, OpenRouter, Together, and local servers (Ollama, LM Studio, vLLM, llama.cpp),
which take ``suffix`` for fill-in-the-middle. A provider without the endpoint (Anthropic, Groq,
Gemini's OpenAI endpoint, Mistral, the demo) refuses the attempt with a precise 400 naming it, and
the route moves on to its next target. Streams are Chat-Completions-like (``data: {...}`` chunks,
``data: [DONE]``), so they are relayed the way chat streams are. Not cached.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proxy.domain.errors import ApiError
from proxy.domain.exchange import Exchange
from proxy.providers.base import UpstreamCall
from proxy.routing.resolve import Attempt
from proxy.server.surfaces.chat import ChatCompletions
from proxy.server.validation import check_banned, missing, stream_flag, wrong_type


def _is_prompt(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if not isinstance(value, list) or not value:
        return False
    return (
        all(isinstance(v, str) for v in value)
        or all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or all(isinstance(v, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in v) for v in value)
    )


def check_completion(body: dict[str, Any]) -> bool:
    """Validate a legacy completion request; returns whether it streams."""
    if "prompt" not in body:
        raise missing("prompt")
    if not _is_prompt(body["prompt"]):
        raise ApiError(
            400,
            "Invalid 'prompt': expected a string, an array of strings, or an array of token arrays (not empty).",
            param="prompt",
            code="invalid_value",
        )
    suffix = body.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise wrong_type("suffix", "a string", suffix)
    for name in ("max_tokens", "n", "best_of", "logprobs"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise wrong_type(name, "an integer", value)
    if "messages" in body:
        raise ApiError(
            400,
            "'messages' belongs to /v1/chat/completions; /v1/completions takes a 'prompt'.",
            param="messages",
            code="invalid_value",
        )
    stream = stream_flag(body)
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise wrong_type("stream_options", "an object", options)
    check_banned(body)
    return stream


class Completions(ChatCompletions):
    """A legacy completion: passed on as it is to ``completions``; its stream relayed like a chat stream."""

    __slots__ = ()

    def __init__(self, ex: Exchange, body: dict[str, Any], request: web.Request) -> None:
        super().__init__(ex, body, request, cached=False)

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        return check_completion(body)

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        upstream = dict(self.body)
        upstream["model"] = attempt.model
        if self.stream and stream_usage and not self.wants_usage:
            upstream["stream_options"] = {**(self.options or {}), "include_usage": True}
        return UpstreamCall("completions", upstream, self.stream)
