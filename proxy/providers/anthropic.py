"""The Anthropic Messages dialect (Anthropic and Anthropic-compatible endpoints).

Two ways in:

- ``chat/completions`` calls (any OpenAI-style request routed to a Claude model) are translated
  to a Messages request, and the answer (JSON or stream) back into Chat Completions, so the
  attempt loop, the stream relay, the cache and the log see the same shape as from any other
  provider. Errors come back in OpenAI's terms (529 ``overloaded_error`` -> 503).
- ``messages`` and ``messages/count_tokens`` calls (from the ``/v1/messages`` surface) pass
  through untranslated: ``cache_control``, thinking and the client's ``anthropic-beta`` header
  reach Anthropic as sent, and the reply keeps Anthropic's shape (``format="anthropic"``).

The key (``x-api-key``) and the ``anthropic-version`` header come from the provider's auth style
(:mod:`proxy.providers.auth`); HTTP (timeouts per phase, no redirects, no proxies from the
environment, size caps) is the provider's :class:`~proxy.providers.transport.UpstreamTransport`.
This module only picks paths and translates.

On the translated path, ``response_format`` holds (``translate/anthropic_structured.py``: native
structured outputs, or a forced tool whose input is the answer) and, unless the route's
``prompt_caching`` is off, cache breakpoints are placed (``translate/anthropic_cache.py``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

import orjson

from proxy.config.schema import ProviderConfig
from proxy.domain.errors import UpstreamHTTPError, UpstreamProtocolError, UpstreamUnsupported
from proxy.providers.base import UpstreamCall, UpstreamReply, chunk_event, event_object
from proxy.providers.catalog import ModelCatalog
from proxy.providers.transport import Transport
from proxy.support.sse import SSEEvent
from proxy.translate.anthropic_answer import messages_to_chat_response
from proxy.translate.anthropic_cache import place_breakpoints
from proxy.translate.anthropic_errors import openai_error_for_anthropic
from proxy.translate.anthropic_request import chat_to_messages_request
from proxy.translate.anthropic_stream import MessagesToChatStream
from proxy.translate.anthropic_structured import structured_request
from proxy.translate.common import TranslationError

NATIVE = frozenset({"messages", "messages/count_tokens"})
_DONE = SSEEvent(b"data: [DONE]\n\n", b"[DONE]")


class AnthropicMessagesDialect:
    """Calls one Anthropic (or Anthropic-compatible) provider over its transport."""

    native = NATIVE
    supports_stream_usage = True  # the translation emits a usage chunk when asked

    def __init__(self, config: ProviderConfig, transport: Transport) -> None:
        self.id = config.id
        self.transport = transport
        self._models = ModelCatalog(config, transport)

    async def list_models(self) -> list[str]:
        """Model ids: from config if listed, else the upstream's /models (cached; [] if unreachable)."""
        return await self._models.ids()

    async def close(self) -> None:
        await self.transport.close()

    async def call(self, call: UpstreamCall) -> UpstreamReply:
        self.transport.check_key()
        if call.endpoint.partition("?")[0] in NATIVE:  # `messages?beta=true`: the client's beta endpoint
            reply = await self.transport.send(call.endpoint, call.body, call.stream, call.headers)
            reply.format = "anthropic"
            return reply
        if call.endpoint != "chat/completions":
            raise UpstreamUnsupported(self.id, f"Anthropic has no {call.endpoint} endpoint")
        try:
            body = chat_to_messages_request(call.body)
            answer_tool = structured_request(call.body, body)
        except TranslationError as exc:
            raise UpstreamUnsupported(self.id, exc.message, param=exc.param) from None
        if call.prompt_caching:
            place_breakpoints(body)
        options = call.body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        try:
            reply = await self.transport.send("messages", body, call.stream, call.headers)
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
            choice = body.get("tool_choice") or {}
            offered = answer_tool is not None and not (
                choice.get("type") == "tool" and choice.get("name") == answer_tool
            )
            reply.events = self._chat_events(reply.events, include_usage, answer_tool, offered)
            return reply
        if reply.json.get("type") != "message":
            raise UpstreamProtocolError(self.id, "the response is not an Anthropic message")
        reply.json = messages_to_chat_response(reply.json, created=int(time.time()), answer_tool=answer_tool)
        reply.body = orjson.dumps(reply.json)
        return reply

    async def _chat_events(
        self, events: AsyncGenerator[SSEEvent, None], include_usage: bool, answer_tool: str | None, offered: bool
    ) -> AsyncGenerator[SSEEvent, None]:
        """Anthropic stream events -> chat chunk events; ``[DONE]`` only after ``message_stop``.
        ``offered``: the answer tool is offered, not forced (text before it is held back)."""
        translator = MessagesToChatStream(include_usage=include_usage, answer_tool=answer_tool, hold_text=offered)
        try:
            async for event in events:
                data = event_object(event, self.id)
                if data is None:
                    continue
                for chunk in translator.feed(data):
                    yield chunk_event(chunk)
                if translator.done:
                    yield _DONE
                    return
        finally:
            # the transport's events are an async generator; UpstreamReply types them as an iterator
            await events.aclose()
