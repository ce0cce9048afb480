"""Soak (RELIABILITY F-10b, issue 9 item 7): mixed traffic at a steady rate, with flat memory,
descriptors and latency and not one lost log row.

The gateway runs as its own process (``switchboard serve``), so its resident memory and open file
descriptors are its own. For ``SWITCHBOARD_SOAK_SECONDS`` (CI: 60 s; the long suite: 1800 s) the
test sends ``SWITCHBOARD_SOAK_RPS`` requests a second (default 8), cycling through: Chat
Completions and Anthropic Messages, streamed and not, on a route whose first target sits behind
the fault proxy (resets, truncation, garbage, stalls, latency at random bytes) and falls back to a
healthy one; a cached route asked the same ten questions over and over; and a clean route whose
latency is the steady-state measure. Every answer is checked: the exact text, or an explicit
error (a cut stream ends with an error event, never silently).

Each interval the gateway's RSS, open FDs and the clean requests' p99 are sampled. Expected:
the last third's RSS is within 20 MiB of the first third's; with traffic stopped the FD count is
back to where it was after the warm-up (give or take the pooled keep-alive connections); the last
third's p99 is no worse than twice the first's plus 100 ms; every request sent has exactly one
terminal row in the log, and no stream was silently truncated.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import pytest

from proxy.support.paths import Home
from tests.fakes.fault_proxy import FaultProxy
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import ACCESS_KEY, serve_subprocess
from tests.security import figures

SECONDS = float(os.environ.get("SWITCHBOARD_SOAK_SECONDS", "60"))
RATE = float(os.environ.get("SWITCHBOARD_SOAK_RPS", "8"))
WARMUP = min(5.0, SECONDS / 6)
INTERVAL = max(2.0, SECONDS / 30)
KEY = "sk-soak-upstream-key-0000000000000000"
WEIGHTS = {"pass": 6.0, "latency": 1.0, "reset": 1.0, "truncate": 1.0, "garbage": 0.5, "stall": 0.3}
KINDS = ("chat", "chat_stream", "messages", "messages_stream", "cached", "probe", "probe_stream", "probe")
QUESTIONS = [f"cached question {n}" for n in range(10)]
TERMINAL = {"ok", "upstream_error", "timeout", "client_cancelled", "cut", "rejected", "error", "interrupted"}


class Upstreams:
    """The fake upstream and the fault proxy in front of it, on their own thread and loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.upstream = FakeOpenAIUpstream(api_key=KEY, chunks=6, record=False)
        self.proxy: FaultProxy | None = None

    def _run(self, coro) -> asyncio.Future:  # type: ignore[no-untyped-def]
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def _start(self) -> None:
        await self.upstream.start()
        self.proxy = FaultProxy("127.0.0.1", self.upstream.port, seed=20261124, weights=WEIGHTS)
        await self.proxy.__aenter__()

    async def _stop(self) -> None:
        assert self.proxy is not None
        await self.proxy.__aexit__(None, None, None)
        await self.upstream.close()

    async def __aenter__(self) -> Upstreams:
        self.thread.start()
        await self._run(self._start())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Outcome:
    kind: str
    started: float
    latency: float
    seen: str
    """ok, error (an explicit error answer), cut (an error event after content), silent."""
    request_id: str | None
    status: int


@dataclass
class Sample:
    at: float
    rss_kib: int
    fds: int
    p99_ms: float | None


@dataclass
class Soak:
    base: str
    pid: int
    outcomes: list[Outcome] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def judge_chat(raw: bytes, stream: bool, said: str) -> str:
    expected = f"Hello from fake upstream! You said: {said}"
    if not stream:
        text = orjson.loads(raw)["choices"][0]["message"]["content"]
        assert text == expected, text
        return "ok"
    events = [e[6:] for e in raw.split(b"\n\n") if e.startswith(b"data: ")]
    text = ""
    for event in events:
        if event == b"[DONE]":
            continue
        chunk = orjson.loads(event)
        if "error" in chunk:
            assert event == events[-1] and b"[DONE]" not in events
            assert expected.startswith(text), text
            return "cut"
        for choice in chunk.get("choices") or []:
            text += choice["delta"].get("content") or ""
    return "ok" if events and events[-1] == b"[DONE]" and text == expected else "silent"


def judge_messages(raw: bytes, stream: bool, said: str) -> str:
    expected = f"Hello from fake upstream! You said: {said}"
    if not stream:
        data = orjson.loads(raw)
        assert data["content"][0]["text"] == expected, data
        return "ok"
    names = [line[7:] for line in raw.split(b"\n") if line.startswith(b"event: ")]
    if names and names[-1] == b"error":
        assert b"message_stop" not in names
        return "cut"
    text = "".join(
        orjson.loads(line[6:]).get("delta", {}).get("text", "")
        for line in raw.split(b"\n")
        if line.startswith(b"data: ") and b'"text_delta"' in line
    )
    return "ok" if names and names[-1] == b"message_stop" and text == expected else "silent"


