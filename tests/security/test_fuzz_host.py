"""Random Host headers (RELIABILITY S-01f): only the canonical loopback forms with the gateway's
port are accepted; everything else is a 403 before anything else happens, with no exception."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import ACCESS_KEY, gateway_context
from tests.security import figures

ALPHABET = st.characters(codec="latin-1", exclude_characters="\r\n")
EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "300"))
PIECES = st.sampled_from(
    ["localhost", "127.0.0.1", "[::1]", "LOCALHOST", "127.1", "0x7f000001", "evil.example", "xn--80ak6aa92e.com"]
)


async def status_for(port: int, host: bytes) -> int:
    """Send one raw request with exactly this Host value; the status code (0: connection closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET /v1/models HTTP/1.1\r\nHost: "
            + host
            + b"\r\nAuthorization: Bearer "
            + ACCESS_KEY.encode()
            + b"\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        line = await reader.readline()
        return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else 0
    finally:
        writer.close()


@pytest.mark.timeout(120 + EXAMPLES // 10)
async def test_only_canonical_hosts_pass(tmp_path: Path) -> None:
    async with gateway_context(tmp_path) as ctx:
        port = ctx.port
        canonical = {f"{name}:{port}".encode() for name in ("127.0.0.1", "localhost", "[::1]")}
        loop = asyncio.get_running_loop()
        seen: list[tuple[bytes, int]] = []

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(
            host=st.one_of(
                st.text(ALPHABET, max_size=40),
                st.tuples(
                    PIECES, st.sampled_from(["", ":", f":{port}", f":{port + 1}", f":{port}0", "@x", "/", "#", "?"])
                ).map("".join),
                st.tuples(st.text(ALPHABET, max_size=5), PIECES, st.text(ALPHABET, max_size=5)).map("".join),
            )
        )
        def run(host: str) -> None:
            raw = host.encode("latin-1")
            seen.append((raw, asyncio.run_coroutine_threadsafe(status_for(port, raw), loop).result(10)))

        await asyncio.to_thread(run)
        figures.add("bad_inputs", sum(raw.strip().lower() not in canonical for raw, _ in seen), source=__name__)
        figures.add("gateway_5xx", sum(status >= 500 for _, status in seen))
        for raw, status in seen:
            if raw.strip().lower() in canonical and raw == raw.strip():
                assert status == 200, (raw, status)
            else:
                assert status in (400, 403, 0), (raw, status)  # 400: aiohttp refuses malformed heads itself
        assert any(status == 403 for _, status in seen)
        # still serving, and the rows say why
        assert await status_for(port, f"127.0.0.1:{port}".encode()) == 200
        assert all(r.status == "rejected" for r in ctx.rows(limit=10_000) if r.http_status == 403)
