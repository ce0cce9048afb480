"""Connect completes the job: the gateway must answer the model names a tool sends.

Claude Code sends its own names (``claude-sonnet-4-5-20250929``, ``claude-opus-4-1-…``, and for its
background work ``claude-3-5-haiku-…``). :func:`claude_route_offer` says whether the config in
force answers them and, when it does not, offers one glob route (``claude-*``, matching every
family by prefix) to the user's chosen route, shown before it is saved as a config version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proxy.config.schema import GatewayConfig
from proxy.connect.docs import ConnectError
from proxy.connect.tools import CLAUDE_CODE_MODELS
from proxy.routing.resolve import Resolver

CLAUDE_ROUTE = "claude-*"


def default_model(config: GatewayConfig) -> str | None:
    """The user's default model: the config's ``default_route``, else its first enabled named route."""
    if config.default_route:
        return config.default_route
    return next((r.name for r in config.routes if r.enabled and not r.is_pattern), None)


def unanswered(config: GatewayConfig, models: tuple[str, ...] = CLAUDE_CODE_MODELS) -> tuple[str, ...]:
    """The names in ``models`` no enabled route (or the default route) takes."""
    resolver = Resolver(config)
    return tuple(m for m in models if resolver.resolve(m) is None)


@dataclass(frozen=True)
class RouteOffer:
    """A route to add so a tool's model names are answered."""

    route: dict[str, Any]
    """The new route, as config data."""
    target: str
    missing: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"Claude Code's model names go to {self.target}"

    @property
    def description(self) -> str:
        """For people, before saving."""
        return (
            f"No route takes Claude Code's model names yet ({', '.join(self.missing)}). Add the route "
            f"{self.route['name']!r} (opus, sonnet and haiku, matched by prefix) sending them to {self.target}?"
        )

    def mutate(self, data: dict[str, Any]) -> None:
        """Add the route to a config's plain data (for ``update_config``)."""
        routes = data.setdefault("routes", [])
        if any(r.get("name") == self.route["name"] for r in routes):
            raise ValueError(f"there is a route named {self.route['name']!r} already")
        routes.append(dict(self.route))


def claude_route_offer(config: GatewayConfig, target: str | None = None) -> RouteOffer | None:
    """``None`` when Claude Code's names are answered already; else the route to add, to ``target``
    (a route name; by default the user's default model)."""
    missing = unanswered(config)
    if not missing:
        return None
    chosen = target or default_model(config)
    route = next((r for r in config.routes if r.name == chosen), None)
    if chosen is None or route is None:
        raise ConnectError("There is no route to send Claude Code to yet: add a provider and a route first.")
    if any(r.name == CLAUDE_ROUTE for r in config.routes):
        raise ConnectError(f"The route {CLAUDE_ROUTE!r} exists but is off: turn it on on the Routing page.")
    copied = route.model_dump(mode="json", include={"targets", "variants", "strategy", "sticky", "triggers"})
    new = {
        **copied,
        "name": CLAUDE_ROUTE,
        "description": f"Claude Code (opus, sonnet, haiku) → {chosen}; added by Connect",
    }
    check: Callable[[dict[str, Any]], None] = RouteOffer(new, chosen, missing).mutate
    data = config.model_dump(mode="json")
    check(data)
    GatewayConfig.model_validate(data)  # a route that would not load is never offered
    return RouteOffer(new, chosen, missing)