async def one(http: aiohttp.ClientSession, soak: Soak, kind: str, n: int) -> None:
    stream = kind.endswith("_stream")
    said = QUESTIONS[n % len(QUESTIONS)] if kind == "cached" else f"soak {n}"
    model = {"cached": "cached", "probe": "probe", "probe_stream": "probe"}.get(kind, "mixed")
    messages = [{"role": "user", "content": said}]
    if kind.startswith("messages"):
        path, body = "/v1/messages", {"model": model, "max_tokens": 64, "messages": messages, "stream": stream}
        judge = judge_messages
    else:
        path, body = "/v1/chat/completions", {"model": model, "messages": messages, "stream": stream}
        judge = judge_chat
    headers = {"Authorization": f"Bearer {ACCESS_KEY}"}
    started = time.monotonic()
    request_id = None
    try:
        async with http.post(soak.base + path, json=body, headers=headers) as resp:
            request_id = resp.headers.get("x-request-id")
            raw = await resp.read()
            seen = judge(raw, stream, said) if resp.status == 200 else "error"
            if seen == "error":
                assert orjson.loads(raw)["error"]["message"], raw
        status = resp.status
    except TimeoutError:  # the client's 30 s: the gateway hung
        seen, status = "hung", 0
    soak.outcomes.append(Outcome(kind, started, time.monotonic() - started, seen, request_id, status))


async def sampler(soak: Soak, stop: asyncio.Event, since: float) -> None:
    mark = since
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL)
        now = time.monotonic()
        clean = [o.latency for o in soak.outcomes if o.kind in ("probe", "cached") and mark <= o.started < now]
        soak.samples.append(Sample(now, rss_kib(soak.pid), fd_count(soak.pid), p99(clean) * 1000 if clean else None))
        mark = now


