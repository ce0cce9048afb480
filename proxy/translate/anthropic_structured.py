"""Structured outputs on Anthropic targets: ``response_format`` (Chat Completions, and the Responses
API's ``text.format`` once it is in the chat form) that holds, and the Messages API's
``output_format`` / ``output_config.format`` carried to chat upstreams.

Chat -> Anthropic (:func:`structured_request`, used by the Anthropic adapter):

- ``json_schema`` on a model with Anthropic's native structured outputs (Claude 4.5 and later, see
  :func:`supports_native`) -> ``output_config.format`` (the GA form; no beta header), when the
  schema stays inside what Anthropic's grammar enforces (:func:`unsupported_keyword`). Objects get
  the ``additionalProperties: false`` Anthropic requires; annotations it has no use for
  (``$schema``, ``examples`` ...) are dropped; ``oneOf`` is sent as ``anyOf`` (as Anthropic's SDK
  does).
- A schema with a keyword the grammar cannot enforce (``minimum``, ``maxLength``, a recursive
  ``$ref`` ...): with ``strict: true`` the target cannot honour the request and a
  :class:`TranslationError` names the keyword (the attempt loop then tries the route's other
  targets, and the last refusal is the client's 400); without ``strict`` the schema is guidance,
  and the forced tool below carries it whole.
- Otherwise (``json_object``, a model without native structured outputs, a non-strict schema the
  grammar cannot take) -> a forced tool call: a tool named :data:`ANSWER_TOOL` whose
  ``input_schema`` is the schema (any object for ``json_object``) and ``tool_choice`` that tool.
  Its input is the answer: the adapter turns it back into the message content (streamed as
  content deltas) with finish reason ``stop``. With the client's own tools present, or extended
  thinking on (which allows only ``auto``), the choice stays ``auto`` and an instruction asks for
  the tool; a root that is not an object cannot be a tool's input and is refused by name.

Messages -> chat (:func:`chat_response_format`, used by the ``/v1/messages`` surface): the schema
becomes ``response_format`` ``json_schema``, ``strict`` when it meets OpenAI's strict rules (every
object closed, every property required), since Anthropic's schemas are always enforced.
"""

from __future__ import annotations

import re
from typing import Any

from proxy.translate.common import TranslationError, json_object

ANSWER_TOOL = "json_response"
"""The name of the forced tool whose input is the answer (a suffix is added if a client tool has it)."""
STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
"""String ``format`` values Anthropic's structured outputs enforce."""
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "examples", "deprecated", "readOnly", "writeOnly"})
"""Keywords that constrain nothing: dropped from a native schema."""
_KEPT = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "$defs",
        "definitions",
        "description",
        "title",
        "format",
        "minItems",
        "default",
        "pattern",
    }
)
"""Keywords Anthropic's structured outputs accept (``format`` and ``minItems`` with limits)."""
_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2}))?(?=[-.@:]|$)")


def supports_native(model: str) -> bool:
    """Whether ``model`` has Anthropic's native structured outputs (``output_config.format``): the
    Claude 4.5 generation and later (Opus, Sonnet, Haiku); older or unknown models use the forced tool."""
    match = _VERSION.search(model.lower())
    if match is None:
        return False
    return (int(match[1]), int(match[2] or 0)) >= (4, 5)


# ------------------------------------------------------------------------------------------------
# Chat request -> Anthropic request
# ------------------------------------------------------------------------------------------------


