"""Prices: the per-token rates cached per model give what genai-prices gives, for every model of
the providers Switchboard knows by id; tiered prices still go through genai-prices."""

from __future__ import annotations

import pytest
from genai_prices import data_snapshot
from genai_prices.types import TieredPrices

from proxy.domain import pricing
from proxy.domain.pricing import PriceRef, cost_usd

USAGES = [(1234, 567, None, None), (90_000, 2_000, 60_000, None), (5_000, 100, 1_000, 3_000), (0, 10, None, None)]
PRESET_OF = {"openai": "openai", "anthropic": "anthropic", "google": "gemini", "groq": "groq", "mistral": "mistral"}


def _models():
    snapshot = data_snapshot.get_snapshot()
    for provider in snapshot.providers:
        if provider.id in PRESET_OF:
            for model in provider.models:
                yield PRESET_OF[provider.id], model.id


@pytest.mark.parametrize(("preset", "model"), list(_models()))
def test_cached_rates_agree_with_genai_prices(preset, model):
    ref = PriceRef(preset, "", model)
    for tokens_in, tokens_out, cached, written in USAGES:
        try:
            expected = pricing._calc(ref, tokens_in, tokens_out, cached, written)
        except (LookupError, ValueError):
            continue  # genai-prices cannot price this usage; cost_usd says None (checked below)
        got = cost_usd(ref, tokens_in, tokens_out, cached, written)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (model, tokens_in, tokens_out, cached, written)


def test_tiered_prices_are_not_cached_as_rates():
    snapshot = data_snapshot.get_snapshot()
    tiered = [
        (provider.id, model.id)
        for provider in snapshot.providers
        if provider.id in PRESET_OF
        for model in provider.models
        if not isinstance(model.prices, list) and any(isinstance(v, TieredPrices) for v in vars(model.prices).values())
    ]
    assert tiered, "no tiered model left in genai-prices' data: this test checks nothing"
    provider_id, model_id = tiered[0]
    ref = PriceRef(PRESET_OF[provider_id], "", model_id)
    assert pricing._rates(ref, 0) is None
    assert pricing.cost_now(ref, 400_000, 1_000, None) is ...  # tiered: genai-prices, off the loop
    over_tier = cost_usd(ref, 400_000, 1_000, None)
    assert over_tier == pytest.approx(pricing._calc(ref, 400_000, 1_000, None))


def test_unknown_model_and_local_presets():
    assert cost_usd(PriceRef("openai", "", "no-such-model-xyz"), 10, 10, None) is None
    assert cost_usd(PriceRef("ollama", "http://127.0.0.1:11434/v1", "llama3"), 10, 10, None) == 0.0


def test_cost_now_answers_from_cached_rates_only():
    """On the event loop: an answer only when it costs microseconds, else ``...`` (price it off the loop)."""
    ref = PriceRef("openai", "", "gpt-4o-mini")
    pricing._RATES.clear()
    assert pricing.cost_now(ref, 1000, 100, None) is ...
    expected = cost_usd(ref, 1000, 100, None)  # fills the rates
    assert pricing.cost_now(ref, 1000, 100, None) == pytest.approx(expected)
    assert pricing.cost_now(PriceRef("ollama", "", "llama3"), 10, 10, None) == 0.0
    assert pricing.cost_now(ref, None, None, None) is None
