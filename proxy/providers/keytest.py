"""Is this provider key accepted? One cheap authenticated request (the provider's model list),
sent over a short-lived :class:`~proxy.providers.transport.UpstreamTransport`, so with the key in
the header the provider's auth style names (the same as proxied calls). Used by ``switchboard keys
test`` and the desktop's "Test key"; :func:`fetch_models` reads the same list for the desktop's
"Fetch models". The key never appears in a result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp
import orjson

from proxy.config.schema import ProviderConfig
from proxy.domain.presets import PRESETS
from proxy.providers.transport import MODELS_CAP, UpstreamTransport, describe
from proxy.support.redact import REDACTOR

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


def models_path(provider: ProviderConfig) -> str:
    """Where the provider lists its models, below its base URL."""
    if PRESETS[provider.preset].azure:
        return f"openai/models?api-version={provider.api_version}"
    return "models"


def models_url(provider: ProviderConfig) -> str:
    return f"{provider.effective_base_url}/{models_path(provider)}"


async def _get_models(
    provider: ProviderConfig, key: str | None, cap: int, proxy_password: str | None = None
) -> tuple[int, bytes, float]:
    """GET the provider's model list with its key; (status, body up to ``cap`` bytes, ms).

    Raises:
        aiohttp.ClientError, TimeoutError: the provider could not be reached.
    """
    timeout = aiohttp.ClientTimeout(total=provider.timeouts.connect + 10, sock_connect=provider.timeouts.connect)
    started = time.monotonic()
    async with UpstreamTransport(provider, key, timeout=timeout, proxy_password=proxy_password) as transport:
        status, body = await transport.get(models_path(provider), cap)
        return status, body, (time.monotonic() - started) * 1000


def _detail(body: bytes, key: str | None) -> str:
    detail = REDACTOR.redact(body.decode("utf-8", "replace").strip().replace("\n", " ")[:300])
    return detail.replace(key, "[REDACTED]") if key else detail


async def test_key(provider: ProviderConfig, key: str | None, proxy_password: str | None = None) -> KeyTest:
    """Ask the provider whether ``key`` is good (``None``: no key, for providers that need none);
    ``proxy_password``: of its authenticated ``proxy``."""
    if PRESETS[provider.preset].kind == "demo":
        return KeyTest(NOT_NEEDED, "the demo provider needs no key")
    try:
        status, body, ms = await _get_models(provider, key, 4096, proxy_password)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return KeyTest(UNREACHABLE, f"unreachable ({describe(exc)})")
    detail = _detail(body, key)
    if 200 <= status < 300:
        return KeyTest(ACCEPTED, f"key accepted ({ms:.0f} ms)", ms)
    if status in (401, 403) or (status == 400 and "API key not valid" in detail):  # Gemini says 400
        return KeyTest(REJECTED, f"key rejected ({status}): {detail}", ms)
    if status == 429:
        return KeyTest(RATE_LIMITED, f"rate limited (429): {detail}", ms)
    return KeyTest(FAILED, f"HTTP {status}: {detail}", ms)


@dataclass(frozen=True)
class ModelList:
    """The answer to :func:`fetch_models`."""

    ok: bool
    models: tuple[str, ...]
    """Model ids as the provider names them (sorted), empty when not ``ok``."""
    message: str
    """For people: how many were found, or what went wrong and what to do (redacted)."""


async def fetch_models(provider: ProviderConfig, key: str | None, proxy_password: str | None = None) -> ModelList:
    """The provider's model list, asked with its key the way :func:`test_key` asks."""
    label = PRESETS[provider.preset].label
    if PRESETS[provider.preset].kind == "demo":
        return ModelList(True, ("echo", "embed"), "The demo provider has 2 built-in models.")
    try:
        status, body, _ms = await _get_models(provider, key, MODELS_CAP, proxy_password)
    except (aiohttp.ClientError, TimeoutError) as exc:
        why = describe(exc)
        where = provider.effective_base_url
        hint = "Is it running?" if PRESETS[provider.preset].local else "Check the base URL and your connection."
        return ModelList(False, (), f"Could not reach {label} at {where} ({why}). {hint}")
    if status in (401, 403) or (status == 400 and b"API key not valid" in body):  # Gemini says 400
        return ModelList(False, (), f"{label} refused the key ({status}). Paste a new key, then try again.")
    if status == 429:
        return ModelList(False, (), f"{label} is rate limiting requests (429). Wait a minute, then try again.")
    if status == 404:
        return ModelList(False, (), f"{label} has no model list at {models_url(provider)} (404).")
    if not 200 <= status < 300:
        return ModelList(False, (), f"{label} answered HTTP {status}: {_detail(body, key)}")
    try:
        data = orjson.loads(body)
        entries = data.get("data", data.get("models")) if isinstance(data, dict) else None
        listed = entries if isinstance(entries, list) else []
        ids = {m["id"] for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)}
        ids |= {  # Gemini names its models "models/<id>"
            m["name"].removeprefix("models/") for m in listed if isinstance(m, dict) and isinstance(m.get("name"), str)
        }
    except orjson.JSONDecodeError:
        return ModelList(False, (), f"{label} sent a model list that is not JSON (or longer than 8 MB).")
    models = tuple(sorted(ids))
    noun = "model" if len(models) == 1 else "models"
    return ModelList(True, models, f"{label} offers {len(models)} {noun}.")
