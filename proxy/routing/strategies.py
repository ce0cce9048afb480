"""Routing strategies: pure functions from candidates (plus health and cost) to an order.

Every strategy returns all candidates, best first; the attempt loop (``Gateway.forward``) walks
the order, skipping targets whose breaker is open. A strategy never does I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    provider: str
    model: str
    weight: float = 1.0
    in_flight: int = 0
    ttft_ms: float | None = None
    """Moving average; ``None`` when never measured."""
    price: float | None = None
    """Dollars per million tokens (input + output); ``None`` when unknown."""


Order = Callable[..., list[Candidate]]


def fallback(candidates: Sequence[Candidate], **_: object) -> list[Candidate]:
    """In the configured order."""
    return list(candidates)


def weighted(candidates: Sequence[Candidate], *, rng: random.Random | None = None, **_: object) -> list[Candidate]:
    """Random order drawn by weight without replacement; weight-0 targets last (used only as fallbacks)."""
    rng = rng or random.Random()
    pool = [c for c in candidates if c.weight > 0]
    order = []
    while pool:
        total = sum(c.weight for c in pool)
        pick = rng.uniform(0, total)
        upto = 0.0
        for i, c in enumerate(pool):
            upto += c.weight
            if pick <= upto:
                order.append(pool.pop(i))
                break
        else:  # rounding at the very top of the range
            order.append(pool.pop())
    return order + [c for c in candidates if c.weight <= 0]


def round_robin(candidates: Sequence[Candidate], *, turn: int = 0, **_: object) -> list[Candidate]:
    """Rotate the start by ``turn`` (a per-route counter)."""
    if not candidates:
        return []
    k = turn % len(candidates)
    return list(candidates[k:]) + list(candidates[:k])


def least_busy(candidates: Sequence[Candidate], **_: object) -> list[Candidate]:
    """Fewest requests in flight first (ties keep the configured order)."""
    return sorted(candidates, key=lambda c: c.in_flight)


def lowest_latency(candidates: Sequence[Candidate], **_: object) -> list[Candidate]:
    """Lowest moving-average time to first token first; unmeasured targets go first (to measure them)."""
    return sorted(candidates, key=lambda c: -1.0 if c.ttft_ms is None else c.ttft_ms)


def lowest_cost(candidates: Sequence[Candidate], **_: object) -> list[Candidate]:
    """Cheapest known price first; unknown prices last."""
    return sorted(candidates, key=lambda c: (c.price is None, c.price or 0.0))


STRATEGIES: dict[str, Order] = {
    "fallback": fallback,
    "weighted": weighted,
    "round-robin": round_robin,
    "least-busy": least_busy,
    "lowest-latency": lowest_latency,
    "lowest-cost": lowest_cost,
}
