"""Slow-loris and half-closed clients (RELIABILITY F-07f, issue 9 item 4): connections that never
finish their request head are closed after ``server.idle_timeout``, a legitimate client is served
meanwhile, and file descriptors come back to where they were."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp

from tests.helpers import DEMO_CONFIG, gateway_context
from tests.security import figures

SLOW_CLIENTS = 60


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_slow_loris_connections_are_closed_and_others_are_served(tmp_path: Path) -> None:
    config = {**DEMO_CONFIG, "server": {"idle_timeout": 1.0}}
    async with gateway_context(tmp_path, config) as ctx:
        fds_before = open_fds()

        async def slow_client() -> float:
            reader, writer = await asyncio.open_connection("127.0.0.1", ctx.port)
            started = time.monotonic()
            head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{ctx.port}\r\nX-Slow: ".encode()
            try:
                for byte in head + b"a" * 1000:  # one byte at a time, never finishing the head
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    if reader.at_eof():
                        break
                await reader.read()  # the server closes (EOF), or a reset
            except ConnectionError:
                pass
            finally:
                writer.close()
            return time.monotonic() - started

        async def half_closed() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", ctx.port)
            writer.write(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{ctx.port}\r\n".encode())
            writer.write_eof()  # half-close before the head is complete
            data = await reader.read()
            writer.close()
            return data

        slow = [asyncio.create_task(slow_client()) for _ in range(SLOW_CLIENTS)]
        figures.add("bad_inputs", SLOW_CLIENTS + 1, source=__name__)  # and one half-closed client below
        await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http:
            body = {"model": "demo", "messages": [{"role": "user", "content": "am I served?"}]}
            async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                assert resp.status == 200
        assert not any(t.done() for t in slow), "the legitimate request did not wait for the slow ones"
        async with asyncio.timeout(10):
            durations = await asyncio.gather(*slow)
        assert max(durations) < 5, "slow clients were disconnected at the idle timeout"
        async with asyncio.timeout(10):
            answer = await half_closed()
        assert b" 200 " not in answer  # an incomplete request is never answered as if it were whole
        await asyncio.sleep(0.2)
        assert open_fds() <= fds_before + 2
