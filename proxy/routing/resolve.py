"""Model resolution: the one place a requested model becomes an ordered list of attempts.

Rules, in order:

1. ``model`` equals the name of an enabled route: that route's targets, in order.
2. ``provider/model`` where ``provider`` is an enabled provider id: that provider, directly
   (OpenRouter style; the rest of the name, slashes included, is the upstream model).
3. Anything else: not found (the caller answers 404 and says how to list models).

Strategies, retries and fallback triggers (a later layer) reorder and filter this list; the
list itself is built only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proxy.config import GatewayConfig, RouteConfig


@dataclass(frozen=True, slots=True)
class Attempt:
    """One place to send the request."""

    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a requested model goes."""

    route: str | None
    """The route name, or ``None`` for a direct ``provider/model`` request."""
    attempts: tuple[Attempt, ...]


class Resolver:
    """Precomputed lookup tables for one config snapshot."""

    def __init__(self, config: GatewayConfig) -> None:
        enabled = {p.id for p in config.providers if p.enabled}
        self._providers = frozenset(enabled)
        self._routes: Mapping[str, Resolution] = {
            r.name: Resolution(r.name, tuple(Attempt(t.provider, t.model) for t in r.targets if t.provider in enabled))
            for r in config.routes
            if r.enabled
        }
        self.routes: tuple[RouteConfig, ...] = tuple(r for r in config.routes if r.enabled)

    def resolve(self, model: str) -> Resolution | None:
        found = self._routes.get(model)
        if found is not None:
            return found if found.attempts else None
        provider, sep, upstream_model = model.partition("/")
        if sep and upstream_model and provider in self._providers:
            return Resolution(None, (Attempt(provider, upstream_model),))
        return None
