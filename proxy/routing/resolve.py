"""Model resolution: the one place a requested model becomes a route and its candidate targets.

Rules, in order:

1. ``model`` equals the name of an enabled route: that route.
2. ``provider/model`` where ``provider`` is an enabled provider id: that provider, directly
   (OpenRouter style; the rest of the name, slashes included, is the upstream model), with the
   default policies.
3. ``model`` matches an enabled glob route (``claude-*haiku*``), the first in config order.
4. The ``default_route``, when one is set.
5. Anything else: not found (the caller answers 404 and says how to list models).

Strategies (``routing/strategies.py``) order the candidates; the attempt loop
(``routing/attempts.py``) walks them.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from proxy.config.schema import GatewayConfig, RouteConfig

DIRECT = RouteConfig.model_validate({"name": "direct", "targets": [{"provider": "direct", "model": "direct"}]})
"""The policies (defaults) used for ``provider/model`` requests."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One place to send the request."""

    provider: str
    model: str
    weight: float = 1.0
    max_concurrent: int | None = None
    queue_timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a requested model goes."""

    route: str | None
    """The route name, or ``None`` for a direct ``provider/model`` request."""
    attempts: tuple[Attempt, ...]
    policy: RouteConfig
    """Strategy, triggers, retries and cooldown for this request."""
    variant: str | None = None
    """The A/B variant chosen for this request."""
    variants: tuple[tuple[str, float, tuple[Attempt, ...]], ...] = ()
    """An A/B split still to decide: (name, weight, attempts) per variant."""

    def for_client(self, sticky_id: str) -> Resolution:
        """Pick this client's variant: a hash of the route and the client, so it is stable across
        requests and restarts, spread by the variants' weights."""
        if not self.variants:
            return self
        digest = hashlib.sha256(f"{self.route}\0{sticky_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * sum(w for _, w, _ in self.variants)
        upto = 0.0
        for name, weight, attempts in self.variants:
            upto += weight
            if point < upto and weight > 0:
                return Resolution(self.route, attempts, self.policy, name)
        name, _, attempts = next(v for v in reversed(self.variants) if v[1] > 0)
        return Resolution(self.route, attempts, self.policy, name)


class Resolver:
    """Precomputed lookup tables for one config snapshot."""

    def __init__(self, config: GatewayConfig) -> None:
        enabled = {p.id for p in config.providers if p.enabled}
        self._providers = frozenset(enabled)

        def usable(targets: list[Any]) -> tuple[Attempt, ...]:
            return tuple(
                Attempt(t.provider, t.model, t.weight, t.max_concurrent, t.queue_timeout)
                for t in targets
                if t.provider in enabled
            )

        def resolution(r: RouteConfig) -> Resolution:
            if r.variants:
                variants = tuple((v.name, v.weight, usable(v.targets)) for v in r.variants)
                live = tuple(v for v in variants if v[2])
                first = live[0][2] if live else ()
                return Resolution(r.name, first, r, variants=live)
            return Resolution(r.name, usable(r.targets), r)

        live = [r for r in config.routes if r.enabled]
        self._exact: Mapping[str, Resolution] = {r.name: resolution(r) for r in live if not r.is_pattern}
        self._patterns = [(r.name, resolution(r)) for r in live if r.is_pattern]
        default = next((r for r in live if r.name == config.default_route), None)
        self._default = resolution(default) if default is not None else None
        self.routes: tuple[RouteConfig, ...] = tuple(live)

    def resolve(self, model: str) -> Resolution | None:
        found = self._exact.get(model)
        if found is not None:
            return found if found.attempts else None
        provider, sep, upstream_model = model.partition("/")
        if sep and upstream_model and provider in self._providers:
            return Resolution(None, (Attempt(provider, upstream_model),), DIRECT)
        for pattern, res in self._patterns:
            if fnmatch.fnmatchcase(model, pattern):
                return res if res.attempts else None
        if self._default is not None and self._default.attempts:
            return self._default
        return None
