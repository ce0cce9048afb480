"""Request cost from genai-prices (maintained price data, works offline).

Costs are computed on the log writer thread, never on the event loop. A model whose price is
unknown costs ``None`` (not 0). Models served by the demo provider or a local server cost 0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from proxy.domain.presets import PRESETS

# Our preset id -> genai-prices provider id, where they differ or exist.
_PROVIDER_IDS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "openrouter": "openrouter",
    "groq": "groq",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "xai": "x-ai",
    "together": "together",
    "huggingface": "huggingface",
    "gemini": "google",
    "gemini-openai": "google",
}


@dataclass(frozen=True, slots=True)
class PriceRef:
    """What identifies a price: which kind of provider, where, and which model."""

    preset: str
    base_url: str
    model: str


@functools.lru_cache(maxsize=512)
def _is_known(ref: PriceRef) -> bool:
    try:
        _calc(ref, 1, 1, None)
    except LookupError:
        return False
    return True


def _calc(ref: PriceRef, tokens_in: int, tokens_out: int, cached: int | None, written: int | None = None) -> float:
    provider_id = _PROVIDER_IDS.get(ref.preset)
    usage = PriceUsage(
        input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=cached, cache_write_tokens=written or None
    )
    if provider_id:
        result = calc_price(usage, model_ref=ref.model, provider_id=provider_id)
    else:
        result = calc_price(usage, model_ref=ref.model, provider_api_url=ref.base_url)
    return float(result.total_price)


def cost_usd(
    ref: PriceRef | None,
    tokens_in: int | None,
    tokens_out: int | None,
    cached: int | None,
    cache_write: int | None = None,
) -> float | None:
    """Dollars for one request, or ``None`` when the price or the usage is unknown. ``tokens_in``
    counts every input token; ``cached`` (reads) and ``cache_write`` are the parts of it priced
    at the provider's cache rates."""
    if ref is None or (tokens_in is None and tokens_out is None):
        return None
    preset = PRESETS.get(ref.preset)
    if preset is not None and preset.local:
        return 0.0
    if not _is_known(ref):
        return None
    try:
        return _calc(ref, tokens_in or 0, tokens_out or 0, cached, cache_write)
    except (LookupError, ValueError):
        return None


@functools.lru_cache(maxsize=1024)
def price_per_mtok(ref: PriceRef) -> float | None:
    """Dollars for one million input plus one million output tokens (for lowest-cost routing)."""
    return cost_usd(ref, 1_000_000, 1_000_000, None)
