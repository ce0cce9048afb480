"""The gateway's features as hooks (see ``hooks/base.py`` for the points), and the one list of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from proxy.cache.store import SqliteCacheStore
from proxy.config.schema import GatewayConfig
from proxy.domain.events import GatewayEvents
from proxy.engine.hooks.base import Hooks, ModelRequest
from proxy.engine.hooks.cache import Cache
from proxy.engine.hooks.limits import Limits
from proxy.engine.hooks.simulator import FailureSimulator
from proxy.engine.hooks.telemetry import Telemetry
from proxy.engine.metrics import Metrics
from proxy.routing.simulate import Simulator

__all__ = ["Cache", "FailureSimulator", "Hooks", "Limits", "Metrics", "ModelRequest", "Telemetry", "default_hooks"]


def default_hooks(
    *,
    events: GatewayEvents,
    log_db: Path,
    cache_db: Path,
    config: Callable[[], GatewayConfig | None],
    simulator: Simulator,
    metrics: Metrics,
) -> Hooks:
    """The features every gateway runs. Order is behaviour (each point calls its hooks in it):

    0. ``Telemetry`` first, so it sees every request and every attempt (later hooks may answer or
       stand in for them); it only notes, and does nothing at all unless OTLP export is on.
    1. ``Limits`` first: a request over a limit is refused before anything else is done for it, and
       a request the cache answers still counts against its key's and route's request limits.
    2. ``FailureSimulator``: per attempt only, so after every request-level decision.
    3. ``Cache``: answers early only what the limits let through; stores what was forwarded.
    4. ``Metrics``: observes the logged record; independent of the others (it only reads).
    """
    return Hooks(
        [
            Telemetry(),
            Limits(events, log_db, config),
            FailureSimulator(simulator),
            Cache(SqliteCacheStore(cache_db)),
            metrics,
        ]
    )
