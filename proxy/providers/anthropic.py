"""Adapter for Anthropic's Messages API (and Anthropic-compatible endpoints).

Two ways in:

- ``chat/completions`` calls (any OpenAI-style request routed to a Claude model) are translated
  to a Messages request, and the answer (JSON or stream) back into Chat Completions, so the
  attempt loop, the stream relay, the cache and the log see the same shape as from any other
  provider. Errors come back in OpenAI's terms (529 ``overloaded_error`` -> 503).
- ``messages`` and ``messages/count_tokens`` calls (from the ``/v1/messages`` surface) pass
  through untranslated: ``cache_control``, thinking and the client's ``anthropic-beta`` header
  reach Anthropic as sent, and the reply keeps Anthropic's shape (``format="anthropic"``).

HTTP behaviour (timeouts per phase, no redirects, no proxies from the environment, size caps) is
the OpenAI-compatible adapter's; only headers, URLs and translation differ.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson

from proxy.config.schema import ProviderConfig
from proxy.domain.errors import KeyUnavailable, UpstreamHTTPError, UpstreamProtocolError, UpstreamUnsupported
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.providers.openai_compat import OpenAICompatAdapter
from proxy.support.sse import SSEEvent
from proxy.translate.anthropic_answer import messages_to_chat_response
from proxy.translate.anthropic_errors import openai_error_for_anthropic
from proxy.translate.anthropic_request import chat_to_messages_request
from proxy.translate.anthropic_stream import MessagesToChatStream
from proxy.translate.common import TranslationError

ANTHROPIC_VERSION = "2023-06-01"
NATIVE = frozenset({"messages", "messages/count_tokens"})
_DONE = SSEEvent(b"data: [DONE]\n\n", b"[DONE]")


class AnthropicAdapter(OpenAICompatAdapter):
    """Calls one Anthropic (or Anthropic-compatible) provider."""

    def __init__(self, config: ProviderConfig, key: str | None, key_problem: str | None = None) -> None:
        super().__init__(config, None, key_problem)
        self.native = NATIVE
        self.supports_stream_usage = True  # the translation emits a usage chunk when asked
        self._headers["anthropic-version"] = ANTHROPIC_VERSION
        if key:
            self._headers["x-api-key"] = key

    async def call(self, call: UpstreamCall) -> UpstreamReply:
        if self._key_problem is not None:
            raise KeyUnavailable(self.id, self._key_problem)
        if call.endpoint.partition("?")[0] in NATIVE:  # `messages?beta=true`: the client's beta endpoint
            reply = await self._post(f"{self.base_url}/{call.endpoint}", call.body, call.stream, call.headers)
            reply.format = "anthropic"
            return reply
        if call.endpoint != "chat/completions":
            raise UpstreamUnsupported(self.id, f"Anthropic has no {call.endpoint} endpoint")
        try:
            body = chat_to_messages_request(call.body)
        except TranslationError as exc:
            raise UpstreamUnsupported(self.id, exc.message, param=exc.param) from None
        options = call.body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        try:
            reply = await self._post(f"{self.base_url}/messages", body, call.stream, call.headers)
        except UpstreamHTTPError as exc:
            status, type_, code = openai_error_for_anthropic(exc.status, exc.type)
            raise UpstreamHTTPError(
                self.id,
                status,
                exc.upstream_message,
                type=type_,
                code=code,
                param=exc.param,
                retry_after=exc.retry_after,
            ) from None
        if reply.events is not None:
            reply.events = self._chat_events(reply.events, include_usage)
            return reply
        if reply.json.get("type") != "message":
            raise UpstreamProtocolError(self.id, "the response is not an Anthropic message")
        reply.json = messages_to_chat_response(reply.json, created=int(time.time()))
        reply.body = orjson.dumps(reply.json)
        return reply

    async def _chat_events(self, events: AsyncIterator[SSEEvent], include_usage: bool) -> AsyncIterator[SSEEvent]:
        """Anthropic stream events -> chat chunk events; ``[DONE]`` only after ``message_stop``."""
        translator = MessagesToChatStream(include_usage=include_usage)
        try:
            async for event in events:
                if event.data is None:
                    continue
                try:
                    data = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    raise UpstreamProtocolError(self.id, "the stream sent an event that is not JSON") from None
                if not isinstance(data, dict):
                    raise UpstreamProtocolError(self.id, "the stream sent an event that is not a JSON object")
                for chunk in translator.feed(data):
                    payload = orjson.dumps(chunk)
                    yield SSEEvent(b"data: " + payload + b"\n\n", payload)
                if translator.done:
                    yield _DONE
                    return
        finally:
            await events.aclose()  # type: ignore[attr-defined]
