"""Crash durability of the request log (RELIABILITY D-01a, short version): kill -9 the gateway
while requests are in flight; afterwards the database is intact, every request that finished is
there, and the ones in flight are there too, as ``interrupted`` once Switchboard starts again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
from pathlib import Path

import aiohttp

from proxy.support.paths import Home
from tests.helpers import ACCESS_KEY, serve_subprocess
from tests.security import figures

CONFIG = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 60}}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}


def rows(db: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(conn.execute("SELECT id, status FROM requests"))


async def test_requests_in_flight_at_a_kill_are_interrupted_not_lost(tmp_path: Path) -> None:
    home, cfg = tmp_path / "home", tmp_path / "config.json"
    cfg.write_text(json.dumps(CONFIG))
    proc, base = serve_subprocess(home, cfg)
    headers = {"Authorization": f"Bearer {ACCESS_KEY}"}
    ids_done: list[str] = []
    ids_in_flight: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:
            for i in range(3):  # finished well before the kill
                body = {"model": "demo", "messages": [{"role": "user", "content": f"quick {i}"}], "max_tokens": 2}
                async with http.post(f"{base}/v1/chat/completions", json=body, headers=headers) as resp:
                    assert resp.status == 200
                    ids_done.append(resp.headers["x-request-id"])

            async def long_stream(i: int) -> None:
                body = {"model": "demo", "stream": True, "messages": [{"role": "user", "content": f"long {i} " * 30}]}
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.post(f"{base}/v1/chat/completions", json=body, headers=headers) as resp:
                        ids_in_flight.append(resp.headers["x-request-id"])
                        async for _ in resp.content:
                            pass

            streams = [asyncio.create_task(long_stream(i)) for i in range(5)]
            while len(ids_in_flight) < 5:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # past a log batch: the in_progress rows are on disk
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            await asyncio.gather(*streams)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    figures.add("crash_kills", source=__name__)
    db = Home.resolve(home).log_db
    after_kill = rows(db)
    figures.add("crash_integrity_ok")  # rows() checked it
    figures.add("crash_rows_lost", sum(after_kill.get(i) != "ok" for i in ids_done))
    assert all(after_kill.get(i) == "ok" for i in ids_done), after_kill
    assert all(after_kill.get(i) == "in_progress" for i in ids_in_flight), after_kill
    proc, _ = serve_subprocess(home, cfg)  # the next start marks them
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    after_restart = rows(db)
    assert all(after_restart[i] == "interrupted" for i in ids_in_flight), after_restart
    assert all(after_restart[i] == "ok" for i in ids_done)
    assert "in_progress" not in after_restart.values()


def test_a_damaged_log_database_is_moved_aside_and_a_new_one_started(tmp_path: Path) -> None:
    """RELIABILITY D-01f: the gateway starts and logs normally; nothing of the old file is lost."""
    home, cfg = tmp_path / "home", tmp_path / "config.json"
    cfg.write_text(json.dumps(CONFIG))
    db = Home.resolve(home).log_db
    db.parent.mkdir(parents=True, exist_ok=True)
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    proc, base = serve_subprocess(home, cfg)
    try:
        import urllib.request

        body = json.dumps({"model": "demo", "messages": [{"role": "user", "content": "after"}], "max_tokens": 2})
        req = urllib.request.Request(
            f"{base}/v1/chat/completions",
            data=body.encode(),
            headers={"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"},
        )
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy from the env
        with direct.open(req, timeout=30) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    aside = list(db.parent.glob(f"{db.name}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    assert "damaged" in err
    assert list(rows(db).values()) == ["ok"]
