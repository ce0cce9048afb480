"""What the Responses request, answer and stream translations all read from a Responses request:
its tools (:class:`Tools`, :func:`read_tools`) and its ``text.format`` (:func:`text_format`), with
the type checks that name the offending field (:func:`expect`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from proxy.translate.common import TranslationError

_NAMESPACE_SEP = "__"
_T = TypeVar("_T")
_U = TypeVar("_U")
_KIND_NAMES: dict[type, str] = {dict: "object", list: "array", str: "string"}


def kind_name(value: object) -> str:
    """How an error names what was sent instead: null, object, array, string, or a value."""
    return "null" if value is None else _KIND_NAMES.get(type(value), "a value")


@overload
def expect(value: object, types: type[_T], what: str, param: str) -> _T: ...
@overload
def expect(value: object, types: tuple[type[_T], type[_U]], what: str, param: str) -> _T | _U: ...
def expect(value: object, types: type | tuple[type, ...], what: str, param: str) -> object:
    """``value`` if it is one of ``types`` (a boolean only if ``bool`` is named), else a
    :class:`TranslationError` naming ``param`` and saying it must be ``what``."""
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise TranslationError(f"{param} must be {what}, not a boolean", param)
    if not isinstance(value, types):
        raise TranslationError(f"{param} must be {what}, not {kind_name(value)}", param)
    return value


# ------------------------------------------------------------------------------------------------
# Tools
# ------------------------------------------------------------------------------------------------


@dataclass
class Tools:
    """What becomes of a Responses request's tools on the way to a Chat Completions upstream."""

    chat: list[dict[str, Any]] = field(default_factory=list)
    """The chat ``tools``, in request order."""
    custom: set[str] = field(default_factory=set)
    """Chat function names that stand for custom (freeform) tools."""
    origin: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    """Chat function name -> (namespace, name) in the Responses API."""
    dropped: list[str] = field(default_factory=list)
    echo: list[dict[str, Any]] = field(default_factory=list)
    """The request's tools that were carried over, as the response object repeats them."""

    def chat_name(self, name: str, namespace: str | None = None) -> str:
        return f"{namespace}{_NAMESPACE_SEP}{name}" if namespace else name


def read_tools(body: dict[str, Any], strict: bool = True) -> Tools:
    """What becomes of the request's tools. ``strict``: raise on malformed ones (else skip them)."""
    out = Tools()
    tools = body.get("tools")
    if tools is None:
        return out
    if not isinstance(tools, list):
        if strict:
            raise TranslationError(f"tools must be an array, not {kind_name(tools)}", "tools")
        return out
    for k, tool in enumerate(tools):
        try:
            _add_tool(out, tool, f"tools[{k}]")
        except TranslationError:
            if strict:
                raise
    return out


def _add_tool(out: Tools, tool: object, at: str) -> None:
    tool = expect(tool, dict, "an object", at)
    kind = expect(tool.get("type"), str, "a string", f"{at}.type")
    if kind == "namespace":
        namespace = expect(tool.get("name"), str, "a string", f"{at}.name")
        inner = expect(tool.get("tools"), list, "an array", f"{at}.tools")
        added = 0
        for j, sub in enumerate(inner):
            where = f"{at}.tools[{j}]"
            if isinstance(sub, dict) and sub.get("type") in ("function", "custom"):
                _add_callable(out, sub, where, namespace)
                added += 1
            else:
                raise TranslationError("a namespace holds function and custom tools only", f"{where}.type")
        if added:
            out.echo.append(tool)
        else:
            out.dropped.append(namespace)
    elif kind in ("function", "custom"):
        _add_callable(out, tool, at, None)
        out.echo.append(tool)
    else:
        out.dropped.append(str(tool.get("name") or tool.get("server_label") or kind))


def _add_callable(out: Tools, tool: dict[str, Any], at: str, namespace: str | None) -> None:
    name = expect(tool.get("name"), str, "a string", f"{at}.name")
    if not name:
        raise TranslationError("a tool needs a name", f"{at}.name")
    description = tool.get("description")
    if description is not None:
        expect(description, str, "a string", f"{at}.description")
    function: dict[str, Any] = {"name": out.chat_name(name, namespace)}
    if function["name"] in out.origin:
        raise TranslationError(f"two tools are named {function['name']!r}", f"{at}.name")
    if description:
        function["description"] = description
    if tool["type"] == "function":
        parameters = tool.get("parameters")
        if parameters is not None:
            expect(parameters, dict, "an object (a JSON schema)", f"{at}.parameters")
        function["parameters"] = parameters or {"type": "object", "properties": {}}
        if tool.get("strict") is not None:
            function["strict"] = expect(tool["strict"], bool, "a boolean", f"{at}.strict")
    else:
        hint = "The raw input for this tool: free text, not JSON."
        fmt = tool.get("format")
        if fmt is not None:
            expect(fmt, dict, "an object", f"{at}.format")
            if fmt.get("type") == "grammar":
                definition = expect(fmt.get("definition"), str, "a string", f"{at}.format.definition")
                hint += f" It must follow this {fmt.get('syntax') or 'grammar'} grammar:\n{definition}"
            elif fmt.get("type") != "text":
                raise TranslationError("format.type must be 'text' or 'grammar'", f"{at}.format.type")
        function["parameters"] = {
            "type": "object",
            "properties": {"input": {"type": "string", "description": hint}},
            "required": ["input"],
            "additionalProperties": False,
        }
        out.custom.add(function["name"])
    out.origin[function["name"]] = (namespace, name)
    out.chat.append({"type": "function", "function": function})


# ------------------------------------------------------------------------------------------------
# text.format
# ------------------------------------------------------------------------------------------------


def text_format(text: object, strict: bool = True) -> dict[str, Any] | None:
    """``text.format`` checked and normalised (``None``: plain text)."""
    if text is None:
        return None
    try:
        text = expect(text, dict, "an object", "text")
        fmt = text.get("format")
        if fmt is None:
            return None
        expect(fmt, dict, "an object", "text.format")
        kind = fmt.get("type")
        if kind == "json_schema":
            schema = expect(fmt.get("schema"), dict, "an object (a JSON schema)", "text.format.schema")
            out = {"type": "json_schema", "name": fmt.get("name") or "response", "schema": schema}
            expect(out["name"], str, "a string", "text.format.name")
            if fmt.get("description") is not None:
                out["description"] = expect(fmt["description"], str, "a string", "text.format.description")
            if fmt.get("strict") is not None:
                out["strict"] = expect(fmt["strict"], bool, "a boolean", "text.format.strict")
            return out
        if kind in ("text", "json_object"):
            return {"type": kind}
        raise TranslationError("text.format.type must be 'text', 'json_object' or 'json_schema'", "text.format.type")
    except TranslationError:
        if strict:
            raise
        return None
