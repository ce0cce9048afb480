"""Limits and budgets as a hook: refuse a request over its key's or route's limit, count its tokens
when it ends and its spend once it is priced (the counts are kept in a ``LimitStore``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from proxy.config.schema import GatewayConfig
from proxy.config.schema import Limits as LimitsConfig
from proxy.domain.events import BudgetThreshold, GatewayEvents
from proxy.domain.exchange import Exchange
from proxy.domain.pricing import cost_usd
from proxy.domain.records import RequestRecord
from proxy.engine.hooks.base import ModelRequest
from proxy.engine.snapshot import Snapshot
from proxy.routing.limits import LimitKeeper, LimitStore, is_unlimited
from proxy.routing.resolve import Resolution
from proxy.storage.request_log import month_spend
from proxy.support.threads import in_thread


class Limits:
    """Per access key and per route: requests and tokens per minute, money per day and month."""

    def __init__(
        self,
        events: GatewayEvents,
        log_db: Path,
        config: Callable[[], GatewayConfig | None],
        store: Callable[[], LimitStore] = LimitKeeper,
    ) -> None:
        """Args:
        config: the config in force (budgets are read from it when spend is added).
        store: makes the store of the counts, afresh at each start.
        """
        self.events = events
        self.log_db = log_db
        self.config = config
        self.new_store = store
        self.store: LimitStore = store()

    async def start(self, config: GatewayConfig) -> None:
        """A fresh store, with this month's spend read back from the log (so budgets survive a
        restart, and a start after a failed one counts it once); thresholds already crossed are
        not reported again."""
        self.store = self.new_store()
        if not getattr(self.store, "shared", False):  # a shared store (Redis) keeps spend itself
            await in_thread(self._load_spend, config)
        self.store.on_threshold = self._on_budget

    def on_request(
        self, ex: Exchange, snap: Snapshot, resolution: Resolution, request: ModelRequest
    ) -> Awaitable[None] | None:
        scopes = []
        if ex.client is not None:
            key_limits = snap.config.key_limits.get(ex.client)
            if key_limits is not None and not is_unlimited(key_limits):
                scopes.append((f"key:{ex.client}", key_limits))
        if resolution.route is not None and not is_unlimited(resolution.policy.limits):
            scopes.append((f"route:{resolution.route}", resolution.policy.limits))
        return self.store.admit(scopes) if scopes else None  # no limits: nothing to await

    def on_ended(self, ex: Exchange, record: RequestRecord) -> None:
        tokens = (record.tokens_in or 0) + (record.tokens_out or 0)
        if tokens and record.cache != "hit":  # a cached answer used no tokens
            if record.client is not None:
                self.store.add_tokens(f"key:{record.client}", tokens)
            if record.route is not None:
                self.store.add_tokens(f"route:{record.route}", tokens)
            if getattr(self.store, "shared", False) and ex.price is not None:
                # A shared store counts spend as the request ends, not once the log priced it: the
                # other replicas see it a log batch sooner, so a budget overshoots by less.
                cost = cost_usd(
                    ex.price, record.tokens_in, record.tokens_out, record.tokens_cached, record.tokens_cache_write
                )
                if cost and (config := self.config()) is not None:
                    self._count_spend(config, record.client, record.route, cost, record.started_at)

    def on_logged(self, record: RequestRecord) -> None:
        config = self.config()
        if record.cost and config is not None and not getattr(self.store, "shared", False):
            self._count_spend(config, record.client, record.route, record.cost, record.started_at)

    def _count_spend(self, config: GatewayConfig, client: str | None, route: str | None, usd: float, at: float) -> None:
        if client is not None:
            self.store.add_spend(f"key:{client}", usd, config.key_limits.get(client, LimitsConfig()), at)
        if route is not None:
            route_config = next((r for r in config.routes if r.name == route), None)
            self.store.add_spend(f"route:{route}", usd, route_config.limits if route_config else LimitsConfig(), at)

    def _load_spend(self, config: GatewayConfig) -> None:
        """Spend this month (by key, route and day) from the log."""
        for client, route, day_start, usd in month_spend(self.log_db):
            self._count_spend(config, client, route, usd, day_start)

    def _on_budget(self, scope: str, period: str, fraction: float, spent: float) -> None:
        self.events.emit(BudgetThreshold(scope, period, fraction, spent))