def structured_request(chat: dict[str, Any], out: dict[str, Any]) -> str | None:
    """Apply ``chat['response_format']`` to the Anthropic request ``out`` (in place).

    Returns:
        The name of the forced tool whose input is the answer, or ``None`` (no format, or native
        structured outputs: the answer's text is the JSON).

    Raises:
        TranslationError: the format is malformed, or this target cannot honour the schema
            (``param`` names the keyword's place).
    """
    fmt = chat.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise TranslationError("`response_format` must be an object", "response_format")
    kind = fmt.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return _force_tool(out, {"type": "object"}, None)
    if kind != "json_schema":
        raise TranslationError(
            "`response_format.type` must be text, json_object or json_schema", "response_format.type"
        )
    spec = json_object(fmt.get("json_schema"))
    schema = spec.get("schema")
    if schema is None:  # no schema: any object, as JSON mode
        return _force_tool(out, {"type": "object"}, None)
    if not isinstance(schema, dict):
        raise TranslationError("`response_format.json_schema.schema` must be a JSON Schema object", _SCHEMA)
    model = str(out.get("model") or "")
    strict = spec.get("strict") is True
    if supports_native(model) and (strict or not _has_open_object(schema)):
        problem = unsupported_keyword(schema)
        if problem is None:
            config = json_object(out.get("output_config"))
            out["output_config"] = {**config, "format": {"type": "json_schema", "schema": native_schema(schema)}}
            return None
        if strict:
            where, keyword = problem
            raise TranslationError(
                f"the JSON schema uses `{keyword}` (at {where}), which {model}'s structured outputs cannot enforce; "
                "leave it out, or set `strict` to false to have it followed as guidance",
                where,
            )
    description = spec.get("description") if isinstance(spec.get("description"), str) else None
    return _force_tool(out, schema, description)


_SCHEMA = "response_format.json_schema.schema"


def _force_tool(out: dict[str, Any], schema: dict[str, Any], description: str | None) -> str:
    kind = schema.get("type")
    if kind not in (None, "object") or (kind is None and not isinstance(schema.get("properties"), dict)):
        raise TranslationError(
            "a JSON schema whose root is not an object cannot be answered by this Anthropic model (it has no native "
            "structured outputs, and a tool's input must be an object): make the root `type` 'object'",
            f"{_SCHEMA}.type",
        )
    tools: list[dict[str, Any]] = out.setdefault("tools", [])
    names = {t.get("name") for t in tools if isinstance(t, dict)}
    name, n = ANSWER_TOOL, 1
    while name in names:
        name, n = f"{ANSWER_TOOL}_{n}", n + 1
    about = "Give your final answer by calling this tool: its input is the answer, as a JSON object."
    if description:
        about += f" The answer: {description}"
    tools.append({"name": name, "description": about, "input_schema": {**schema, "type": "object"}})
    choice = json_object(out.get("tool_choice"))
    thinking = json_object(out.get("thinking")).get("type") in ("enabled", "adaptive")
    client_tools = len(tools) > 1 and choice.get("type") != "none"  # 'none': none of the client's, ours still
    if thinking or client_tools:
        kept = choice if client_tools and choice.get("type") in ("auto", "any", "tool") else {}
        if thinking and kept.get("type") in ("any", "tool"):
            kept = {}  # extended thinking allows only auto (or none)
        out["tool_choice"] = {**kept, "type": kept.get("type", "auto")}
        system: list[dict[str, Any]] = out.setdefault("system", [])
        system.append({"type": "text", "text": f"Give your final answer by calling the `{name}` tool, not as text."})
    else:
        out["tool_choice"] = {"type": "tool", "name": name, "disable_parallel_tool_use": True}  # one answer
    return name


# ------------------------------------------------------------------------------------------------
# Schemas: what Anthropic's grammar enforces
# ------------------------------------------------------------------------------------------------


def unsupported_keyword(schema: dict[str, Any]) -> tuple[str, str] | None:
    """The first keyword of ``schema`` that Anthropic's structured outputs cannot enforce, as
    ``(where, keyword)`` (``where`` a dotted path below ``response_format.json_schema.schema``), or
    ``None`` when the whole schema can be enforced."""
    defs = {**json_object(schema.get("definitions")), **json_object(schema.get("$defs"))}
    found = _walk(schema, _SCHEMA)
    if found is not None:
        return found
    cycle = _recursive_ref(defs)
    if cycle is not None:
        return f"{_SCHEMA}.$defs.{cycle}", "$ref"
    return None


