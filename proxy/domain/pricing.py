"""Request cost from genai-prices (maintained price data, works offline).

Costs are computed on the log writer thread, never on the event loop. A model whose price is
unknown costs ``None`` (not 0). Models served by the demo provider or a local server cost 0.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from types import EllipsisType

from genai_prices import Usage as PriceUsage
from genai_prices import calc_price
from genai_prices.types import PriceCalculation, TieredPrices

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


def _price(ref: PriceRef, usage: PriceUsage) -> PriceCalculation:
    provider_id = _PROVIDER_IDS.get(ref.preset)
    if provider_id:
        return calc_price(usage, model_ref=ref.model, provider_id=provider_id)
    return calc_price(usage, model_ref=ref.model, provider_api_url=ref.base_url)


def _calc(ref: PriceRef, tokens_in: int, tokens_out: int, cached: int | None, written: int | None = None) -> float:
    usage = PriceUsage(
        input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=cached, cache_write_tokens=written or None
    )
    return float(_price(ref, usage).total_price)


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
    rates = _rates(ref, _period())
    if rates is not None:
        return rates.cost(tokens_in or 0, tokens_out or 0, cached or 0, cache_write or 0)
    try:
        return _calc(ref, tokens_in or 0, tokens_out or 0, cached, cache_write)
    except (LookupError, ValueError):
        return None


def cost_now(
    ref: PriceRef | None,
    tokens_in: int | None,
    tokens_out: int | None,
    cached: int | None,
    cache_write: int | None = None,
) -> float | None | EllipsisType:
    """:func:`cost_usd` when it costs microseconds (the model's rates are cached, or it is free),
    else ``...``: then call :func:`cost_usd` off the event loop (its first call per model asks
    genai-prices, about a millisecond)."""
    if ref is None or (tokens_in is None and tokens_out is None):
        return None
    preset = PRESETS.get(ref.preset)
    if preset is not None and preset.local:
        return 0.0
    rates = _RATES.get((ref, _period()), ...)
    if rates is ...:
        return ...
    if rates is None:
        return ... if _is_known(ref) else None  # tiered: genai-prices every time
    return rates.cost(tokens_in or 0, tokens_out or 0, cached or 0, cache_write or 0)


def _period() -> int:
    return int(time.time() // RATES_SECONDS)


RATES_SECONDS = 3600
"""How long per-token rates are reused: prices that change at a date take effect within this."""
_MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class _Rates:
    """A model's linear price per token (and per request), read from genai-prices once: pricing a
    log row this way costs about a microsecond instead of genai-prices' ~150 µs per call, time the
    log writer spent holding the GIL the event loop needs (issue 21)."""

    per_request: float
    per_input: float
    per_output: float
    per_cache_read: float
    per_cache_write: float

    def cost(self, tokens_in: int, tokens_out: int, cached: int, written: int) -> float:
        plain = max(tokens_in - cached - written, 0)
        return (
            self.per_request
            + plain * self.per_input
            + cached * self.per_cache_read
            + written * self.per_cache_write
            + tokens_out * self.per_output
        )


_RATES: dict[tuple[PriceRef, int], _Rates | None] = {}
"""(ref, period) -> rates; bounded by :data:`_RATES_MAX` (cleared when full: it refills in a request each)."""
_RATES_MAX = 512


def _rates(ref: PriceRef, period: int) -> _Rates | None:
    """The per-token rates of ``ref`` in this ``period`` (an hour), or ``None`` when its price is
    not linear in the token counts (tiered prices: those go through genai-prices every time)."""
    key = (ref, period)
    try:
        return _RATES[key]
    except KeyError:
        pass
    if len(_RATES) >= _RATES_MAX:
        _RATES.clear()
    _RATES[key] = rates = _linear_rates(ref)
    return rates


def _linear_rates(ref: PriceRef) -> _Rates | None:
    try:
        base = _price(ref, PriceUsage(input_tokens=0, output_tokens=0))
        if any(isinstance(v, TieredPrices) for v in vars(base.model_price).values()):
            return None
        request = float(base.total_price)

        def rate(tokens_in: int, tokens_out: int, cached: int | None, written: int | None) -> float:
            return (_calc(ref, tokens_in, tokens_out, cached, written) - request) / _MTOK

        return _Rates(
            request,
            rate(_MTOK, 0, None, None),
            rate(0, _MTOK, None, None),
            rate(_MTOK, 0, _MTOK, None),
            rate(_MTOK, 0, None, _MTOK),
        )
    except (LookupError, ValueError):
        return None


@functools.lru_cache(maxsize=1024)
def price_per_mtok(ref: PriceRef) -> float | None:
    """Dollars for one million input plus one million output tokens (for lowest-cost routing)."""
    return cost_usd(ref, 1_000_000, 1_000_000, None)
