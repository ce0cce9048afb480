"""Finding free TCP ports (for tests, tools, and a way out of "port in use")."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (for tests and tools)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def next_free_port(host: str, after: int, tries: int = 50) -> int:
    """The first port after ``after`` that ``host`` can listen on now (any free one if none of the
    next ``tries`` is). Raises ``OSError`` when the host has no free port at all."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in [*range(after + 1, min(after + 1 + tries, 65536)), 0]:
        with socket.socket(family) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError(f"No port is free on {host}.")
