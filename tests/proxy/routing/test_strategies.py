"""Routing strategies are pure functions: candidates (+ health, cost) in, an order out."""

from __future__ import annotations

import random
from collections import Counter

from proxy.routing.strategies import (
    Candidate,
    fallback,
    least_busy,
    lowest_cost,
    lowest_latency,
    round_robin,
    weighted,
)

A, B, C = Candidate("a", "m"), Candidate("b", "m"), Candidate("c", "m")


def names(order):
    return [c.provider for c in order]


def test_fallback_keeps_order():
    assert names(fallback([A, B, C])) == ["a", "b", "c"]


def test_round_robin_rotates():
    assert [names(round_robin([A, B, C], turn=t))[0] for t in range(4)] == ["a", "b", "c", "a"]
    assert round_robin([], turn=3) == []


def test_least_busy_lowest_latency_lowest_cost():
    busy = [Candidate("a", "m", in_flight=3), Candidate("b", "m", in_flight=0), Candidate("c", "m", in_flight=3)]
    assert names(least_busy(busy)) == ["b", "a", "c"]
    timed = [Candidate("a", "m", ttft_ms=300), Candidate("b", "m", ttft_ms=None), Candidate("c", "m", ttft_ms=100)]
    assert names(lowest_latency(timed)) == ["b", "c", "a"], "unmeasured first, so it gets measured"
    priced = [Candidate("a", "m", price=5.0), Candidate("b", "m", price=None), Candidate("c", "m", price=0.5)]
    assert names(lowest_cost(priced)) == ["c", "a", "b"], "unknown prices last"


def test_weighted_follows_weights_within_tolerance():
    rng = random.Random(1234)
    cands = [Candidate("a", "m", weight=1), Candidate("b", "m", weight=3), Candidate("c", "m", weight=0)]
    firsts = Counter(names(weighted(cands, rng=rng))[0] for _ in range(20_000))
    assert firsts["c"] == 0, "weight 0 is never picked first"
    assert abs(firsts["b"] / 20_000 - 0.75) < 0.02
    order = names(weighted(cands, rng=rng))
    assert sorted(order) == ["a", "b", "c"] and order[-1] == "c", "every target stays available as a fallback"
