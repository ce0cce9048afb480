"""Reading and checking request bodies: strict JSON, the fields we rely on, nothing that redirects keys.

Only the fields the gateway itself depends on are checked here (their absence or wrong type
would make it misbehave); everything else passes through to the upstream, which validates its
own parameters. Every failure is an :class:`ApiError` 400 naming the field in ``param``.
"""

from __future__ import annotations

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
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


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


def _type_error(param: str, expected: str, value: Any) -> ApiError:
    got = "null" if value is None else type(value).__name__.replace("dict", "object").replace("list", "array")
    return ApiError(
        400, f"Invalid type for '{param}': expected {expected}, got {got}.", param=param, code="invalid_type"
    )


def _missing(param: str) -> ApiError:
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
        raise _missing("model")
    if not isinstance(model, str):
        raise _type_error("model", "a string", model)
    if not model.strip():
        raise ApiError(400, "'model' must not be empty.", param="model", code="invalid_value")
    return model


def check_chat(body: dict[str, Any]) -> bool:
    """Validate a chat completion request; returns whether it streams."""
    messages = body.get("messages")
    if messages is None:
        raise _missing("messages")
    if not isinstance(messages, list):
        raise _type_error("messages", "an array of message objects", messages)
    if not messages:
        raise ApiError(400, "'messages' must contain at least one message.", param="messages", code="invalid_value")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _type_error(f"messages[{i}]", "an object", m)
        role = m.get("role")
        if role is None:
            raise _missing(f"messages[{i}].role")
        if not isinstance(role, str):
            raise _type_error(f"messages[{i}].role", "a string", role)
        if role not in _ROLES:
            raise ApiError(
                400,
                f"Invalid value for 'messages[{i}].role': {role!r} is not one of {sorted(_ROLES)}.",
                param=f"messages[{i}].role",
                code="invalid_value",
            )
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _type_error(f"messages[{i}].content", "a string or an array of content parts", content)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _type_error("stream", "a boolean", stream)
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise _type_error("stream_options", "an object", options)
        include = options.get("include_usage")
        if include is not None and not isinstance(include, bool):
            raise _type_error("stream_options.include_usage", "a boolean", include)
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
        raise _type_error("n", "an integer", n)
    if isinstance(n, int) and not 1 <= n <= 128:
        raise ApiError(400, "'n' must be between 1 and 128.", param="n", code="invalid_value")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _type_error("tools", "an array", tools)
        for i, t in enumerate(tools):
            if not isinstance(t, dict):
                raise _type_error(f"tools[{i}]", "an object", t)
    fmt = body.get("response_format")
    if fmt is not None and not isinstance(fmt, dict):
        raise _type_error("response_format", "an object", fmt)
    check_banned(body)
    return stream is True


def check_embeddings(body: dict[str, Any]) -> None:
    if "input" not in body:
        raise _missing("input")
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


def check_messages(body: dict[str, Any], *, count_only: bool = False) -> bool:
    """Validate an Anthropic Messages request (``count_only``: a count_tokens request, which has no
    ``max_tokens``); returns whether it streams."""
    if not count_only:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise _missing("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise _type_error("max_tokens", "an integer", max_tokens)
        if max_tokens < 1:
            raise ApiError(400, "'max_tokens' must be at least 1.", param="max_tokens", code="invalid_value")
    messages = body.get("messages")
    if messages is None:
        raise _missing("messages")
    if not isinstance(messages, list):
        raise _type_error("messages", "an array of message objects", messages)
    if not messages:
        raise ApiError(400, "'messages' must contain at least one message.", param="messages", code="invalid_value")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _type_error(f"messages[{i}]", "an object", m)
        role = m.get("role")
        if role not in ("user", "assistant", "system"):  # system: Anthropic's mid-conversation system messages
            raise ApiError(
                400,
                f"Invalid value for 'messages[{i}].role': {role!r} is not one of ['assistant', 'system', 'user'].",
                param=f"messages[{i}].role",
                code="invalid_value",
            )
        content = m.get("content")
        if not isinstance(content, (str, list)):
            raise _type_error(f"messages[{i}].content", "a string or an array of content blocks", content)
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise _type_error("system", "a string or an array of text blocks", system)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _type_error("stream", "a boolean", stream)
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _type_error("tools", "an array", tools)
        for i, t in enumerate(tools):
            if not isinstance(t, dict):
                raise _type_error(f"tools[{i}]", "an object", t)
    check_banned(body)
    return stream is True
