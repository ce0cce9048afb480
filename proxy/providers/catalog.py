"""A provider's model ids for ``/v1/models``: the configured list, else the upstream's own."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import orjson

from proxy.config.schema import ProviderConfig
from proxy.providers.transport import MODELS_CAP, Transport, describe

log = logging.getLogger(__name__)

MODELS_CACHE_SECONDS = 300.0
ASK_TIMEOUT = 3.0
"""How long ``/v1/models`` waits for one provider's list."""


class ModelCatalog:
    """Model ids of one provider, asked over its transport at most every five minutes.

    Args:
        ask: ``False`` when the upstream's own list is not what routes name (Azure lists models,
            but routes name deployments): then only the configured ids are offered.
    """

    def __init__(self, config: ProviderConfig, transport: Transport, *, ask: bool = True) -> None:
        self._configured = list(config.models)
        self._ask = ask and not config.models
        self._transport = transport
        self._cached: tuple[float, list[str]] | None = None

    async def ids(self) -> list[str]:
        """The configured ids if any, else the upstream's (``[]`` when it cannot be asked or read)."""
        if not self._ask:
            return list(self._configured)
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < MODELS_CACHE_SECONDS:
            return self._cached[1]
        ids: list[str] = []
        if not self._transport.has_key_problem:
            try:
                async with asyncio.timeout(ASK_TIMEOUT):
                    status, body = await self._transport.get("models", MODELS_CAP)
                if status == 200:
                    data = orjson.loads(body)
                    ids = [m["id"] for m in data.get("data", []) if isinstance(m.get("id"), str)]
                    ids += [  # Gemini's own list: {"models": [{"name": "models/gemini-2.5-flash"}]}
                        m["name"].removeprefix("models/")
                        for m in data.get("models", [])
                        if isinstance(m.get("name"), str)
                    ]
            except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError, AttributeError, TypeError) as exc:
                log.info("could not list models of provider %s: %s", self._transport.provider_id, describe(exc))
        self._cached = (now, ids)
        return ids
