"""The OpenAI embeddings surface: ``POST /v1/embeddings``. Never streamed, never cached, and its
bodies (often large, rarely worth reading) are not stored in the log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proxy.domain.errors import ApiError
from proxy.providers.base import UpstreamCall
from proxy.routing.resolve import Attempt
from proxy.server.surfaces.base import Dialect
from proxy.server.validation import check_banned, missing


def check_embeddings(body: dict[str, Any]) -> bool:
    if "input" not in body:
        raise missing("input")
    value = body["input"]
    ok = isinstance(value, str) or (
        isinstance(value, list)
        and value
        and (
            all(isinstance(v, str) for v in value)
            or all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or all(isinstance(v, list) and all(isinstance(t, int) for t in v) for v in value)
        )
    )
    if not ok:
        raise ApiError(
            400,
            "Invalid 'input': expected a string, an array of strings, or an array of token arrays (not empty).",
            param="input",
            code="invalid_value",
        )
    fmt = body.get("encoding_format")
    if fmt is not None and fmt not in ("float", "base64"):
        raise ApiError(
            400,
            "Invalid 'encoding_format': expected 'float' or 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    check_banned(body)
    return False


class Embeddings(Dialect):
    """An embeddings request, passed on as it is."""

    __slots__ = ()
    captured = False

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        return check_embeddings(body)

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        return UpstreamCall("embeddings", {**self.body, "model": attempt.model})
