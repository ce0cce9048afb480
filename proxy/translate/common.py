"""What every translation shares: its error, and how an SSE event with a name is written."""

from __future__ import annotations

from typing import Any

import orjson


class TranslationError(ValueError):
    """A request (or answer) that cannot be carried to the other API; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def sse_event(name: str, payload: Any) -> bytes:
    """``event: NAME`` + one ``data:`` line (orjson output never contains a newline)."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
