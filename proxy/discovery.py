"""Finding local model servers (Ollama, LM Studio) for the zero-config default."""

from __future__ import annotations

import asyncio

import aiohttp

from proxy.presets import PRESETS


async def discover_local_servers(timeout: float = 0.5) -> tuple[str, ...]:
    """Presets of local model servers (Ollama, LM Studio) answering on their default ports."""

    async def probe(session: aiohttp.ClientSession, preset: str) -> str | None:
        url = f"{PRESETS[preset].base_url}/models"
        try:
            async with session.get(url, allow_redirects=False) as resp:
                return preset if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None

    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout, trust_env=False) as session:
        found = await asyncio.gather(probe(session, "ollama"), probe(session, "lmstudio"))
    return tuple(p for p in found if p)
