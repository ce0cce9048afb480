"""Dashboard aggregates over the request log, and the `stats` / `logs --csv` commands."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time

import pytest

from proxy.domain.records import RequestRecord
from proxy.storage.request_log import RequestLog
from proxy.storage.stats import buckets, totals
from proxy.support.paths import Home


def record(i: int, at: float, **fields: object) -> RequestRecord:
    base: dict[str, object] = {"surface": "chat", "status": "ok", "http_status": 200, "route": "fast", "provider": "a"}
    base.update(fields)
    return RequestRecord(id=f"r{i:04d}", started_at=at, **base)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path):
    path = Home.resolve(tmp_path).log_db
    log = RequestLog(path)
    log.start()
    now = time.time()
    records = [
        record(i, now - 3000 + i, latency_ms=float(i + 1), tokens_in=10, tokens_out=5, cost=0.01) for i in range(100)
    ]
    records += [
        record(200, now - 100, status="upstream_error", http_status=503, provider="b"),
        record(201, now - 90, status="cut", provider="b", latency_ms=900.0),
        record(202, now - 80, status="rejected", http_status=400, route=None, provider=None),
        record(203, now - 70, attempts=2, provider="b", latency_ms=50.0),
        record(204, now - 60, cache="hit", cost=0.0, cost_saved=0.02, latency_ms=1.0),
        record(205, now - 7200, latency_ms=5.0),  # outside a one-hour window
    ]
    for r in records:
        log.submit(r)
    assert log.flush(10)
    log.close()
    return path, now


def test_totals_by_route_and_provider(db) -> None:
    path, now = db
    (fast, *rest) = totals(path, now - 3600, "route")
    assert fast.group == "fast" and fast.requests == 104 and fast.errors == 2
    assert fast.fallbacks == 1 and fast.cache_hits == 1
    assert fast.percentile(50) == pytest.approx(50.0) and fast.percentile(95) == pytest.approx(95.0)  # nearest rank
    assert fast.cost == pytest.approx(1.0) and fast.cost_saved == pytest.approx(0.02)
    assert [(g.group, g.requests, g.rejected) for g in rest] == [("", 1, 1)]
    by_provider = {g.group: g for g in totals(path, now - 3600, "provider")}
    assert by_provider["b"].errors == 2 and by_provider["b"].fallbacks == 1


def test_time_buckets(db) -> None:
    path, now = db
    series = buckets(path, now - 3600, 600, "none")
    assert sum(b.requests for b in series) == 105
    assert [b.start for b in series] == sorted(b.start for b in series)
    assert all(now - 3600 <= b.start < now for b in series)


def test_stats_and_csv_commands(db, tmp_path) -> None:
    env = {**os.environ}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "proxy.cli",
            "stats",
            "--since",
            "1h",
            "--by",
            "route",
            "--json",
            "--home",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    groups = [json.loads(line) for line in out.stdout.splitlines()]
    assert groups[0]["group"] == "fast" and groups[0]["requests"] == 104 and groups[0]["p95_ms"] == 95.0
    out = subprocess.run(
        [sys.executable, "-m", "proxy.cli", "logs", "--csv", "-n", "5", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 5 and rows[0]["id"] and "cost" in rows[0]


def test_a_cost_nobody_knows_is_not_zero(tmp_path) -> None:
    """Tokens used but no price known: the bucket says so (``price_unknown``), in the stats and in
    the dashboard's read model; one priced request (even at $0) makes the cost known."""
    from proxy.api.dashboard import load

    path = Home.resolve(tmp_path).log_db
    log = RequestLog(path)
    log.start()
    now = time.time()
    log.submit(record(1, now - 30, route="mystery", tokens_in=100, tokens_out=20, cost=None))
    log.submit(record(2, now - 20, route="mystery", tokens_in=50, tokens_out=10, cost=None))
    log.submit(record(3, now - 10, route="empty", status="rejected", http_status=400, cost=None))
    assert log.flush(10)
    (mystery, empty) = totals(path, now - 3600, "route")
    assert (mystery.group, mystery.priced, mystery.cost) == ("mystery", 0, 0.0) and mystery.price_unknown
    assert empty.group == "empty" and not empty.price_unknown  # no tokens: nothing to price
    data = load(path, None, "hour", now)
    assert data.total.price_unknown and data.total.priced == 0 and data.total.requests == 3
    log.submit(record(4, now - 5, route="free", tokens_in=5, tokens_out=5, cost=0.0))  # the demo: known, free
    assert log.flush(10)
    log.close()
    data = load(path, None, "hour", now)
    assert not data.total.price_unknown and data.total.priced == 1
    assert {b.group: b.price_unknown for b in data.by_route} == {"mystery": True, "empty": False, "free": False}
