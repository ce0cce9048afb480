"""The OpenAI Chat Completions dialect (OpenAI, OpenRouter, Groq, Ollama, vLLM, Azure OpenAI ...).

Requests already have the upstream's shape: the dialect picks the URL (Azure puts the deployment
in the path and the ``api-version`` in the query), applies the preset's quirks (tool schemas
cleaned for Gemini) and marks native Responses answers. Everything HTTP (session, key header,
timeouts, size caps, error mapping) is the provider's :class:`~proxy.providers.transport.UpstreamTransport`.
"""

from __future__ import annotations

from urllib.parse import quote

from proxy.config.schema import ProviderConfig
from proxy.domain.errors import UpstreamUnsupported
from proxy.domain.presets import NO_TEXT_COMPLETIONS, PRESETS
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.providers.catalog import ModelCatalog
from proxy.providers.schema_cleanup import clean_request
from proxy.providers.transport import Transport


class OpenAIChatDialect:
    """Calls one OpenAI-compatible provider over its transport."""

    def __init__(self, config: ProviderConfig, transport: Transport) -> None:
        self.id = config.id
        self.transport = transport
        self.preset = PRESETS[config.preset]
        self.supports_stream_usage = self.preset.stream_usage_option
        self.native = frozenset({"responses"}) if self.preset.responses_api else frozenset()
        # Azure lists models, but routes name deployments: offer the configured ones only
        self._models = ModelCatalog(config, transport, ask=not self.preset.azure)
        self._azure_query = f"?api-version={config.api_version}"

    async def call(self, call: UpstreamCall) -> UpstreamReply:
        if call.endpoint == "completions" and self.preset.id in NO_TEXT_COMPLETIONS:
            raise UpstreamUnsupported(
                self.id, f"{self.preset.label} has no /completions endpoint (legacy text completions)"
            )
        self.transport.check_key()
        body = clean_request(call.body) if self.preset.clean_tool_schemas else call.body
        reply = await self.transport.send(self._path(call), body, call.stream, call.headers)
        if call.endpoint == "responses":
            reply.format = "responses"
        return reply

    def _path(self, call: UpstreamCall) -> str:
        if self.preset.azure:  # the deployment (the route target's model) is part of the path
            deployment = quote(str(call.body.get("model", "")), safe="")
            return f"openai/deployments/{deployment}/{call.endpoint}{self._azure_query}"
        return call.endpoint

    async def list_models(self) -> list[str]:
        """Model ids: from config if listed, else the upstream's /models (cached; [] if unreachable)."""
        return await self._models.ids()

    async def close(self) -> None:
        await self.transport.close()
