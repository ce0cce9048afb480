"""Snapshot: an immutable view of one config and the adapters built from it.

Each request captures the gateway's current snapshot when it starts and keeps it to the end;
applying a config builds a new snapshot (reusing the adapters, and so the connection pools, of
providers that did not change) and swaps it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from proxy.config.schema import GatewayConfig, ProviderConfig
from proxy.domain.presets import PRESETS
from proxy.domain.pricing import PriceRef, price_per_mtok
from proxy.providers.base import ProviderAdapter
from proxy.providers.registry import open_adapter
from proxy.routing.resolve import Attempt, Resolver
from proxy.storage.secrets import SecretResolver, SecretUnavailable


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the config and what was built from it."""

    config: GatewayConfig
    adapters: Mapping[str, ProviderAdapter]
    resolver: Resolver
    price_refs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    prices: Mapping[tuple[str, str], float | None] = field(default_factory=dict)
    """Dollars per 1M input + 1M output tokens of each route target (lowest-cost routing)."""

    def price_ref(self, attempt: Attempt) -> PriceRef | None:
        ref = self.price_refs.get(attempt.provider)
        return PriceRef(ref[0], ref[1], attempt.model) if ref else None

    def price(self, attempt: Attempt) -> float | None:
        return self.prices.get((attempt.provider, attempt.model))


def build_adapter(config: ProviderConfig, secrets: SecretResolver) -> ProviderAdapter:
    """The provider's adapter, with its key read from ``secrets`` (blocking: the keychain)."""
    key, problem = None, None
    if config.key is not None and PRESETS[config.preset].kind != "demo":
        try:
            key = secrets.resolve(config.key)
        except SecretUnavailable as exc:
            problem = str(exc)
    proxy_password = None
    if config.proxy_password is not None:  # issue 17: an authenticated forward proxy
        try:
            proxy_password = secrets.resolve(config.proxy_password)
        except SecretUnavailable as exc:
            problem = problem or f"its proxy password cannot be read: {exc}"
    return open_adapter(config, key, problem, proxy_password)


def build_snapshot(config: GatewayConfig, secrets: SecretResolver, previous: Snapshot | None = None) -> Snapshot:
    """Build adapters for ``config``, keeping those of unchanged providers from ``previous``.

    Blocking (keys may come from the keychain): call it off the event loop.
    """
    adapters: dict[str, ProviderAdapter] = {}
    for provider in config.providers:
        kept = previous.adapters.get(provider.id) if previous else None
        same = previous is not None and previous.config.provider(provider.id) == provider
        adapters[provider.id] = kept if kept is not None and same else build_adapter(provider, secrets)
    refs = {p.id: (p.preset, p.effective_base_url) for p in config.providers}
    prices: dict[tuple[str, str], float | None] = {}
    for route in config.routes:
        if route.strategy == "lowest-cost":
            for t in route.all_targets:
                if t.provider in refs:
                    prices[(t.provider, t.model)] = price_per_mtok(PriceRef(*refs[t.provider], t.model))
    return Snapshot(config, adapters, Resolver(config), refs, prices)
