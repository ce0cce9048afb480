"""The failure simulator as a hook: an armed fault stands in for the next upstream call of its
target (``routing/simulate.py`` keeps the armed faults and says what each one does)."""

from __future__ import annotations

from collections.abc import Awaitable

from proxy.domain.errors import UpstreamConnectError
from proxy.engine.snapshot import Snapshot
from proxy.providers.base import ProviderAdapter, UpstreamCall, UpstreamReply
from proxy.routing.resolve import Attempt
from proxy.routing.simulate import Simulator, cut_after_first_content, failure


class FailureSimulator:
    """Calls of a target with an armed fault fail on purpose, through the real attempt loop."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def on_attempt(
        self, snap: Snapshot, attempt: Attempt, adapter: ProviderAdapter, call: UpstreamCall
    ) -> Awaitable[UpstreamReply] | None:
        fault = self.simulator.take(attempt.provider, attempt.model)  # nothing armed: no lock, no coroutine
        if fault is None:
            return None
        return self._strike(fault, snap, attempt, adapter, call)

    async def _strike(
        self, fault: str, snap: Snapshot, attempt: Attempt, adapter: ProviderAdapter, call: UpstreamCall
    ) -> UpstreamReply:
        provider = snap.config.provider(attempt.provider)
        error = failure(fault, attempt.provider, provider.timeouts.first_token if provider else 0.0)
        if error is not None:
            raise error
        reply = await adapter.call(call)
        if reply.events is not None:
            return cut_after_first_content(reply, attempt.provider)
        raise UpstreamConnectError(attempt.provider, "connection dropped before the answer (simulated)")
