"""A TCP proxy that breaks connections on purpose, between the gateway and a fake upstream.

Each accepted connection draws one fault from a seeded random generator and applies it to the
upstream's response bytes: ``pass`` (untouched), ``latency`` (a pause before the response),
``reset`` (RST after N bytes), ``truncate`` (FIN after N bytes), ``garbage`` (random bytes spliced
in after N bytes) or ``stall`` (nothing more after N bytes, connection held open). N is drawn per
connection, so faults land anywhere: in the status line, the headers, the middle of a JSON body
or between stream events. ``faults`` records what each connection got.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass, field

FAULTS = ("pass", "latency", "reset", "truncate", "garbage", "stall")


@dataclass
class Fault:
    kind: str
    after: int = 0
    """Response bytes let through before the fault strikes."""
    delay: float = 0.0


@dataclass
class FaultProxy:
    target_host: str
    target_port: int
    seed: int = 0
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FAULTS, 1.0))
    faults: list[Fault] = field(default_factory=list)
    max_after: int = 2500
    """Faults strike after 0..max_after response bytes (headers, JSON, or between stream events)."""
    one_request_per_connection: bool = True
    """Add ``Connection: close`` to each response, so the client opens a new connection (and the
    proxy draws a new fault) for every request."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.open_connections = 0

    async def __aenter__(self) -> FaultProxy:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()

    def _draw(self) -> Fault:
        kinds, weights = zip(*self.weights.items(), strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        return Fault(kind, after=self.rng.randint(0, self.max_after), delay=self.rng.uniform(0.05, 0.3))

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.open_connections += 1
        fault = self._draw()
        self.faults.append(fault)
        try:
            up_r, up_w = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_w.close()
            self.open_connections -= 1
            self.tasks.discard(task)
            return
        upward = asyncio.create_task(self._pipe(client_r, up_w))
        try:
            await self._respond(up_r, client_w, fault)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a cancelled handler (proxy closing) ends quietly
        finally:
            upward.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await upward
            for w in (up_w, client_w):
                with contextlib.suppress(Exception):
                    w.close()
            self.open_connections -= 1
            self.tasks.discard(task)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()

    async def _respond(self, up: asyncio.StreamReader, client: asyncio.StreamWriter, fault: Fault) -> None:
        sent = 0
        struck = fault.kind == "pass"
        if fault.kind == "latency":
            await asyncio.sleep(fault.delay)
            struck = True
        first = True
        while data := await up.read(65536):
            if first and self.one_request_per_connection and data.startswith(b"HTTP/1.1 "):
                # One response per connection, so every request draws its own fault.
                line_end = data.index(b"\r\n") + 2
                data = data[:line_end] + b"Connection: close\r\n" + data[line_end:]
            first = False
            if not struck and sent + len(data) > fault.after:
                cut = fault.after - sent
                client.write(data[:cut])
                await client.drain()
                if fault.kind == "reset":
                    sock = client.get_extra_info("socket")
                    if sock is not None:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.transport.abort()
                    return
                if fault.kind == "truncate":
                    return
                if fault.kind == "stall":
                    await asyncio.sleep(3600)  # until the gateway gives up and the task is cancelled
                    return
                # garbage: random bytes, then the rest of the response as if nothing happened
                client.write(self.rng.randbytes(self.rng.randint(1, 64)) + data[cut:])
                await client.drain()
                struck = True
                sent += len(data)
                continue
            client.write(data)
            await client.drain()
            sent += len(data)
