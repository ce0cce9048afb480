"""Event-loop lag and GC pauses: measured while requests run, never while idle."""

from __future__ import annotations

import asyncio
import gc
import time

import aiohttp

from proxy.engine.loop_health import GcWatch, LagProbe
from tests.helpers import ACCESS_KEY, gateway_context

CONFIG = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 20}}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}


async def test_lag_probe_samples_only_while_busy_and_sees_a_blocked_loop():
    busy = True
    probe = LagProbe(lambda: busy)
    probe.kick()
    await asyncio.sleep(0.12)
    time.sleep(0.15)  # the loop blocked for 150 ms: the sample due in it is 100 ms late or more
    await asyncio.sleep(0.1)
    assert probe.max_ms >= 60, probe.as_dict()
    assert probe.over_10ms >= 1
    busy = False
    await asyncio.sleep(0.12)
    samples = probe.samples
    await asyncio.sleep(0.2)
    assert probe.samples == samples  # idle: no more wake-ups
    assert probe._task is None
    probe.kick()  # a new request starts it again
    busy = True
    await asyncio.sleep(0.12)
    assert probe.samples > samples
    await probe.stop()


def test_gc_watch_times_collections():
    watch = GcWatch()
    watch.install()
    try:
        garbage = [[i] for i in range(50_000)]
        for item in garbage:
            item.append(item)  # cycles: only the collector frees them
        del garbage, item
        gc.collect()
    finally:
        watch.uninstall()
    report = watch.as_dict()
    assert report["gc_collections"][2] >= 1
    assert report["gc_pause_ms_max"] > 0
    assert gc.callbacks.count(watch._callback) == 0


async def test_status_reports_the_loop_while_a_stream_runs(tmp_path):
    async with gateway_context(tmp_path, CONFIG) as ctx:
        headers = {"Authorization": f"Bearer {ACCESS_KEY}"}
        body = {"model": "demo", "stream": True, "messages": [{"role": "user", "content": "one two three four five"}]}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=headers) as resp:
                await resp.read()
            async with http.get(f"{ctx.base_url}/switchboard/status", headers=headers) as resp:
                status = await resp.json()
        loop = status["loop"]
        assert loop["lag_samples"] >= 1, loop
        assert set(loop) >= {"lag_ms_max", "gc_collections", "gc_pause_ms_max", "gc_pauses_over_5ms"}
