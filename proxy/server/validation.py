"""Reading and checking request bodies: strict JSON, the fields we rely on, nothing that redirects keys.

Only the fields the gateway itself depends on are checked (their absence or wrong type would make
it misbehave); everything else passes through to the upstream, which validates its own
parameters. Every failure is an :class:`ApiError` 400 naming the field in ``param``. Each surface
checks its own request (``surfaces/*.py``) with the pieces here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError

# Fields that would change where a request (and the provider key with it) is sent, or which
# credentials are used. Upstream URLs and keys come from the config only (LiteLLM CVE-2024-6587).
BANNED_FIELDS = frozenset(
    {
        "api_base",
        "base_url",
        "api_key",
        "user_config",
        "extra_headers",
        "custom_llm_provider",
        "api_version",
        "organization",
        "azure_ad_token",
        "aws_access_key_id",
        "aws_secret_access_key",
        "vertex_credentials",
    }
)
# Top-level fields holding user content or JSON Schemas, where any key name is legitimate.
_CONTENT_FIELDS = frozenset(
    {"messages", "tools", "functions", "response_format", "input", "tool_choice", "prediction", "system", "text"}
)


async def read_json(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object, or a precise 400/413."""
    if request.content_length is not None:
        body = await request.read()
    else:  # chunked: count as we go, stop at the limit
        parts, size = [], 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(
                    413, f"The request body exceeds the limit of {max_bytes} bytes.", code="request_too_large"
                )
            parts.append(chunk)
        body = b"".join(parts)
    if not body:
        raise ApiError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return data


def wrong_type(param: str, expected: str, value: Any) -> ApiError:
    got = "null" if value is None else type(value).__name__.replace("dict", "object").replace("list", "array")
    return ApiError(
        400, f"Invalid type for '{param}': expected {expected}, got {got}.", param=param, code="invalid_type"
    )


def not_one_of(param: str, value: Any, choices: list[str]) -> ApiError:
    return ApiError(
        400, f"Invalid value for '{param}': {value!r} is not one of {choices}.", param=param, code="invalid_value"
    )


def missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def check_banned(body: dict[str, Any]) -> None:
    """Reject fields that would redirect the upstream call or swap its credentials, at any depth
    outside user content and schemas."""
    stack: list[tuple[str, dict[str, Any]]] = [("", body)]
    while stack:
        prefix, obj = stack.pop()
        for key, value in obj.items():
            path = f"{prefix}{key}"
            if key in BANNED_FIELDS:
                raise ApiError(
                    400,
                    f"The parameter '{path}' is not accepted: Switchboard decides where requests "
                    "go and which keys they use from its own config.",
                    param=path,
                    code="forbidden_parameter",
                )
            if isinstance(value, dict) and not (prefix == "" and key in _CONTENT_FIELDS):
                stack.append((f"{path}.", value))


def model_name(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise missing("model")
    if not isinstance(model, str):
        raise wrong_type("model", "a string", model)
    if not model.strip():
        raise ApiError(400, "'model' must not be empty.", param="model", code="invalid_value")
    return model


def each_message(body: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The ``messages`` array's entries with their index, once it is a non-empty array; each entry
    is checked to be an object just before it is yielded."""
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list):
        raise wrong_type("messages", "an array of message objects", messages)
    if not messages:
        raise ApiError(400, "'messages' must contain at least one message.", param="messages", code="invalid_value")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise wrong_type(f"messages[{i}]", "an object", m)
        yield i, m


def stream_flag(body: dict[str, Any]) -> bool:
    """Whether the request streams (``stream`` absent, or a boolean)."""
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise wrong_type("stream", "a boolean", stream)
    return stream is True


def check_tools(body: dict[str, Any], *, of_objects: bool = True) -> None:
    """``tools``, when present, is an array (``of_objects``: of objects)."""
    tools = body.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array", tools)
    if of_objects:
        for i, t in enumerate(tools):
            if not isinstance(t, dict):
                raise wrong_type(f"tools[{i}]", "an object", t)
