"""What every translation shares: its error, how it reads nested JSON it cannot trust, and how an SSE
event with a name is written."""

from __future__ import annotations

from typing import Any

import orjson


class TranslationError(ValueError):
    """A request (or answer) that cannot be carried to the other API; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def token_count(value: object) -> int:
    """A token count as an upstream reported it: an integer (not a boolean), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def json_object(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for a nested object that may be missing or wrong)."""
    return value if isinstance(value, dict) else {}


def json_string(value: object) -> str:
    """``value`` if it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def sse_event(name: str, payload: object) -> bytes:
    """``event: NAME`` + one ``data:`` line (orjson output never contains a newline)."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
