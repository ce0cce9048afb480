"""What the fake Anthropic upstream knows of native structured outputs (``output_config.format``, and
the beta ``output_format`` with ``anthropic-beta: structured-outputs-2025-11-13``): which models have
them, the schemas their grammar accepts (the real API refuses the rest with a 400), and an answer
that fits a schema (strings are the user's words).

Written apart from the gateway's ``proxy/translate/anthropic_structured.py`` on purpose: a test
against the fake then checks the gateway against Anthropic's documented rules, not against itself.
"""

from __future__ import annotations

import re
from typing import Any

BETA = "structured-outputs-2025-11-13"
_GENERATION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)-(\d)(?:-|$)")
CONSTRAINTS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "patternProperties",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "prefixItems",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
    }
)
FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"})


class SchemaRefused(Exception):
    """The real API's 400 for a format it cannot take (the message names the place)."""


def has_structured_outputs(model: str) -> bool:
    """Claude Opus/Sonnet/Haiku 4.5 and later."""
    match = _GENERATION.search(model)
    return match is not None and (int(match[1]), int(match[2])) >= (4, 5)


def check_format(fmt: Any, model: str, where: str) -> dict[str, Any]:
    """The format's schema, checked like the real API; raises :class:`SchemaRefused`."""
    if not has_structured_outputs(model):
        raise SchemaRefused(f"'{model}' does not support structured outputs ({where})")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise SchemaRefused(f"{where}.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise SchemaRefused(f"{where}.schema: Field required")
    _check(schema, f"{where}.schema")
    return schema


def _check(node: Any, where: str) -> None:
    if isinstance(node, list):
        for k, item in enumerate(node):
            _check(item, f"{where}.{k}")
        return
    if not isinstance(node, dict):
        return
    for key in node:
        if key in CONSTRAINTS:
            raise SchemaRefused(f"{where}: the '{key}' keyword is not supported in structured outputs schemas")
    if node.get("type") == "object" and node.get("additionalProperties") is not False:
        raise SchemaRefused(f"{where}: for 'object' type, 'additionalProperties' must be explicitly set to false")
    if node.get("type") == "string" and "format" in node and node["format"] not in FORMATS:
        raise SchemaRefused(f"{where}.format: string format '{node['format']}' is not supported")
    if node.get("minItems") not in (None, 0, 1):
        raise SchemaRefused(f"{where}.minItems: only 0 and 1 are supported")
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (node.get(key) or {}).items():
            _check(sub, f"{where}.{key}.{name}")
    for key in ("anyOf", "allOf", "items"):
        if key in node:
            _check(node[key], f"{where}.{key}")


def example(schema: Any, said: str, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value that fits ``schema`` (local ``$ref``s followed): strings are ``said``, numbers 1,
    arrays one item, every property present."""
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    if not isinstance(schema, dict) or depth > 8:
        return said
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example(target, said, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example(schema[key][0], said, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: example(sub, said, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return [example(schema.get("items"), said, root, depth + 1)]
    if kind == "string" and schema.get("format") == "date":
        return "2026-12-02"
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(str(kind), said)
