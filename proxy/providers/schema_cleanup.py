"""Tool schemas that Gemini's OpenAI-compatible endpoint accepts.

Gemini validates function parameters against its own subset of OpenAPI 3 schema and rejects a
whole request over keywords it does not know (``additionalProperties``, ``$schema``,
``propertyNames`` ...) or enums that are not strings. Tools written for OpenAI commonly carry
them (Pydantic, zod and MCP servers emit them), so the adapter removes them before sending:
the request then works, and the model still sees every property, type and description.
"""

from __future__ import annotations

import copy
from typing import Any

UNSUPPORTED = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "additionalProperties",
        "unevaluatedProperties",
        "patternProperties",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "if",
        "then",
        "else",
        "not",
        "contains",
        "minContains",
        "maxContains",
        "const",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentEncoding",
        "contentMediaType",
        "exclusiveMinimum",
        "exclusiveMaximum",
    }
)
_NESTED_MAPS = ("properties", "$defs", "definitions")
_NESTED_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def clean_schema(schema: Any) -> Any:
    """A copy of ``schema`` without the keywords Gemini rejects; enums become strings."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in UNSUPPORTED:
            continue
        if key in _NESTED_MAPS and isinstance(value, dict):
            out[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key in _NESTED_LISTS and isinstance(value, list):
            out[key] = [clean_schema(sub) for sub in value]
        elif key == "items":
            out[key] = [clean_schema(s) for s in value] if isinstance(value, list) else clean_schema(value)
        elif key == "enum" and isinstance(value, list):
            out[key] = [v if isinstance(v, str) else str(v) for v in value]
        else:
            out[key] = value
    return out


def clean_request(body: dict[str, Any]) -> dict[str, Any]:
    """The request with every tool's parameters (and a JSON-schema response format) cleaned."""
    tools = body.get("tools")
    fmt = body.get("response_format")
    needs_tools = isinstance(tools, list) and any(
        isinstance(t, dict) and isinstance(t.get("function"), dict) for t in tools
    )
    needs_format = isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict)
    if not (needs_tools or needs_format):
        return body
    out = dict(body)
    if needs_tools and isinstance(tools, list):  # the second test only tells mypy what the first proved
        cleaned = []
        for tool in tools:
            if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
                function = dict(tool["function"])
                if "parameters" in function:
                    function["parameters"] = clean_schema(function["parameters"])
                function.pop("strict", None)
                tool = {**tool, "function": function}
            cleaned.append(tool)
        out["tools"] = cleaned
    if needs_format and isinstance(fmt, dict):
        json_schema = copy.copy(fmt["json_schema"])
        if "schema" in json_schema:
            json_schema["schema"] = clean_schema(json_schema["schema"])
        json_schema.pop("strict", None)
        out["response_format"] = {**fmt, "json_schema": json_schema}
    return out
