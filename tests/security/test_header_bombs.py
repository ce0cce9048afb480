"""Header bombs (RELIABILITY F-07e): a 100 KB header line, 10 000 headers, a 1 MB URL, a 100 KB
header name, a head that never ends in 1 MB of one header's continuation. Each gets a 400 or 431
before anything is read further, and the gateway keeps serving the next, ordinary request."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.helpers import ACCESS_KEY, gateway_context
from tests.security import figures


def head(port: int, *, target: str = "/v1/chat/completions", extra: bytes = b"") -> bytes:
    return (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {ACCESS_KEY}\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n"
    ).encode() + extra


BOMBS = {
    "100 KB header line": lambda port: head(port, extra=b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n{}"),
    "10 000 headers": lambda port: head(port, extra=b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\n{}"),
    "1 MB URL": lambda port: head(port, target="/v1/chat/completions?" + "q" * 1_000_000) + b"\r\n{}",
    "100 KB header name": lambda port: head(port, extra=b"X-" + b"n" * 100_000 + b": v\r\n\r\n{}"),
    "1 MB folded header": lambda port: head(port, extra=b"X-Fold: a\r\n" + b" b\r\n" * 250_000 + b"\r\n{}"),
}


async def answer(port: int, data: bytes) -> int:
    """Send ``data`` raw; the status code the gateway answers (0: it closed without one)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(data)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        async with asyncio.timeout(10):
            line = await reader.readline()
    except ConnectionError:
        line = b""
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        writer.close()
    return int(line.split()[1]) if line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")) else 0  # aiohttp's parser errors: 1.0


@pytest.mark.parametrize("bomb", list(BOMBS))
async def test_header_bombs_get_400_or_431_and_the_gateway_keeps_serving(tmp_path: Path, bomb: str) -> None:
    async with gateway_context(tmp_path) as ctx:
        status = await answer(ctx.port, BOMBS[bomb](ctx.port))
        figures.add("bad_inputs", source=__name__)
        figures.add("gateway_5xx", status >= 500)
        ok = b'{"model": "demo", "messages": [{"role": "user", "content": "still there?"}]}'
        after = await answer(
            ctx.port, head(ctx.port).replace(b"Content-Length: 2", b"Content-Length: %d" % len(ok)) + b"\r\n" + ok
        )
        assert status in (400, 431), (bomb, status)
        assert after == 200, "the gateway keeps serving"
