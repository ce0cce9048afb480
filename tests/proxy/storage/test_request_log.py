"""The request log: real SQLite on disk, one writer thread, batches, costs, readers apart."""

from __future__ import annotations

import sqlite3
import threading
import time

from proxy.domain.events import GatewayEvents, RequestLogged
from proxy.domain.pricing import PriceRef
from proxy.domain.records import RequestRecord
from proxy.storage import request_log
from proxy.storage.request_log import RequestLog, count_rows, last_rowid, read_recent, read_since


def record(i: int, **kw) -> RequestRecord:
    base = dict(
        id=f"r{i}", started_at=time.time(), surface="chat", status="ok", http_status=200, tokens_in=1000, tokens_out=100
    )
    return RequestRecord(**{**base, **kw})


def test_schema_wal_and_migrations(tmp_path):
    log = RequestLog(tmp_path / "log.db")
    log.start()
    log.close()
    conn = sqlite3.connect(tmp_path / "log.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(request_log.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = [r[1] for r in conn.execute("PRAGMA table_info(requests)")]
    assert set(cols) == set(RequestRecord.__dataclass_fields__)
    assert (tmp_path / "log.db").stat().st_mode & 0o077 == 0
    # reopening does not migrate again
    again = RequestLog(tmp_path / "log.db")
    again.start()
    again.close()


def test_rows_costs_and_events_from_the_writer_thread(tmp_path):
    events = GatewayEvents()
    seen: list[tuple[RequestLogged, str]] = []
    events.connect(lambda e: seen.append((e, threading.current_thread().name)))
    log = RequestLog(tmp_path / "log.db", events)
    log.start()
    log.submit(record(1), PriceRef("openai", "https://api.openai.com/v1", "gpt-4o-mini"))
    log.submit(record(2), PriceRef("openai", "https://api.openai.com/v1", "no-such-model-xyz"))
    log.submit(record(3), PriceRef("demo", "", "echo"))
    log.submit(record(4, tokens_in=None, tokens_out=None), PriceRef("openai", "https://api.openai.com/v1", "gpt-4o"))
    assert log.flush(5)
    rows = {r.id: r for r in read_recent(tmp_path / "log.db")}
    assert rows["r1"].cost is not None and abs(rows["r1"].cost - 0.00021) < 1e-9
    assert rows["r2"].cost is None, "unknown price is null, not 0"
    assert rows["r3"].cost == 0.0, "the demo provider is free"
    assert rows["r4"].cost is None, "no usage, no cost"
    assert [e.record.id for e, _ in seen] == ["r1", "r2", "r3", "r4"]
    assert {name for _, name in seen} == {"switchboard-log-writer"}
    log.close()


def test_many_rows_batched_and_followed(tmp_path):
    log = RequestLog(tmp_path / "log.db")
    log.start()
    start = last_rowid(tmp_path / "log.db")
    for i in range(1000):
        log.submit(record(i))
    assert log.flush(10)
    assert count_rows(tmp_path / "log.db") == 1000
    rows, cursor = read_since(tmp_path / "log.db", start, limit=2000)
    assert [r.id for r in rows] == [f"r{i}" for i in range(1000)]
    more, cursor2 = read_since(tmp_path / "log.db", cursor)
    assert more == [] and cursor2 == cursor
    assert [r.id for r in read_recent(tmp_path / "log.db", 3)] == ["r997", "r998", "r999"]
    log.close()


def test_full_queue_drops_and_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(request_log, "QUEUE_BOUND", 5)
    log = RequestLog(tmp_path / "log.db")  # writer not started: nothing drains the queue
    for i in range(8):
        log.submit(record(i))
    assert log.dropped == 3


def test_readers_on_a_missing_database(tmp_path):
    assert read_recent(tmp_path / "none.db") == []
    assert read_since(tmp_path / "none.db", 0) == ([], 0)
    assert last_rowid(tmp_path / "none.db") == 0


async def test_bodies_only_when_enabled_and_redacted(tmp_path):
    from tests.helpers import DEMO_CONFIG, gateway_context

    secret_prompt = "my key is sk-proj-canaryCANARYcanary1234567890"
    messages = [{"role": "user", "content": secret_prompt}]
    async with gateway_context(tmp_path / "off") as ctx:
        client = ctx.openai()
        await client.chat.completions.create(model="demo", messages=messages)
        await client.close()
        row = ctx.rows()[-1]
        assert row.request_body is None and row.response_body is None
        raw = b"".join(p.read_bytes() for p in (tmp_path / "off").rglob("requests.db*"))
        assert b"canaryCANARY" not in raw, "prompts are not stored by default"

    on = {**DEMO_CONFIG, "logging": {"store_bodies": True}}
    async with gateway_context(tmp_path / "on", on) as ctx:
        client = ctx.openai()
        await client.chat.completions.create(model="demo", messages=messages)
        stream = await client.chat.completions.create(model="demo", messages=messages, stream=True)
        async for _ in stream:
            pass
        await client.close()
        plain, streamed = ctx.rows()[-2:]
        assert '"role":"user"' in plain.request_body and "[REDACTED]" in plain.request_body
        assert "canaryCANARY" not in plain.request_body + plain.response_body + streamed.response_body
        assert "chat.completion.chunk" in streamed.response_body and "[DONE]" in streamed.response_body


# -- request log page (desktop): pages without bodies, one full row -------------------------------


def test_pages_go_back_in_time_without_bodies_and_one_row_has_them(tmp_path):
    path = tmp_path / "log.db"
    log = RequestLog(path)
    log.start()
    t0 = time.time() - 3600  # recent: older rows would be deleted by the 30-day retention
    for i in range(7):  # r5 and r6 start at the same time: the id breaks the tie
        log.submit(record(i, started_at=t0 + min(i, 5), request_body=f"req {i}", response_body=f"resp {i}"))
    assert log.flush(5)
    newest = request_log.read_page(path, 3)
    assert [r.id for r in newest] == ["r4", "r5", "r6"]
    assert all(r.request_body is None and r.response_body is None for r in newest)
    assert newest[0].tokens_in == 1000  # everything else is there
    older = request_log.read_page(path, 3, before=(newest[0].started_at, newest[0].id))
    assert [r.id for r in older] == ["r1", "r2", "r3"]
    tie = request_log.read_page(path, 10, before=(t0 + 5, "r6"))
    assert [r.id for r in tie][-2:] == ["r4", "r5"]
    assert [r.id for r in request_log.read_page(path, 10, before=(t0, "r0"))] == []
    full = request_log.read_record(path, "r5")
    assert full is not None and (full.request_body, full.response_body) == ("req 5", "resp 5")
    assert request_log.read_record(path, "nope") is None
    assert request_log.read_page(tmp_path / "missing.db", 5) == []
    assert request_log.read_record(tmp_path / "missing.db", "r1") is None
    log.close()
