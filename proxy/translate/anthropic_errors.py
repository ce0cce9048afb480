"""Anthropic errors: the ``type`` for an HTTP status, and an Anthropic upstream error as OpenAI says it.

Used both ways: the ``/v1/messages`` surface answers its clients in Anthropic's error shape
(:func:`anthropic_error_body`), and the Anthropic adapter reports an Anthropic upstream's error
to OpenAI-style clients (:func:`openai_error_for_anthropic`).
"""

from __future__ import annotations

from typing import Any

ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_KNOWN_ANTHROPIC_TYPES = frozenset(ANTHROPIC_ERROR_TYPES.values()) | {"overloaded_error"}
_OPENAI_TYPE_FOR_ANTHROPIC = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "invalid_request_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_error",
    "billing_error": "insufficient_quota",
    "api_error": "server_error",
    "overloaded_error": "server_error",
    "timeout_error": "server_error",
}


def anthropic_error_type(status: int, type_: str | None) -> str:
    """The Anthropic error ``type`` for an answer with ``status`` (keeps a type that is already one)."""
    if type_ in _KNOWN_ANTHROPIC_TYPES and type_ != "invalid_request_error":
        return type_
    if status in ANTHROPIC_ERROR_TYPES:
        return ANTHROPIC_ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def anthropic_error_body(status: int, type_: str | None, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": anthropic_error_type(status, type_), "message": message}}


def openai_error_for_anthropic(status: int, type_: str | None) -> tuple[int, str, str | None]:
    """An Anthropic upstream error as OpenAI would say it: (status, type, code).

    529 ``overloaded_error`` becomes 503 (OpenAI clients know 503); the Anthropic type is kept as
    the ``code`` so nothing is lost.
    """
    openai_status = 503 if status == 529 else status
    openai_type = _OPENAI_TYPE_FOR_ANTHROPIC.get(
        type_ or "", "server_error" if status >= 500 else "invalid_request_error"
    )
    return openai_status, openai_type, type_
