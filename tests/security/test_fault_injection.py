"""Upstream faults under concurrency (RELIABILITY F-01..F-05, issue 9 item 5).

A fault proxy sits between the gateway and a fake OpenAI upstream and breaks responses at random
points (latency, reset, truncation, garbage, stall). 120 requests, streamed and not, 12 at a
time (``SWITCHBOARD_SOAK_REQUESTS=20000`` makes it a soak test). Every client must get a correct
answer or an explicit error (a stream either ends with ``[DONE]`` and the exact text, or with an
in-band error event and no ``[DONE]``), every request has exactly one log row whose status agrees
with what the client saw, nothing hangs past the timeouts, and no task or socket is left behind.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.fakes.fault_proxy import FaultProxy
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context
from tests.security import figures

KEY = "sk-fault-proxy-upstream-key-000000000"
REQUESTS = int(os.environ.get("SWITCHBOARD_SOAK_REQUESTS", "120"))
"""The CI run is short; the long (soak) version runs on demand, e.g. SWITCHBOARD_SOAK_REQUESTS=20000."""
CONCURRENCY = 12


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def one(http: aiohttp.ClientSession, base: str, headers: dict, i: int) -> tuple[int, str, str]:
    """(request number, what the client saw, detail)."""
    stream = i % 2 == 0
    said = f"request {i}"
    expected = f"Hello from fake upstream! You said: {said}"
    body = {"model": "faulty", "messages": [{"role": "user", "content": said}], "stream": stream}
    async with http.post(f"{base}/v1/chat/completions", json=body, headers=headers) as resp:
        raw = await resp.read()
        if resp.status != 200:
            error = orjson.loads(raw)["error"]
            assert error["message"] and error["type"], raw
            return i, "error", f"{resp.status}"
        if not stream:
            text = orjson.loads(raw)["choices"][0]["message"]["content"]
            assert text == expected, (i, text)
            return i, "ok", ""
    events = [e[6:] for e in raw.split(b"\n\n") if e.startswith(b"data: ")]
    text = ""
    for event in events:
        if event == b"[DONE]":
            continue
        chunk = orjson.loads(event)
        if "error" in chunk:
            assert events[-1] == event, "the error event ends the stream"
            assert b"[DONE]" not in events, "never [DONE] after an error"
            assert text == expected[: len(text)], "what arrived before the error is a true prefix"
            return i, "cut", chunk["error"]["message"]
        for choice in chunk.get("choices") or []:
            text += choice["delta"].get("content") or ""
    if not events or events[-1] != b"[DONE]" or text != expected:
        return i, "silent", repr(raw[-200:])  # cut short with no error event: counted, then failed on
    return i, "ok", ""


class Elsewhere:
    """Runs the fake upstream and the fault proxy on their own thread and loop, so the test's loop
    holds only the gateway and its clients (and leftover tasks are the gateway's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.upstream = FakeOpenAIUpstream(api_key=KEY, chunks=6)
        self.proxy: FaultProxy | None = None

    async def _start(self) -> None:
        await self.upstream.start()
        host, port = self.upstream.base_url.removeprefix("http://").split("/")[0].split(":")
        self.proxy = FaultProxy(host, int(port), seed=20261124, weights=WEIGHTS)
        await self.proxy.__aenter__()

    async def _stop(self) -> None:
        assert self.proxy is not None
        await self.proxy.__aexit__(None, None, None)
        await self.upstream.close()

    async def __aenter__(self) -> FaultProxy:
        self.thread.start()
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._start(), self.loop))
        assert self.proxy is not None
        return self.proxy

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._stop(), self.loop))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


WEIGHTS = {"pass": 3.0, "latency": 1.0, "reset": 1.0, "truncate": 1.0, "garbage": 1.0, "stall": 0.5}


@pytest.mark.timeout(max(120, REQUESTS // 10))
async def test_random_faults_never_lie_and_leave_nothing_behind(tmp_path: Path) -> None:
    fds_before = open_fds()
    async with Elsewhere() as proxy:
        config = {
            "providers": [
                {
                    "id": "flaky",
                    "base_url": f"http://127.0.0.1:{proxy.port}/v1",
                    "key": {"env": "SB_FAULT_KEY"},
                    "timeouts": {"connect": 1, "first_token": 1, "idle": 0.5, "total": 3, "stream_total": 4},
                }
            ],
            "routes": [
                {
                    "name": "faulty",
                    "targets": [{"provider": "flaky", "model": "gpt-4o-mini"}],
                    "retries": {"max_retries": 2, "backoff_base": 0.01, "backoff_max": 0.05, "budget": 8},
                    "cooldown": {"failures": 1000, "seconds": 1},
                }
            ],
        }
        async with gateway_context(tmp_path, config, env={"SB_FAULT_KEY": KEY}) as ctx:
            tasks_before = len(asyncio.all_tasks())
            limit = asyncio.Semaphore(CONCURRENCY)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

                async def bounded(i: int) -> tuple[int, str, str]:
                    async with limit:
                        return await one(http, ctx.base_url, ctx.headers(), i)

                async with asyncio.timeout(120):  # nothing hangs past its timeouts
                    outcomes = await asyncio.gather(*(bounded(i) for i in range(REQUESTS)))
            seen = {kind: sum(o[1] == kind for o in outcomes) for kind in ("ok", "error", "cut", "silent")}
            kinds = {f.kind for f in proxy.faults}
            rows = ctx.rows(limit=REQUESTS + 100)
            figures.add("faults_injected", sum(f.kind != "pass" for f in proxy.faults), source=__name__)
            figures.add("fault_requests", REQUESTS, source=__name__)
            figures.add("requests_lost", max(0, REQUESTS - len({r.id for r in rows if r.status != "in_progress"})))
            figures.add("silent_truncations", seen["silent"], source=__name__)
            assert seen["silent"] == 0, [o for o in outcomes if o[1] == "silent"][:3]
            assert seen["ok"] > REQUESTS // 3, (seen, kinds)
            print(f"connections {len(proxy.faults)}, faults {sorted(kinds)}, client saw {seen}")
            assert len(kinds & {"reset", "truncate", "garbage", "stall"}) >= 3, kinds
            assert len(rows) == REQUESTS, "exactly one log row per request"
            by_status = {s: sum(r.status == s for r in rows) for s in {r.status for r in rows}}
            assert by_status.get("ok", 0) == seen["ok"], (by_status, seen)
            assert by_status.get("cut", 0) == seen["cut"], (by_status, seen)
            await asyncio.sleep(0.2)
            leftover = len(asyncio.all_tasks()) - tasks_before
            assert leftover <= 2, f"{leftover} tasks left running"
        await asyncio.sleep(0.1)
    assert open_fds() <= fds_before + 2, (fds_before, open_fds())
