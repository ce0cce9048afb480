"""The log writer thread meets an unexpected exception (RELIABILITY K-01a's "crash of the writer
thread", and I2): here pricing a record blows up, with a provider key in its message. Expected: the
writer survives, that record is still written (without a cost), every later request is logged,
and the key appears nowhere: not in the log output, not on stderr, not in the database."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from proxy.storage import request_log
from proxy.support.redact import install_log_redaction
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context
from tests.security import figures

KEY = "sk-writer-crash-canary-key-5Tq8Vw2Xy4Za6Bc"


async def test_the_writer_survives_an_exception_and_leaks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    real_cost = request_log.cost_usd
    blown: list[int] = []

    def cost_that_blows_up_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not blown:
            blown.append(1)
            raise RuntimeError(f"price table corrupted while using Authorization: Bearer {KEY}")
        return real_cost(*args, **kwargs)

    monkeypatch.setattr(request_log, "cost_usd", cost_that_blows_up_once)
    caplog.set_level(logging.INFO)
    install_log_redaction()  # as `switchboard serve` and the tray do, on the handlers present now
    async with FakeOpenAIUpstream(api_key=KEY) as upstream:
        config = {
            "providers": [{"id": "oa", "preset": "openai", "base_url": upstream.base_url, "key": {"env": "SB_CRASH"}}],
            "routes": [{"name": "gpt-4o-mini", "targets": [{"provider": "oa", "model": "gpt-4o-mini"}]}],
        }
        async with gateway_context(tmp_path, config, env={"SB_CRASH": KEY}) as ctx:
            async with aiohttp.ClientSession() as http:
                ids = []
                for i in range(6):
                    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"row {i}"}]}
                    async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as r:
                        assert r.status == 200
                        ids.append(r.headers["x-request-id"])
                    ctx.gateway.request_log.flush(5)  # one request per batch: the first batch is the one that blows up
            assert blown, "the fault was injected"
            rows = {r.id: r for r in ctx.rows()}
    out, err = capfd.readouterr()
    lost = sum(i not in rows for i in ids)
    figures.add("requests_lost", lost, source=__name__)
    texts = {"log records": caplog.text, "stdout": out, "stderr": err}
    with contextlib.closing(sqlite3.connect(ctx.gateway.home.log_db)) as conn:
        texts["database"] = repr(conn.execute("SELECT * FROM requests").fetchall())
    leaks = [where for where, text in texts.items() if KEY in text or KEY[10:-6] in text]
    figures.add("canary_scans", len(texts), source=__name__)
    figures.add("canary_bytes", sum(len(t) for t in texts.values()))
    figures.add("canary_leaks", len(leaks))
    assert lost == 0, f"{lost} of {len(ids)} requests have no log row after the writer's exception"
    assert rows[ids[0]].cost is None and all(rows[i].cost is not None for i in ids[1:])
    assert leaks == []
    assert "[REDACTED]" in caplog.text, "the failure was logged, redacted"
