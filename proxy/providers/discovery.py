"""Finding local model servers (Ollama, LM Studio) for the zero-config default and the desktop app.

Both speak the OpenAI-compatible API under ``/v1``; a server counts as found when its
``/v1/models`` answers 200. Each probe goes over a short-lived
:class:`~proxy.providers.transport.UpstreamTransport`, as the provider it would become.
Where to look is a parameter (``addresses``), so tests can point the probe at a fake on a free
port instead of binding the real ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import orjson
import pydantic

from proxy.config.schema import ProviderConfig
from proxy.domain.presets import PRESETS
from proxy.providers.transport import UpstreamTransport

LOCAL_SERVERS = ("ollama", "lmstudio")
"""Presets probed by default, at their presets' base URLs."""
MODELS_READ_CAP = 1024 * 1024


@dataclass(frozen=True)
class LocalServer:
    """A model server answering on this computer."""

    preset: str
    """``ollama`` or ``lmstudio`` (the preset it fits)."""
    base_url: str
    """Where it answered, e.g. ``http://127.0.0.1:11434/v1``."""
    models: tuple[str, ...] = ()
    """The model ids it listed (may be empty: a server with nothing pulled yet)."""

    @property
    def label(self) -> str:
        return PRESETS[self.preset].label.removesuffix(" (local)")


def default_addresses() -> dict[str, str]:
    return {preset: PRESETS[preset].base_url or "" for preset in LOCAL_SERVERS}


async def find_local_servers(
    timeout: float = 0.5, addresses: Mapping[str, str] | None = None
) -> tuple[LocalServer, ...]:
    """The local model servers that answer, with their model lists.

    Args:
        timeout: for the whole probe (all servers are asked at once).
        addresses: preset -> base URL to probe (default: Ollama and LM Studio on their usual ports).
    """
    wanted = default_addresses() if addresses is None else dict(addresses)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    found = await asyncio.gather(*(_probe(preset, url, client_timeout) for preset, url in wanted.items()))
    return tuple(s for s in found if s is not None)


async def _probe(preset: str, base_url: str, timeout: aiohttp.ClientTimeout) -> LocalServer | None:
    """The server at ``base_url`` if its model list answers 200, asked as a provider of ``preset``."""
    try:
        provider = ProviderConfig.model_validate({"id": preset, "preset": preset, "base_url": base_url})
    except pydantic.ValidationError:
        return None  # not a provider Switchboard could add (plain http to another machine, link-local)
    try:
        async with UpstreamTransport(provider, timeout=timeout) as transport:
            status, body = await transport.get("models", MODELS_READ_CAP)
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None
    if status != 200:
        return None
    try:
        data = orjson.loads(body).get("data", [])
        models = tuple(m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str))
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        models = ()  # it answered 200: still a server, just not a list we could read
    return LocalServer(preset, provider.effective_base_url, models)


async def discover_local_servers(timeout: float = 0.5, addresses: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Presets of local model servers (Ollama, LM Studio) answering on their default ports."""
    return tuple(s.preset for s in await find_local_servers(timeout, addresses))
