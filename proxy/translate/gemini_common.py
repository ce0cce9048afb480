"""What the Gemini translations share: finish reasons, usage, Google's error shape, schemas, and
thought signatures carried in tool call ids.

Gemini's wire format is ``shared/specs/gemini-v1beta-openapi.json`` (``GenerateContentRequest``,
``GenerateContentResponse``, ``Candidate``, ``UsageMetadata``, ``Schema``). The canonical form is
Chat Completions, as in every other translation.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from proxy.translate.common import json_object, token_count

FINISH_TO_CHAT = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}
"""``Candidate.finishReason`` -> ``finish_reason`` (any other reason is ``stop``; a candidate with
function calls is ``tool_calls``)."""
CHAT_TO_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
"""``finish_reason`` -> ``finishReason`` (``tool_calls`` is ``STOP``: Gemini says a call by its parts)."""

STATUS_OF_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""HTTP status -> ``google.rpc.Code`` name, as Google's APIs pair them."""

SIGNATURE_MARK = "__ts_"
"""Between a tool call id and the thought signature of its ``functionCall`` part (see :func:`call_id`)."""


def index_of(item: Any, default: int) -> int:
    """``item["index"]`` when it is an integer, else ``default``."""
    value = item.get("index") if isinstance(item, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def google_status(code: int) -> str:
    """The ``google.rpc.Code`` name for an HTTP status."""
    if code in STATUS_OF_CODE:
        return STATUS_OF_CODE[code]
    return "INTERNAL" if code >= 500 else "INVALID_ARGUMENT" if code >= 400 else "UNKNOWN"


def google_error(code: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "status"}}``: Google's error shape (``google.rpc.Status``)."""
    error: dict[str, Any] = {"code": code, "message": message, "status": google_status(code)}
    if details:
        error["details"] = details
    return {"error": error}


def retry_delay(error: Any) -> str | None:
    """The ``RetryInfo.retryDelay`` of a Google error (``"37s"``, ``"1.5s"``) as Retry-After seconds."""
    for detail in json_object(error).get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = detail.get("retryDelay")
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    seconds = float(delay[:-1])
                except ValueError:
                    return None
                if seconds >= 0:
                    whole = int(seconds) if seconds == int(seconds) else int(seconds) + 1
                    return str(whole)
    return None


# -- usage ------------------------------------------------------------------------------------------


def gemini_usage_to_chat(meta: Any) -> dict[str, Any] | None:
    """``usageMetadata`` -> Chat Completions ``usage`` (thoughts count as completion tokens, as
    OpenAI counts reasoning; cached-content tokens are ``prompt_tokens_details.cached_tokens``)."""
    if not isinstance(meta, dict):
        return None
    prompt = token_count(meta.get("promptTokenCount")) + token_count(meta.get("toolUsePromptTokenCount"))
    thoughts = token_count(meta.get("thoughtsTokenCount"))
    completion = token_count(meta.get("candidatesTokenCount")) + thoughts
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": token_count(meta.get("totalTokenCount")) or prompt + completion,
        "prompt_tokens_details": {"cached_tokens": token_count(meta.get("cachedContentTokenCount"))},
    }
    if thoughts:
        usage["completion_tokens_details"] = {"reasoning_tokens": thoughts}
    return usage


def chat_usage_to_gemini(usage: Any) -> dict[str, Any] | None:
    """Chat Completions ``usage`` -> ``usageMetadata``."""
    if not isinstance(usage, dict):
        return None
    prompt = token_count(usage.get("prompt_tokens"))
    completion = token_count(usage.get("completion_tokens"))
    reasoning = token_count(json_object(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    cached = token_count(json_object(usage.get("prompt_tokens_details")).get("cached_tokens"))
    meta: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": max(completion - reasoning, 0),
        "totalTokenCount": token_count(usage.get("total_tokens")) or prompt + completion,
    }
    if cached:
        meta["cachedContentTokenCount"] = cached
    if reasoning:
        meta["thoughtsTokenCount"] = reasoning
    return meta


# -- thought signatures -------------------------------------------------------------------------------


def new_call_id() -> str:
    return "call_" + os.urandom(12).hex()


def call_id(base: str, signature: str | None) -> str:
    """A tool call id that carries the ``thoughtSignature`` of its ``functionCall`` part.

    Gemini wants the signature back on the call in the next turn, and every client sends a tool
    call's id back verbatim, so the id carries it (base64url, which Anthropic's tool ids allow too).
    """
    if not signature:
        return base
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raw = signature.encode()
    return base + SIGNATURE_MARK + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def split_call_id(value: str) -> tuple[str, str | None]:
    """``(id, thoughtSignature or None)`` of an id made by :func:`call_id`."""
    base, mark, encoded = value.partition(SIGNATURE_MARK)
    if not mark or not encoded:
        return value, None
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return value, None
    return base, base64.b64encode(raw).decode()


# -- schemas -------------------------------------------------------------------------------------------

_SCHEMA_MAPS = ("properties", "$defs", "definitions")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems", "any_of")
_CAMEL = {
    "any_of": "anyOf",
    "max_items": "maxItems",
    "min_items": "minItems",
    "min_length": "minLength",
    "max_length": "maxLength",
    "min_properties": "minProperties",
    "max_properties": "maxProperties",
}
"""The google-genai SDK writes some ``Schema`` fields in snake case (the API takes both)."""


def gemini_schema_to_json(schema: Any) -> Any:
    """A Gemini ``Schema`` (OpenAPI 3.0 subset: ``"type": "OBJECT"``, ``nullable``,
    ``propertyOrdering``) as JSON Schema (a plain JSON Schema, ``responseJsonSchema``, is kept)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("propertyOrdering", "property_ordering", "nullable"):
            continue
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: gemini_schema_to_json(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[_CAMEL.get(key) or key] = [gemini_schema_to_json(sub) for sub in value]
        elif key == "items":
            out[key] = gemini_schema_to_json(value)
        else:
            out[_CAMEL.get(key) or key] = value
    if schema.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif "anyOf" in out and isinstance(out["anyOf"], list):
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out