async def drive(http: aiohttp.ClientSession, soak: Soak, seconds: float, numbers: Iterator[int]) -> None:
    """Start one request every 1/RATE s for ``seconds`` (a steady rate, not a closed loop), then wait."""
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    for i, n in enumerate(numbers):
        due = start + i / RATE
        if due - start >= seconds:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        task = asyncio.create_task(one(http, soak, KINDS[n % len(KINDS)], n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    async with asyncio.timeout(60):
        await asyncio.gather(*tasks)


def config(upstreams: Upstreams) -> dict:
    assert upstreams.proxy is not None
    flaky_timeouts = {"connect": 1, "first_token": 1, "idle": 0.5, "total": 3, "stream_total": 4}
    return {
        "providers": [
            {
                "id": "flaky",
                "base_url": f"http://127.0.0.1:{upstreams.proxy.port}/v1",
                "key": {"env": "SB_SOAK_KEY"},
                "timeouts": flaky_timeouts,
            },
            {"id": "steady", "base_url": upstreams.upstream.base_url, "key": {"env": "SB_SOAK_KEY"}},
        ],
        "routes": [
            {
                "name": "mixed",
                "targets": [
                    {"provider": "flaky", "model": "gpt-4o-mini"},
                    {"provider": "steady", "model": "gpt-4o-mini"},
                ],
                "retries": {"max_retries": 0},
                "cooldown": {"failures": 1_000_000, "seconds": 1},  # keep trying the flaky target: fallbacks all along
            },
            {
                "name": "cached",
                "targets": [{"provider": "steady", "model": "gpt-4o-mini"}],
                "cache": {"enabled": True, "max_entries": 100},
            },
            {"name": "probe", "targets": [{"provider": "steady", "model": "gpt-4o-mini"}]},
        ],
    }


@pytest.mark.timeout(SECONDS + 240)
async def test_mixed_traffic_keeps_memory_descriptors_and_latency_flat_and_loses_no_row(tmp_path: Path) -> None:
    async with Upstreams() as upstreams:
        home, cfg = tmp_path / "home", tmp_path / "config.json"
        cfg.write_text(json.dumps(config(upstreams)))
        proc, base = serve_subprocess(home, cfg, env={"SB_SOAK_KEY": KEY}, args=["--no-discover"])
        try:
            soak = Soak(base, proc.pid)
            connector = aiohttp.TCPConnector(limit=0, force_close=True)  # the gateway's FDs, not our pool's
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
                counter = itertools.count()
                await drive(http, soak, WARMUP, counter)
                await asyncio.sleep(1.0)
                fds_idle_before = fd_count(proc.pid)
                stop = asyncio.Event()
                began = time.monotonic()
                sampling = asyncio.create_task(sampler(soak, stop, began))
                await drive(http, soak, SECONDS, counter)
                ran = time.monotonic() - began
                stop.set()
                await sampling
                await asyncio.sleep(1.0)
                fds_idle_after = fd_count(proc.pid)
            crashed = proc.poll() is not None
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        assert not crashed and proc.returncode == 0, err[-3000:]
        faults = upstreams.proxy.faults if upstreams.proxy else []

    # Every request sent has exactly one terminal row.
    with contextlib.closing(sqlite3.connect(Home.resolve(home).log_db)) as conn:
        rows = conn.execute("SELECT id, status FROM requests").fetchall()
    by_id = dict(rows)
    lost = sum(by_id.get(o.request_id or "") not in TERMINAL for o in soak.outcomes)

    measured = soak.samples
    third = max(1, len(measured) // 3)
    head, tail = measured[:third], measured[-third:]
    rss_drift_mib = (statistics.mean(s.rss_kib for s in tail) - statistics.mean(s.rss_kib for s in head)) / 1024
    cut = WARMUP + ran / 3
    timed = [o for o in soak.outcomes if o.kind in ("probe", "cached")]
    t0 = min(o.started for o in soak.outcomes)
    first_third = [o.latency for o in timed if WARMUP <= o.started - t0 < cut]
    last_third = [o.latency for o in timed if o.started - t0 >= WARMUP + 2 * ran / 3]
    p99_first, p99_last = p99(first_third) * 1000, p99(last_third) * 1000
    seen = {k: sum(o.seen == k for o in soak.outcomes) for k in ("ok", "cut", "error", "silent", "hung")}
    print(
        f"soak {ran:.0f} s, {len(soak.outcomes)} requests {seen}, {sum(f.kind != 'pass' for f in faults)} faults; "
        f"RSS {head[0].rss_kib / 1024:.1f} -> {tail[-1].rss_kib / 1024:.1f} MiB (drift {rss_drift_mib:+.1f}); "
        f"FDs idle {fds_idle_before} -> {fds_idle_after}; p99 {p99_first:.0f} -> {p99_last:.0f} ms"
    )
    for s in measured:
        shown = f"{s.p99_ms:.1f} ms" if s.p99_ms is not None else "-"
        print(f"  t={s.at - measured[0].at:6.1f} s  rss={s.rss_kib / 1024:7.1f} MiB  fds={s.fds:4d}  p99={shown}")

    figures.add("soak_seconds", round(ran), source=__name__)
    figures.add("soak_requests", len(soak.outcomes))
    figures.add("soak_rss_drift_mib", round(rss_drift_mib, 1))
    figures.add("soak_fd_drift", fds_idle_after - fds_idle_before)
    figures.add("soak_p99_first_ms", round(p99_first))
    figures.add("soak_p99_last_ms", round(p99_last))
    figures.add("soak_p99_drift_ms", round(p99_last - p99_first))
    figures.add("soak_lost_rows", lost)
    figures.add("faults_injected", sum(f.kind != "pass" for f in faults), source=__name__)
    figures.add("fault_requests", len(soak.outcomes), source=__name__)
    figures.add("requests_lost", lost, source=__name__)
    figures.add("silent_truncations", seen["silent"], source=__name__)

    with contextlib.closing(sqlite3.connect(Home.resolve(home).log_db)) as conn:
        detail = {
            row[0]: row
            for row in conn.execute(
                "SELECT id, status, http_status, error, provider, latency_ms, attempt_log FROM requests"
            )
        }
    hung = [(o, detail.get(o.request_id or "")) for o in soak.outcomes if o.seen == "hung"]
    assert not hung, (hung[:3], err[-3000:])
    assert seen["silent"] == 0, [o for o in soak.outcomes if o.seen == "silent"][:3]
    assert lost == 0 and len(rows) == len(soak.outcomes), (lost, len(rows), len(soak.outcomes))
    assert seen["error"] == 0, {o.status for o in soak.outcomes if o.seen == "error"}  # the fallback always serves
    assert seen["cut"] > 0 and sum(f.kind in ("reset", "truncate", "garbage", "stall") for f in faults) > 10
    assert len(soak.outcomes) >= 0.8 * RATE * (ran + WARMUP), "the rate was held"
    assert rss_drift_mib < 20, f"RSS grew by {rss_drift_mib:.1f} MiB"
    assert fds_idle_after <= fds_idle_before + 4, (fds_idle_before, fds_idle_after)
    assert p99_last <= 2 * p99_first + 100, (p99_first, p99_last)
