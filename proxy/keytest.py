"""Is this provider key accepted? One cheap authenticated request (the provider's model list),
sent the way that provider expects its key: ``Authorization: Bearer``, Anthropic's ``x-api-key``
with ``anthropic-version``, or Azure's ``api-key``. Used by ``switchboard keys test`` and the
desktop's "Test key". The key never appears in the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from proxy.config import ProviderConfig
from proxy.presets import PRESETS
from proxy.redact import REDACTOR

ACCEPTED, REJECTED, RATE_LIMITED, UNREACHABLE, FAILED, NOT_NEEDED = (
    "accepted",
    "rejected",
    "rate_limited",
    "unreachable",
    "failed",
    "not_needed",
)


@dataclass(frozen=True)
class KeyTest:
    outcome: str
    """``accepted``, ``rejected``, ``rate_limited``, ``unreachable``, ``failed`` or ``not_needed``."""
    message: str
    """For people, redacted."""
    ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome in (ACCEPTED, NOT_NEEDED)


def auth_headers(provider: ProviderConfig, key: str) -> dict[str, str]:
    preset = PRESETS[provider.preset]
    if preset.kind == "anthropic":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if preset.azure:
        return {"api-key": key}
    return {"Authorization": f"Bearer {key}"}


def models_url(provider: ProviderConfig) -> str:
    if PRESETS[provider.preset].azure:
        return f"{provider.effective_base_url}/openai/models?api-version={provider.api_version}"
    return f"{provider.effective_base_url}/models"


async def test_key(provider: ProviderConfig, key: str | None) -> KeyTest:
    """Ask the provider whether ``key`` is good (``None``: no key, for providers that need none)."""
    if PRESETS[provider.preset].kind == "demo":
        return KeyTest(NOT_NEEDED, "the demo provider needs no key")
    headers = {"User-Agent": "Switchboard/0.1", **provider.headers}
    if key:
        headers.update(auth_headers(provider, key))
    timeout = aiohttp.ClientTimeout(total=provider.timeouts.connect + 10, sock_connect=provider.timeouts.connect)
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            async with session.get(models_url(provider), headers=headers, allow_redirects=False) as resp:
                body = (await resp.content.read(4096)).decode("utf-8", "replace")
                status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return KeyTest(UNREACHABLE, f"unreachable ({REDACTOR.redact(str(exc) or type(exc).__name__)})")
    ms = (time.monotonic() - started) * 1000
    detail = REDACTOR.redact(body.strip().replace("\n", " ")[:300])
    if key:
        detail = detail.replace(key, "[REDACTED]")
    if 200 <= status < 300:
        return KeyTest(ACCEPTED, f"key accepted ({ms:.0f} ms)", ms)
    if status in (401, 403):
        return KeyTest(REJECTED, f"key rejected ({status}): {detail}", ms)
    if status == 429:
        return KeyTest(RATE_LIMITED, f"rate limited (429): {detail}", ms)
    return KeyTest(FAILED, f"HTTP {status}: {detail}", ms)
