"""Finding local model servers (Ollama, LM Studio) for the zero-config default and the desktop app.

Both speak the OpenAI-compatible API under ``/v1``; a server counts as found when its
``/v1/models`` answers 200. Where to look is a parameter (``addresses``), so tests can point the
probe at a fake on a free port instead of binding the real ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import orjson

from proxy.domain.presets import PRESETS

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

    async def probe(session: aiohttp.ClientSession, preset: str, base_url: str) -> LocalServer | None:
        try:
            async with session.get(f"{base_url.rstrip('/')}/models", allow_redirects=False) as resp:
                if resp.status != 200:
                    return None
                body = await resp.content.read(MODELS_READ_CAP)
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None
        try:
            data = orjson.loads(body).get("data", [])
            models = tuple(m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str))
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            models = ()  # it answered 200: still a server, just not a list we could read
        return LocalServer(preset, base_url.rstrip("/"), models)

    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout, trust_env=False) as session:
        found = await asyncio.gather(*(probe(session, preset, url) for preset, url in wanted.items()))
    return tuple(s for s in found if s is not None)


async def discover_local_servers(timeout: float = 0.5, addresses: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Presets of local model servers (Ollama, LM Studio) answering on their default ports."""
    return tuple(s.preset for s in await find_local_servers(timeout, addresses))
