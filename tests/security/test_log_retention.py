"""Request log retention (RELIABILITY D-02): rows older than ``logging.retention_days`` are deleted
when the gateway starts and on schedule after, in bounded batches while it keeps logging, and the
database file gives the space back instead of growing without bound."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from proxy.config.schema import GatewayConfig
from proxy.storage import request_log
from proxy.support.paths import Home
from tests.helpers import DEMO_CONFIG, gateway_context
from tests.security import figures

DAY = 86400.0
PADDING = "x" * 2000  # an old row with a captured body, so the file is big
OLD = 10_000


def seed(db: Path, ages_in_days: list[float], prefix: str) -> None:
    """Insert rows of the given ages through a connection of our own (as an older run left them)."""
    if not db.exists():
        request_log.open_db(db).conn.close()  # created (and migrated) as the gateway would
    now = time.time()
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn, conn:
        conn.executemany(
            "INSERT INTO requests (id, started_at, surface, status, http_status, request_body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(f"{prefix}-{i}", now - age * DAY, "chat", "ok", 200, PADDING) for i, age in enumerate(ages_in_days)],
        )


def ages(db: Path) -> list[float]:
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        now = time.time()
        return sorted((now - t) / DAY for (t,) in conn.execute("SELECT started_at FROM requests"))


async def wait_for(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_old_rows_are_purged_at_start_in_batches_and_the_file_shrinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_log, "PURGE_BATCHES_PER_TICK", 3)  # 3 000 rows, then the next write batch
    db = Home.resolve(tmp_path).log_db
    seed(db, [40.0] * OLD + [29.0] * 5 + [0.5] * 5, "seeded")
    size_before = db.stat().st_size
    config = {**DEMO_CONFIG, "logging": {"retention_days": 30}}
    async with gateway_context(tmp_path, config) as ctx:
        async with aiohttp.ClientSession() as http:  # logging goes on while the purge runs
            body = {"model": "demo", "messages": [{"role": "user", "content": "during the purge"}]}
            for _ in range(5):
                async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as r:
                    assert r.status == 200
        await wait_for(lambda: ctx.gateway.request_log.purged >= OLD)
        rows = ctx.rows(limit=100_000)
    remaining = ages(db)
    figures.add("retention_rows_purged", OLD - sum(a > 30 for a in remaining), source=__name__)
    assert max(remaining) < 30 and len(remaining) == 15, "the 40-day rows went; the rest (and new rows) stayed"
    assert sum(r.id.startswith("seeded") for r in rows) == 10 and len(rows) == 15
    size_after = db.stat().st_size
    print(f"log database {size_before / 1e6:.1f} MB -> {size_after / 1e6:.2f} MB after the purge")
    assert size_after < size_before / 4, (size_before, size_after)


async def test_purge_runs_on_schedule_and_follows_a_retention_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_log, "PURGE_SECONDS", 0.3)
    db = Home.resolve(tmp_path).log_db
    async with gateway_context(tmp_path, {**DEMO_CONFIG, "logging": {"retention_days": 30}}) as ctx:
        seed(db, [31.0] * 3 + [20.0] * 3 + [1.0] * 3, "later")  # written while the gateway runs
        await wait_for(lambda: max(ages(db)) < 30)
        assert len(ages(db)) == 6
        config = GatewayConfig.model_validate({**DEMO_CONFIG, "logging": {"retention_days": 7}})
        await ctx.gateway.apply_config(config)
        await wait_for(lambda: max(ages(db)) < 7)
        assert len(ages(db)) == 3
        assert ctx.gateway.request_log.purged == 6
