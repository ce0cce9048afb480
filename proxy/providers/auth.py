"""How each provider is told who is calling: the one place that decides a provider's auth headers.

Every request to a provider (a proxied call, the key test, the model list) carries the same
headers, from the provider's :class:`AuthStyle`:

- ``bearer``: ``Authorization: Bearer KEY`` (OpenAI and every OpenAI-compatible server);
- ``anthropic``: ``x-api-key: KEY`` plus the ``anthropic-version`` the Messages dialect speaks
  (Anthropic and Anthropic-compatible endpoints want the version on every request, models too);
- ``azure``: ``api-key: KEY`` (Azure OpenAI);
- ``google``: ``x-goog-api-key: KEY`` (Gemini's own API; never ``?key=`` in the URL, which logs keep).

A provider without a key sends only the style's fixed headers. A new upstream that authenticates
some other way (say Gemini's ``x-goog-api-key``) is one more style here and one more case in
:func:`auth_style`.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.domain.presets import Preset

ANTHROPIC_VERSION = "2023-06-01"
"""The Messages API version Switchboard speaks (sent as ``anthropic-version``)."""


@dataclass(frozen=True, slots=True)
class AuthStyle:
    """Which header carries a provider's key, and what is sent alongside it."""

    name: str
    key_header: str
    key_prefix: str = ""
    """Written before the key in ``key_header`` (``"Bearer "``)."""
    fixed: tuple[tuple[str, str], ...] = ()
    """Headers sent on every request, with or without a key."""

    def headers(self, key: str | None) -> dict[str, str]:
        """The headers for ``key`` (``None``: the provider needs none)."""
        headers = dict(self.fixed)
        if key:
            headers[self.key_header] = f"{self.key_prefix}{key}"
        return headers


BEARER = AuthStyle("bearer", "Authorization", "Bearer ")
ANTHROPIC = AuthStyle("anthropic", "x-api-key", fixed=(("anthropic-version", ANTHROPIC_VERSION),))
AZURE = AuthStyle("azure", "api-key")
GOOGLE = AuthStyle("google", "x-goog-api-key")


def auth_style(preset: Preset) -> AuthStyle:
    """How a provider of this preset authenticates."""
    if preset.kind == "anthropic":
        return ANTHROPIC
    if preset.azure:
        return AZURE
    if preset.kind == "gemini":
        return GOOGLE
    return BEARER
