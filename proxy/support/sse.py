"""Incremental Server-Sent Events framing.

Splits a byte stream into events without changing a byte: each :class:`SSEEvent` keeps its
``raw`` bytes (terminator included) so a relay can pass them through unchanged, and exposes the
joined ``data`` field for inspection. Handles LF, CRLF and CR line endings, comments, multi-line
data and events split across any number of chunks.
"""

from __future__ import annotations

import re

_TERMINATOR = re.compile(rb"\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n")


class SSEEvent:
    """One event as it arrived."""

    __slots__ = ("raw", "data", "event")

    def __init__(self, raw: bytes, data: bytes | None, event: bytes | None = None) -> None:
        self.raw = raw
        self.data = data
        """The ``data`` field (lines joined by ``\\n``), or ``None`` for comment-only events."""
        self.event = event
        """The ``event`` field, if any."""

    def __repr__(self) -> str:
        return f"SSEEvent(event={self.event!r}, data={self.data!r})"


def parse_event(raw: bytes) -> SSEEvent:
    """Parse the fields of one complete event (``raw`` includes its terminator)."""
    # Fast path: the overwhelmingly common single `data: ...` line.
    if raw.startswith(b"data: ") and raw.endswith(b"\n\n"):
        body = raw[6:-2]
        if b"\n" not in body and b"\r" not in body:
            return SSEEvent(raw, body)
    data: list[bytes] = []
    event: bytes | None = None
    for line in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value
    return SSEEvent(raw, b"\n".join(data) if data else None, event)


class SSEParser:
    """Feed bytes, get complete events."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk if self._buf else chunk
        events = []
        start = 0
        while True:
            if b"\r" in buf:
                m = _TERMINATOR.search(buf, start)
                if m is None:
                    break
                end = m.end()
            else:
                idx = buf.find(b"\n\n", start)
                if idx < 0:
                    break
                end = idx + 2
            events.append(parse_event(buf[start:end]))
            start = end
        self._buf = buf[start:]
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an event not yet terminated (non-empty at EOF means the stream was cut)."""
        return self._buf