def _walk(node: Any, where: str) -> tuple[str, str] | None:
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        at = f"{where}.{key}"
        if key in _ANNOTATIONS:
            continue
        if key not in _KEPT:
            return at, key
        if key == "additionalProperties" and value is not False:
            return at, key
        if key == "minItems" and value not in (0, 1):
            return at, key
        if key == "format" and value not in STRING_FORMATS:
            return at, key
        if key == "$ref" and not (isinstance(value, str) and value.startswith("#")):
            return at, key
        if key in ("enum", "const"):
            values = value if key == "enum" and isinstance(value, list) else [value]
            if not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
                return at, key
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for name, sub in value.items():
                found = _walk(sub, f"{at}.{name}")
                if found is not None:
                    return found
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            for k, sub in enumerate(value):
                found = _walk(sub, f"{at}[{k}]")
                if found is not None:
                    return found
        elif key == "items":
            if isinstance(value, list):  # tuple validation (draft 4-7): not a form Anthropic takes
                return at, key
            found = _walk(value, at)
            if found is not None:
                return found
    return None


def _has_open_object(schema: Any) -> bool:
    """Whether a (non-strict) schema has an object with no properties that is not closed: "any
    object", which closing it for the grammar would turn into "only {}" (the forced tool keeps it)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if (
                node.get("type") == "object"
                and not node.get("properties")
                and node.get("additionalProperties") is not False
            ):
                return True
            stack.extend(v for k, v in node.items() if isinstance(v, (dict, list)) and k not in ("enum", "const"))
    return False


def _refs(node: Any) -> set[str]:
    out: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                out.add(ref.rsplit("/", 1)[-1])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _recursive_ref(defs: dict[str, Any]) -> str | None:
    """A definition that refers back to itself, directly or through others (recursive schemas
    cannot be enforced), or ``None``."""
    graph = {name: _refs(sub) & defs.keys() for name, sub in defs.items()}
    for start in graph:
        seen: set[str] = set()
        stack = list(graph[start])
        while stack:
            name = stack.pop()
            if name == start:
                return start
            if name not in seen:
                seen.add(name)
                stack.extend(graph.get(name, ()))
    return None


def native_schema(schema: Any) -> Any:
    """``schema`` as ``output_config.format`` takes it: annotations dropped, every object closed
    (``additionalProperties: false``), ``oneOf`` as ``anyOf``. Call it on a schema
    :func:`unsupported_keyword` accepted."""
    if isinstance(schema, list):
        return [native_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: native_schema(sub) for name, sub in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "items"):
            out["anyOf" if key == "oneOf" else key] = native_schema(value)
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
    return out


# ------------------------------------------------------------------------------------------------
# Anthropic request -> chat request (the /v1/messages surface)
# ------------------------------------------------------------------------------------------------


def chat_response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    """The Messages request's ``output_config.format`` (or the older beta ``output_format``) as a
    Chat Completions ``response_format``, or ``None`` when it asks for none.

    Raises:
        TranslationError: the format is not ``{"type": "json_schema", "schema": {...}}``.
    """
    config = body.get("output_config")
    fmt, where = (config.get("format"), "output_config.format") if isinstance(config, dict) else (None, "")
    if fmt is None and body.get("output_format") is not None:
        fmt, where = body["output_format"], "output_format"
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise TranslationError(f"`{where}.type` must be 'json_schema'", f"{where}.type")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise TranslationError(f"`{where}.schema` must be a JSON Schema object", f"{where}.schema")
    spec: dict[str, Any] = {"name": "response", "schema": schema}
    if is_openai_strict(schema):
        spec["strict"] = True
    return {"type": "json_schema", "json_schema": spec}


def is_openai_strict(schema: Any) -> bool:
    """Whether ``schema`` meets OpenAI's strict structured-output rules: every object has
    ``additionalProperties: false`` and lists all its properties as ``required``."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        props = node.get("properties")
        if node.get("type") == "object" or isinstance(props, dict):
            if node.get("additionalProperties") is not False:
                return False
            if isinstance(props, dict) and set(node.get("required") or ()) != set(props):
                return False
        for key in ("properties", "$defs", "definitions"):
            if isinstance(node.get(key), dict):
                stack.extend(node[key].values())
        for key in ("anyOf", "oneOf", "allOf", "items"):
            if key in node:
                stack.append(node[key])
    return True
