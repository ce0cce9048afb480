"""The Gemini dialect: Google's own Gemini API (``generativelanguage.googleapis.com/v1beta``).

Two ways in, as for Anthropic:

- ``models/{model}:generateContent`` (and ``:streamGenerateContent?alt=sse``, ``:countTokens``,
  ``:embedContent``, ``:batchEmbedContents``) calls from the Gemini surface pass through
  untranslated, and the reply keeps Gemini's shape (``format="gemini"``);
- ``chat/completions`` and ``embeddings`` calls (every other surface) are translated to
  ``generateContent`` / ``batchEmbedContents`` and the answers, JSON or stream, back into the
  OpenAI shapes. Thought signatures ride in tool call ids across turns
  (:func:`~proxy.translate.gemini_common.call_id`); cached-content tokens come back as
  ``prompt_tokens_details.cached_tokens``; tool and response schemas are cleaned of the keywords
  Gemini refuses (:mod:`proxy.providers.schema_cleanup`).

Errors are Google's ``{"error": {"code", "message", "status", "details"}}``:
``RESOURCE_EXHAUSTED`` is a 429 whose ``RetryInfo.retryDelay`` is the Retry-After (read by the
transport); ``UNAVAILABLE`` 503 and ``PERMISSION_DENIED`` 403 keep their statuses (the
server-error and auth fallback triggers); an ``INVALID_ARGUMENT`` that says the key is not valid is
a 401 (auth), one that says the prompt has too many tokens is ``context_length_exceeded``; any
other ``INVALID_ARGUMENT`` is the client's own 400. The key goes in ``x-goog-api-key``
(:mod:`proxy.providers.auth`), never in the URL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from urllib.parse import quote

import orjson

from proxy.config.schema import ProviderConfig
from proxy.domain.errors import UpstreamHTTPError, UpstreamProtocolError, UpstreamUnsupported
from proxy.domain.presets import PRESETS
from proxy.providers.base import UpstreamCall, UpstreamReply, chunk_event, event_object
from proxy.providers.catalog import ModelCatalog
from proxy.providers.schema_cleanup import clean_request
from proxy.providers.transport import Transport
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent
from proxy.translate.common import TranslationError, json_object
from proxy.translate.gemini_answer import gemini_embeddings_to_openai, gemini_to_chat_response
from proxy.translate.gemini_chat import chat_to_gemini_request, embeddings_to_gemini
from proxy.translate.gemini_common import google_status
from proxy.translate.gemini_stream import GeminiToChatStream

NATIVE = frozenset({"gemini"})
"""Gemini's own API: calls whose endpoint is ``models/...`` pass through."""
_DONE = SSEEvent(b"data: [DONE]\n\n", b"[DONE]")
_KEY_HINTS = ("api key not valid", "api_key_invalid", "api key expired")
_CONTEXT_HINTS = ("exceeds the maximum number of tokens", "input token count")


def model_path(model: str, method: str) -> str:
    """``models/{model}:{method}`` (a model already named ``models/...`` or ``tunedModels/...`` kept)."""
    name = model if model.startswith(("models/", "tunedModels/")) else f"models/{quote(model, safe='-._~')}"
    return f"{name}:{method}"


def gemini_http_error(provider: str, exc: UpstreamHTTPError) -> UpstreamHTTPError:
    """A Gemini error answer in the terms the attempt loop and OpenAI-style clients read."""
    text = exc.upstream_message.lower()
    status, code = exc.status, google_status(exc.status)
    if status == 400 and any(h in text for h in _KEY_HINTS):
        status, code = 401, "invalid_api_key"
    elif status == 400 and any(h in text for h in _CONTEXT_HINTS):
        code = "context_length_exceeded"
    return UpstreamHTTPError(
        provider, status, exc.upstream_message, code=code, param=exc.param, retry_after=exc.retry_after
    )


class GeminiDialect:
    """Calls one Gemini provider over its transport."""

    native = NATIVE
    supports_stream_usage = True  # the translation emits a usage chunk when asked

    def __init__(self, config: ProviderConfig, transport: Transport) -> None:
        self.id = config.id
        self.transport = transport
        self.clean = PRESETS[config.preset].clean_tool_schemas
        self._models = ModelCatalog(config, transport)

    async def list_models(self) -> list[str]:
        """Model ids: from config if listed, else the upstream's ``models`` (cached; [] if unreachable)."""
        return await self._models.ids()

    async def close(self) -> None:
        await self.transport.close()

    async def _send(self, path: str, body: dict[str, object], stream: bool) -> UpstreamReply:
        try:
            return await self.transport.send(path, body, stream)
        except UpstreamHTTPError as exc:
            raise gemini_http_error(self.id, exc) from None

    async def call(self, call: UpstreamCall) -> UpstreamReply:
        self.transport.check_key()
        if call.endpoint.startswith(("models/", "tunedModels/")):
            reply = await self._send(call.endpoint, call.body, call.stream)
            reply.format = "gemini"
            return reply
        model = str(call.body.get("model") or "")
        if call.endpoint == "embeddings":
            try:
                body = embeddings_to_gemini(call.body, model)
            except TranslationError as exc:
                raise UpstreamUnsupported(self.id, exc.message, param=exc.param) from None
            reply = await self._send(model_path(model, "batchEmbedContents"), body, False)
            reply.json = gemini_embeddings_to_openai(reply.json, model)
            reply.body = orjson.dumps(reply.json)
            return reply
        if call.endpoint != "chat/completions":
            raise UpstreamUnsupported(self.id, f"Gemini has no {call.endpoint} endpoint")
        try:
            body = chat_to_gemini_request(clean_request(call.body) if self.clean else call.body)
        except TranslationError as exc:
            raise UpstreamUnsupported(self.id, exc.message, param=exc.param) from None
        if call.stream:
            reply = await self._send(model_path(model, "streamGenerateContent?alt=sse"), body, True)
            assert reply.events is not None
            options = call.body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            reply.events = self._chat_events(reply.events, GeminiToChatStream(model, include_usage=include_usage))
            return reply
        reply = await self._send(model_path(model, "generateContent"), body, False)
        if not isinstance(reply.json.get("candidates"), list) and "promptFeedback" not in reply.json:
            raise UpstreamProtocolError(self.id, "the response is not a Gemini GenerateContentResponse")
        reply.json = gemini_to_chat_response(reply.json, model, created=int(time.time()))
        reply.body = orjson.dumps(reply.json)
        return reply

    async def _chat_events(
        self, events: AsyncGenerator[SSEEvent, None], translator: GeminiToChatStream
    ) -> AsyncGenerator[SSEEvent, None]:
        """Gemini chunks -> chat chunk events; ``[DONE]`` only when the stream ended after a
        ``finishReason`` (else the relay sees it cut short)."""
        try:
            async for event in events:
                data = event_object(event, self.id)
                if data is None:
                    continue
                if "error" in data:
                    error = json_object(data["error"])
                    code = error.get("code")
                    status = code if isinstance(code, int) and 400 <= code < 600 else 502
                    message = REDACTOR.redact(str(error.get("message") or "stream error"))
                    raise UpstreamHTTPError(self.id, status, message, code=google_status(status))
                for chunk in translator.feed(data):
                    yield chunk_event(chunk)
            if translator.done:
                for chunk in translator.end():
                    yield chunk_event(chunk)
                yield _DONE
        finally:
            await events.aclose()
