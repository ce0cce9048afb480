"""Which dialect speaks to which kind of provider, and how one provider's adapter is put together.

A new upstream wire format is one dialect class and one row in :data:`DIALECTS` (plus an auth
style in :mod:`proxy.providers.auth` if it sends its key its own way).
"""

from __future__ import annotations

from collections.abc import Callable

from proxy.config.schema import ProviderConfig
from proxy.domain.presets import PRESETS
from proxy.providers.anthropic import AnthropicMessagesDialect
from proxy.providers.base import ProviderAdapter
from proxy.providers.demo import DemoAdapter
from proxy.providers.gemini import GeminiDialect
from proxy.providers.openai_compat import OpenAIChatDialect
from proxy.providers.transport import Transport, UpstreamTransport

DIALECTS: dict[str, Callable[[ProviderConfig, Transport], ProviderAdapter]] = {
    "openai": OpenAIChatDialect,
    "anthropic": AnthropicMessagesDialect,
    "gemini": GeminiDialect,
}
"""Preset kind -> the dialect that speaks its wire format."""


def open_adapter(
    config: ProviderConfig, key: str | None = None, key_problem: str | None = None, proxy_password: str | None = None
) -> ProviderAdapter:
    """The adapter for ``config``: its dialect over a transport of its own (the demo needs neither).

    Args:
        key: the provider's API key, already read (``None``: it needs none, or see ``key_problem``).
        key_problem: why the key could not be read; every call then fails with ``KeyUnavailable``.
    """
    kind = PRESETS[config.preset].kind
    if kind == "demo":
        return DemoAdapter(config)
    transport = UpstreamTransport(config, key, key_problem=key_problem, proxy_password=proxy_password)
    return DIALECTS[kind](config, transport)
