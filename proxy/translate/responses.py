"""OpenAI Responses API <-> Chat Completions, for upstreams that only speak Chat Completions.

The ``/v1/responses`` surface uses these for every target whose provider does not serve the
Responses API itself. Pure functions and a per-request stream translator; no I/O.

Request (:func:`responses_request_to_chat`):

- ``instructions`` -> a first system message; ``input`` as a string -> one user message.
- ``message`` items (with or without ``"type"``): ``user``/``assistant``/``system`` roles as
  they are, ``developer`` -> ``system`` (the widest-supported role). Parts: ``input_text`` and
  ``output_text`` -> text, ``input_image`` (``image_url``: URL or data URL, ``detail``) -> an
  ``image_url`` part, ``input_file`` with ``file_data`` -> a ``file`` part. Images and files
  only in user messages (Chat Completions has them nowhere else).
- ``function_call`` items -> assistant ``tool_calls``: consecutive calls join ONE assistant
  message, which is the directly preceding assistant text message if there is one;
  ``call_id`` is the chat tool-call id. ``function_call_output`` -> a ``tool`` message.
- Custom (freeform) tools, such as Codex's ``apply_patch``, become function tools with one
  string parameter ``input`` (a grammar, if given, goes into its description); the model's call
  comes back as a ``custom_tool_call`` with that string as ``input``. ``custom_tool_call`` and
  ``custom_tool_call_output`` input items map to tool calls and ``tool`` messages the same way.
- ``namespace`` tools (client-run function/custom tools in a group) are flattened to
  ``<namespace>__<name>``; calls come back with ``namespace`` and ``name`` split again.
- ``reasoning`` input items are dropped: Chat Completions has no place for them (their content
  is usually encrypted for OpenAI anyway). ``web_search_call`` items are dropped too: they carry
  no results, only the fact that a search ran.
- Built-in tools that only OpenAI runs or that need OpenAI-trained item types (``web_search``,
  ``web_search_preview``, ``file_search``, ``code_interpreter``, ``computer_use_preview``,
  ``image_generation``, ``mcp``, ``local_shell``, ``shell``, ``apply_patch``, ``tool_search``
  ...) are dropped; :func:`dropped_tools` names them for the log. A ``tool_choice`` that
  requires one is an error.
- ``tool_choice``: ``auto``/``none``/``required`` as they are, ``{"type": "function"|"custom",
  "name"}`` -> ``{"type": "function", "function": {"name"}}``, ``allowed_tools`` -> the tool
  list cut to the allowed ones, with ``auto`` or ``required``.
- ``max_output_tokens`` -> ``max_tokens``, not ``max_completion_tokens``: every
  OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio, Groq, Mistral...) understands
  ``max_tokens``, and OpenAI still accepts it for non-reasoning models.
- ``temperature``, ``top_p``, ``user``, ``parallel_tool_calls`` (only with tools) as they are;
  ``text.format`` -> ``response_format``; ``reasoning.effort`` -> ``reasoning_effort``;
  ``stream`` -> ``stream`` with ``stream_options.include_usage``.
- Dropped: ``store``, ``include``, ``metadata`` (chat ``metadata`` requires ``store``),
  ``prompt_cache_key``, ``prompt_cache_retention``, ``prompt_cache_options``, ``service_tier``,
  ``truncation``, ``safety_identifier``, ``top_logprobs``, ``max_tool_calls``,
  ``stream_options``, ``context_management``, ``moderation``, ``client_metadata``,
  ``reasoning.summary``, ``text.verbosity``.
- Refused (:class:`TranslationError` naming the field): ``previous_response_id``,
  ``conversation``, ``item_reference`` items and ``prompt`` (stored templates): Switchboard
  keeps no state on translated routes, so the whole conversation must be in ``input``;
  ``background: true``; and wrong types, e.g. ``input[2].content[0].type``.

Response (:func:`chat_completion_to_response`, :class:`ResponsesStream`): the reasoning text an
upstream returns (``reasoning_content`` as DeepSeek, vLLM and others send it, or ``reasoning``
as OpenRouter and Ollama do) becomes a ``reasoning`` item with one ``summary_text`` — only where
the upstream returns it; then the ``message`` item (``output_text`` and/or ``refusal``), then one
``function_call`` (or ``custom_tool_call``) item per tool call. ``finish_reason`` ``length`` ->
status ``incomplete`` (``max_output_tokens``), ``content_filter`` -> ``incomplete``
(``content_filter``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from proxy.translate.common import TranslationError, sse_event

__all__ = [
    "ResponsesStream",
    "TranslationError",
    "chat_completion_to_response",
    "dropped_tools",
    "responses_request_to_chat",
]

STATELESS = "Switchboard is stateless for translated routes; send the whole conversation in input"
ERROR_CODES = frozenset(
    "server_error rate_limit_exceeded invalid_prompt data_residency_mismatch bio_policy vector_store_timeout "
    "invalid_image invalid_image_format invalid_base64_image invalid_image_url image_too_large image_too_small "
    "image_parse_error image_content_policy_violation invalid_image_mode image_file_too_large "
    "unsupported_image_media_type empty_image_file failed_to_download_image image_file_not_found".split()
)
"""The codes the Responses API (and the openai SDK's ``ResponseError``) knows."""

_TEXT_PARTS = ("input_text", "output_text", "text")
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_NAMESPACE_SEP = "__"


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "object", list: "array", str: "string"}.get(type(value), "a value")


def _expect(value: Any, types: type | tuple[type, ...], what: str, param: str) -> Any:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise TranslationError(f"{param} must be {what}, not a boolean", param)
    if not isinstance(value, types):
        raise TranslationError(f"{param} must be {what}, not {_kind(value)}", param)
    return value


# ------------------------------------------------------------------------------------------------
# Tools
# ------------------------------------------------------------------------------------------------


@dataclass
class _Tools:
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


def _tools(body: dict[str, Any], strict: bool = True) -> _Tools:
    """What becomes of the request's tools. ``strict``: raise on malformed ones (else skip them)."""
    out = _Tools()
    tools = body.get("tools")
    if tools is None:
        return out
    if not isinstance(tools, list):
        if strict:
            raise TranslationError(f"tools must be an array, not {_kind(tools)}", "tools")
        return out
    for k, tool in enumerate(tools):
        try:
            _add_tool(out, tool, f"tools[{k}]")
        except TranslationError:
            if strict:
                raise
    return out


def _add_tool(out: _Tools, tool: Any, at: str) -> None:
    _expect(tool, dict, "an object", at)
    kind = _expect(tool.get("type"), str, "a string", f"{at}.type")
    if kind == "namespace":
        namespace = _expect(tool.get("name"), str, "a string", f"{at}.name")
        inner = _expect(tool.get("tools"), list, "an array", f"{at}.tools")
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


def _add_callable(out: _Tools, tool: dict[str, Any], at: str, namespace: str | None) -> None:
    name = _expect(tool.get("name"), str, "a string", f"{at}.name")
    if not name:
        raise TranslationError("a tool needs a name", f"{at}.name")
    description = tool.get("description")
    if description is not None:
        _expect(description, str, "a string", f"{at}.description")
    function: dict[str, Any] = {"name": out.chat_name(name, namespace)}
    if function["name"] in out.origin:
        raise TranslationError(f"two tools are named {function['name']!r}", f"{at}.name")
    if description:
        function["description"] = description
    if tool["type"] == "function":
        parameters = tool.get("parameters")
        if parameters is not None:
            _expect(parameters, dict, "an object (a JSON schema)", f"{at}.parameters")
        function["parameters"] = parameters or {"type": "object", "properties": {}}
        if tool.get("strict") is not None:
            function["strict"] = _expect(tool["strict"], bool, "a boolean", f"{at}.strict")
    else:
        hint = "The raw input for this tool: free text, not JSON."
        fmt = tool.get("format")
        if fmt is not None:
            _expect(fmt, dict, "an object", f"{at}.format")
            if fmt.get("type") == "grammar":
                definition = _expect(fmt.get("definition"), str, "a string", f"{at}.format.definition")
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


def dropped_tools(body: dict[str, Any]) -> list[str]:
    """Names (or types) of the request's tools that a Chat Completions upstream cannot run."""
    return _tools(body, strict=False).dropped


def _tool_choice(body: dict[str, Any], tools: _Tools) -> tuple[Any, list[dict[str, Any]]]:
    """The chat ``tool_choice`` (``None``: leave it out) and the chat tools to send."""
    choice = body.get("tool_choice")
    chat_tools = tools.chat
    if choice is None:
        return None, chat_tools
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise TranslationError("tool_choice must be 'auto', 'none', 'required' or an object", "tool_choice")
        if choice == "required" and not chat_tools:
            raise TranslationError(
                "tool_choice is 'required' but no tool can be sent to this upstream"
                + (f" (left out: {', '.join(tools.dropped)})" if tools.dropped else ""),
                "tool_choice",
            )
        return (choice if chat_tools else None), chat_tools
    _expect(choice, dict, "a string or an object", "tool_choice")
    kind = choice.get("type")
    if kind in ("function", "custom"):
        name = _expect(choice.get("name"), str, "a string", "tool_choice.name")
        chat_name = _find_tool(tools, name)
        if chat_name is None:
            raise TranslationError(f"tool_choice names {name!r}, which is not among the tools", "tool_choice.name")
        return {"type": "function", "function": {"name": chat_name}}, chat_tools
    if kind == "allowed_tools":
        mode = choice.get("mode", "auto")
        if mode not in ("auto", "required"):
            raise TranslationError("tool_choice.mode must be 'auto' or 'required'", "tool_choice.mode")
        allowed = _expect(choice.get("tools"), list, "an array", "tool_choice.tools")
        names = set()
        for j, entry in enumerate(allowed):
            if isinstance(entry, dict) and entry.get("type") in ("function", "custom"):
                found = _find_tool(tools, str(entry.get("name")))
                if found is None:
                    raise TranslationError("this tool is not among the tools", f"tool_choice.tools[{j}].name")
                names.add(found)
        chat_tools = [t for t in chat_tools if t["function"]["name"] in names]
        if not chat_tools:
            if mode == "required":
                raise TranslationError("tool_choice requires tools that cannot be sent to this upstream", "tool_choice")
            return None, []
        return mode, chat_tools
    raise TranslationError(
        f"tool_choice requires the built-in tool {kind!r}, which a Chat Completions upstream cannot run",
        "tool_choice",
    )


def _find_tool(tools: _Tools, name: str) -> str | None:
    if name in tools.origin:
        return name
    return next((chat for chat, (_, bare) in tools.origin.items() if bare == name), None)


# ------------------------------------------------------------------------------------------------
# Request
# ------------------------------------------------------------------------------------------------


def responses_request_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses API request -> a Chat Completions request body (``model`` kept as given)."""
    _expect(body, dict, "an object", "body")
    if body.get("previous_response_id") is not None:
        raise TranslationError(f"previous_response_id is not supported: {STATELESS}", "previous_response_id")
    if body.get("conversation") is not None:
        raise TranslationError(f"conversation is not supported: {STATELESS}", "conversation")
    if body.get("prompt") is not None:
        raise TranslationError(
            "prompt (a prompt template stored by OpenAI) is not supported on translated routes: send instructions "
            "and input instead",
            "prompt",
        )
    if body.get("background"):
        raise TranslationError(
            "background responses are not supported: Switchboard does not store responses", "background"
        )
    tools = _tools(body)
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        _expect(instructions, str, "a string", "instructions")
        if instructions:
            messages.append({"role": "system", "content": instructions})
    items = body.get("input")
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
    elif isinstance(items, list):
        for i, item in enumerate(items):
            _add_item(messages, item, f"input[{i}]", tools)
    elif items is not None:
        raise TranslationError(f"input must be a string or an array of items, not {_kind(items)}", "input")

    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    choice, chat_tools = _tool_choice(body, tools)
    if chat_tools:
        chat["tools"] = chat_tools
        if choice is not None:
            chat["tool_choice"] = choice
        if body.get("parallel_tool_calls") is not None:
            chat["parallel_tool_calls"] = _expect(body["parallel_tool_calls"], bool, "a boolean", "parallel_tool_calls")
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            chat[name] = _expect(body[name], (int, float), "a number", name)
    if body.get("user") is not None:
        chat["user"] = _expect(body["user"], str, "a string", "user")
    if body.get("max_output_tokens") is not None:
        limit = _expect(body["max_output_tokens"], int, "an integer", "max_output_tokens")
        if limit < 1:
            raise TranslationError("max_output_tokens must be at least 1", "max_output_tokens")
        chat["max_tokens"] = limit
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    reasoning = body.get("reasoning")
    if reasoning is not None:
        _expect(reasoning, dict, "an object", "reasoning")
        if reasoning.get("effort") is not None:
            chat["reasoning_effort"] = _expect(reasoning["effort"], str, "a string", "reasoning.effort")
    stream = body.get("stream")
    if stream is not None and _expect(stream, bool, "a boolean", "stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _text_format(text: Any, strict: bool = True) -> dict[str, Any] | None:
    """``text.format`` checked and normalised (``None``: plain text)."""
    if text is None:
        return None
    try:
        _expect(text, dict, "an object", "text")
        fmt = text.get("format")
        if fmt is None:
            return None
        _expect(fmt, dict, "an object", "text.format")
        kind = fmt.get("type")
        if kind == "json_schema":
            schema = _expect(fmt.get("schema"), dict, "an object (a JSON schema)", "text.format.schema")
            out = {"type": "json_schema", "name": fmt.get("name") or "response", "schema": schema}
            _expect(out["name"], str, "a string", "text.format.name")
            if fmt.get("description") is not None:
                out["description"] = _expect(fmt["description"], str, "a string", "text.format.description")
            if fmt.get("strict") is not None:
                out["strict"] = _expect(fmt["strict"], bool, "a boolean", "text.format.strict")
            return out
        if kind in ("text", "json_object"):
            return {"type": kind}
        raise TranslationError("text.format.type must be 'text', 'json_object' or 'json_schema'", "text.format.type")
    except TranslationError:
        if strict:
            raise
        return None


def _response_format(text: Any) -> dict[str, Any] | None:
    fmt = _text_format(text)
    if fmt is None or fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {k: v for k, v in fmt.items() if k != "type"}}


def _add_item(messages: list[dict[str, Any]], item: Any, at: str, tools: _Tools) -> None:
    _expect(item, dict, "an object", at)
    kind = item.get("type")
    if kind is None and "role" in item:
        kind = "message"
    if kind == "message":
        role = item.get("role")
        if role not in _ROLES:
            raise TranslationError(f"role must be user, assistant, system or developer, not {role!r}", f"{at}.role")
        content = item.get("content")
        if role == "user":
            messages.append({"role": "user", "content": _user_content(content, f"{at}.content")})
        else:
            messages.append({"role": _ROLES[role], "content": _plain_text(content, f"{at}.content")})
    elif kind in ("function_call", "custom_tool_call"):
        call_id = _expect(item.get("call_id"), str, "a string", f"{at}.call_id")
        name = _expect(item.get("name"), str, "a string", f"{at}.name")
        namespace = item.get("namespace")
        if namespace is not None:
            _expect(namespace, str, "a string", f"{at}.namespace")
        if kind == "custom_tool_call":
            arguments = orjson.dumps({"input": _expect(item.get("input"), str, "a string", f"{at}.input")}).decode()
        else:
            arguments = item.get("arguments")
            arguments = "{}" if arguments is None else _expect(arguments, str, "a string", f"{at}.arguments")
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": tools.chat_name(name, namespace), "arguments": arguments},
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)
            if not last.get("content"):
                last["content"] = None
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind in ("function_call_output", "custom_tool_call_output"):
        call_id = _expect(item.get("call_id"), str, "a string", f"{at}.call_id")
        output = item.get("output")
        if not isinstance(output, str):
            if not isinstance(output, list):
                raise TranslationError(f"output must be a string or an array of parts, not {_kind(output)}", at)
            output = _plain_text(output, f"{at}.output")
        messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
    elif kind in ("reasoning", "web_search_call"):
        return  # Chat Completions has no place for them (see the module docstring)
    elif kind == "item_reference":
        raise TranslationError(f"item_reference is not supported: {STATELESS}", f"{at}.type")
    elif kind is None:
        raise TranslationError("an input item needs a type (or a role)", f"{at}.type")
    else:
        raise TranslationError(f"input item type {kind!r} cannot be sent to a Chat Completions upstream", f"{at}.type")


def _parts(content: Any, at: str) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        raise TranslationError(f"content must be a string or an array of parts, not {_kind(content)}", at)
    for k, part in enumerate(content):
        _expect(part, dict, "an object", f"{at}[{k}]")
    return content


def _plain_text(content: Any, at: str) -> str:
    """Text-only content (system, developer and assistant messages, tool outputs)."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    texts = []
    for k, part in enumerate(_parts(content, at)):
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            texts.append(_expect(part.get("text"), str, "a string", f"{at}[{k}].text"))
        elif kind == "refusal":
            texts.append(_expect(part.get("refusal"), str, "a string", f"{at}[{k}].refusal"))
        else:
            raise TranslationError(f"a {kind!r} part cannot be sent here, only text", f"{at}[{k}].type")
    return "".join(texts)


def _user_content(content: Any, at: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for k, part in enumerate(_parts(content, at)):
        kind, where = part.get("type"), f"{at}[{k}]"
        if kind in _TEXT_PARTS:
            parts.append({"type": "text", "text": _expect(part.get("text"), str, "a string", f"{where}.text")})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                raise TranslationError(
                    "only images given by image_url (a URL or a data URL) can be sent to this upstream, "
                    "not OpenAI file ids",
                    f"{where}.image_url",
                )
            image: dict[str, Any] = {"url": url}
            detail = part.get("detail")
            if detail is not None:
                if detail not in ("low", "high", "auto"):
                    raise TranslationError("detail must be 'low', 'high' or 'auto'", f"{where}.detail")
                image["detail"] = detail
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            data = part.get("file_data")
            if not isinstance(data, str) or not data:
                raise TranslationError(
                    "only files sent inline as file_data can be sent to this upstream", f"{where}.file_data"
                )
            parts.append({"type": "file", "file": {"file_data": data, "filename": part.get("filename") or "file"}})
        else:
            raise TranslationError(f"unsupported content part type {kind!r}", f"{where}.type")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


# ------------------------------------------------------------------------------------------------
# Response
# ------------------------------------------------------------------------------------------------


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None

    def count(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    prompt = count(usage.get("prompt_tokens"))
    completion = count(usage.get("completion_tokens"))
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    out_details = usage.get("completion_tokens_details")
    out_details = out_details if isinstance(out_details, dict) else {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": count(details.get("cached_tokens")),
            "cache_write_tokens": count(details.get("cache_creation_tokens") or details.get("cache_write_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": count(out_details.get("reasoning_tokens"))},
        "total_tokens": count(usage.get("total_tokens")) or prompt + completion,
    }


def _status(finish_reason: Any) -> tuple[str, dict[str, str] | None]:
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def _echo(request: dict[str, Any], name: str, types: type | tuple[type, ...], default: Any = None) -> Any:
    value = request.get(name)
    return value if isinstance(value, types) and not isinstance(value, bool) else default


def _response(
    request: dict[str, Any],
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    incomplete: dict[str, str] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object: every field the spec requires, the request's settings repeated.

    No ``output_text`` (an SDK-side convenience) and no ``store`` (OpenAI sends it, but neither
    the spec's ``Response`` nor the SDK's model has it; nothing is stored here anyway)."""
    tools = _tools(request, strict=False)
    choice = request.get("tool_choice")
    if not (choice in ("auto", "none", "required") or isinstance(choice, dict)):
        choice = "auto"
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else {}
    text: dict[str, Any] = {"format": _text_format(request.get("text"), strict=False) or {"type": "text"}}
    if isinstance(request.get("text"), dict) and request["text"].get("verbosity") in ("low", "medium", "high"):
        text["verbosity"] = request["text"]["verbosity"]
    parallel = request.get("parallel_tool_calls")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "completed_at": max(created_at, int(time.time())) if status == "completed" else None,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": _echo(request, "instructions", str),
        "max_output_tokens": _echo(request, "max_output_tokens", int),
        "max_tool_calls": _echo(request, "max_tool_calls", int),
        "metadata": _echo(request, "metadata", dict, {}),
        "model": model,
        "output": output,
        "parallel_tool_calls": parallel if isinstance(parallel, bool) else True,
        "previous_response_id": None,
        "prompt_cache_key": _echo(request, "prompt_cache_key", str),
        "reasoning": {
            "effort": reasoning.get("effort") if isinstance(reasoning.get("effort"), str) else None,
            "summary": reasoning.get("summary") if isinstance(reasoning.get("summary"), str) else None,
        },
        "safety_identifier": _echo(request, "safety_identifier", str),
        "temperature": _echo(request, "temperature", (int, float), 1.0),
        "text": text,
        "tool_choice": choice,
        "tools": tools.echo,
        "top_logprobs": _echo(request, "top_logprobs", int),
        "top_p": _echo(request, "top_p", (int, float), 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": _echo(request, "user", str),
    }


def _text_part(text: str = "") -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item_id: str, content: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def _reasoning_item(item_id: str, summary: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": summary}


def _custom_input(arguments: str) -> str:
    """A custom tool's input from the arguments of the function that stood in for it."""
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return arguments  # the model wrote the raw input, not JSON
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return value["input"]
    return value if isinstance(value, str) else arguments


def _call_item(item_id: str, call_id: str, chat_name: str, arguments: str, tools: _Tools) -> dict[str, Any]:
    namespace, name = tools.origin.get(chat_name, (None, chat_name))
    if chat_name in tools.custom:
        item = {"id": item_id, "type": "custom_tool_call", "call_id": call_id, "name": name}
        item["input"] = _custom_input(arguments)
    else:
        item = {"id": item_id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
        item["status"] = "completed"
    if namespace is not None:
        item["namespace"] = namespace
    return item


def _ids(response_id: str) -> str:
    return response_id.removeprefix("resp_")


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # some servers send content as parts
        return "".join(p.get("text", "") for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def chat_completion_to_response(
    completion: dict[str, Any], request: dict[str, Any], response_id: str, created_at: int
) -> dict[str, Any]:
    """A ``chat.completion`` -> a Responses ``response`` object (status completed, or incomplete).

    ``choices[0]`` only (the Responses API has no ``n``). Reasoning text, where the upstream
    returns it (``reasoning_content`` or ``reasoning``), becomes a ``reasoning`` item whose
    ``summary`` is that text. ``model`` is the request's (the name the client asked for).
    """
    choices = completion.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    tools = _tools(request, strict=False)
    base = _ids(response_id)
    output: list[dict[str, Any]] = []
    reasoning = _text_of(message.get("reasoning_content")) or _text_of(message.get("reasoning"))
    if reasoning:
        output.append(_reasoning_item(f"rs_{base}_{len(output)}", [{"type": "summary_text", "text": reasoning}]))
    text = _text_of(message.get("content"))
    refusal = message.get("refusal") if isinstance(message.get("refusal"), str) else ""
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    if text or refusal or not calls:
        content = [_text_part(text)] if text or not refusal else []
        if refusal:
            content.append({"type": "refusal", "refusal": refusal})
        output.append(_message_item(f"msg_{base}_{len(output)}", content))
    for k, call in enumerate(calls):
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        call_id = call.get("id") if isinstance(call.get("id"), str) and call.get("id") else f"call_{base}_{k}"
        arguments = function.get("arguments") if isinstance(function.get("arguments"), str) else ""
        item_id = f"{'ctc' if function.get('name') in tools.custom else 'fc'}_{base}_{len(output)}"
        output.append(_call_item(item_id, call_id, str(function.get("name") or ""), arguments, tools))
    status, incomplete = _status(choice.get("finish_reason"))
    model = request.get("model") or completion.get("model") or ""
    return _response(
        request, response_id, created_at, model, status, output, _usage(completion.get("usage")), incomplete
    )


# ------------------------------------------------------------------------------------------------
# Stream
# ------------------------------------------------------------------------------------------------


@dataclass
class _Call:
    """One chat tool call being streamed (chat streams it by ``index``)."""

    index: int
    """Its output index."""
    call_id: str
    name: str
    arguments: str = ""
    announced: bool = False
    """``response.output_item.added`` was sent."""
    sent: int = 0
    """How much of ``arguments`` went out as deltas."""


class ResponsesStream:
    """Turns ``chat.completion.chunk`` dicts into Responses SSE events (``event: X\\ndata: {...}\\n\\n``).

    The sequence is OpenAI's: ``response.created``, ``response.in_progress``; per output item
    ``response.output_item.added``, its content part (``content_part.added``/``done`` around the
    ``output_text``/``refusal`` deltas and done, ``reasoning_summary_part`` around the
    ``reasoning_summary_text`` ones, ``function_call_arguments.delta``/``done``,
    ``custom_tool_call_input.delta``/``done``), ``response.output_item.done``; finally
    ``response.completed`` (``response.incomplete`` when cut by ``length`` or ``content_filter``)
    with the whole response and usage. Every event has a ``sequence_number`` from 0.

    Items never overlap, as with OpenAI: a new kind of delta closes the open item. Tool calls get
    output indexes in the order they first appear. The first is streamed live; calls that start
    while it is open (parallel calls, which some servers interleave) are held and sent whole, in
    order, when the tool calls end (the end of the stream, or text after them). Custom-tool input
    arrives as the JSON arguments of the stand-in function, so it is sent in one delta when its
    item closes. A chat stream that goes back to a tool call after text raises
    :class:`TranslationError`.

    ``usage``: the chat usage seen so far (the chunk with empty ``choices`` is accounted, not emitted).
    """

    def __init__(self, request: dict[str, Any], response_id: str, created_at: int | None, model: str) -> None:
        self.request = request
        self.response_id = response_id
        self.created_at = created_at if created_at is not None else int(time.time())
        self.model = model
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self._tools = _tools(request, strict=False)
        self._base = _ids(response_id)
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._announced = 0  # output[:announced] were announced (added)
        self._block: dict[str, Any] | None = None  # the open message or reasoning item
        self._part: dict[str, Any] | None = None  # the open content part of that message
        self._calls: dict[int, _Call] = {}  # open tool calls by output index
        self._by_chat: dict[Any, _Call] = {}  # by chat index, and by chat id
        self._live: _Call | None = None
        self._closed_calls = 0

    # -- framing -------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return sse_event(kind, payload)

    def _snapshot(self, status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        usage = _usage(self.usage) if status != "in_progress" else None
        return _response(self.request, self.response_id, self.created_at, self.model, status, output, usage, **extra)

    def start(self) -> list[bytes]:
        """``response.created`` and ``response.in_progress`` (status in_progress, no output yet)."""
        snapshot = self._snapshot("in_progress", [])
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def _added(self, item: dict[str, Any], shown: dict[str, Any]) -> bytes:
        index = len(self._output)
        self._output.append(item)
        self._announced = len(self._output)
        return self._event("response.output_item.added", output_index=index, item=shown)

    def _item_done(self, index: int) -> bytes:
        return self._event("response.output_item.done", output_index=index, item=self._output[index])

    # -- message and reasoning -----------------------------------------------------------------

    def _open_block(self, kind: str) -> list[bytes]:
        """Make sure a ``kind`` (message/reasoning) item is open, closing whatever else is."""
        if self._block is not None and self._block["type"] == kind:
            return []
        out = self._close_calls() + self._close_block()
        item_id = f"{'msg' if kind == 'message' else 'rs'}_{self._base}_{len(self._output)}"
        if kind == "message":
            item = _message_item(item_id, [], status="in_progress")
            out.append(self._added(item, {**item, "content": []}))
        else:
            item = _reasoning_item(item_id, [{"type": "summary_text", "text": ""}])
            out.append(self._added(item, {**item, "summary": []}))
            out.append(
                self._event(
                    "response.reasoning_summary_part.added",
                    item_id=item_id,
                    output_index=len(self._output) - 1,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                )
            )
        self._block = item
        return out

    def _open_part(self, kind: str) -> list[bytes]:
        """Make sure the open message's last part is a ``kind`` (output_text/refusal) part."""
        if self._part is not None and self._part["type"] == kind:
            return []
        out = self._close_part()
        assert self._block is not None
        part = _text_part() if kind == "output_text" else {"type": "refusal", "refusal": ""}
        self._block["content"].append(part)
        self._part = part
        out.append(
            self._event(
                "response.content_part.added",
                item_id=self._block["id"],
                output_index=len(self._output) - 1,
                content_index=len(self._block["content"]) - 1,
                part=dict(part),
            )
        )
        return out

    def _close_part(self) -> list[bytes]:
        part, self._part = self._part, None
        if part is None or self._block is None:
            return []
        where = {
            "item_id": self._block["id"],
            "output_index": self._output.index(self._block),
            "content_index": len(self._block["content"]) - 1,
        }
        if part["type"] == "output_text":
            done = self._event("response.output_text.done", **where, text=part["text"], logprobs=[])
        else:
            done = self._event("response.refusal.done", **where, refusal=part["refusal"])
        return [done, self._event("response.content_part.done", **where, part=part)]

    def _close_block(self) -> list[bytes]:
        out = self._close_part()
        item, self._block = self._block, None
        if item is None:
            return out
        index = self._output.index(item)
        if item["type"] == "message":
            item["status"] = "completed"
        else:
            part = item["summary"][0]
            where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            out.append(self._event("response.reasoning_summary_text.done", **where, text=part["text"]))
            out.append(self._event("response.reasoning_summary_part.done", **where, part=part))
        out.append(self._item_done(index))
        return out

    def _reasoning(self, text: str) -> list[bytes]:
        out = self._open_block("reasoning")
        assert self._block is not None
        self._block["summary"][0]["text"] += text
        where = {"item_id": self._block["id"], "output_index": len(self._output) - 1, "summary_index": 0}
        out.append(self._event("response.reasoning_summary_text.delta", **where, delta=text))
        return out

    def _content(self, kind: str, text: str) -> list[bytes]:
        out = self._open_block("message")
        out += self._open_part(kind)
        assert self._block is not None and self._part is not None
        where = {
            "item_id": self._block["id"],
            "output_index": len(self._output) - 1,
            "content_index": len(self._block["content"]) - 1,
        }
        if kind == "output_text":
            self._part["text"] += text
            out.append(self._event("response.output_text.delta", **where, delta=text, logprobs=[]))
        else:
            self._part["refusal"] += text
            out.append(self._event("response.refusal.delta", **where, delta=text))
        return out

    # -- tool calls ----------------------------------------------------------------------------

    def _find_call(self, delta: dict[str, Any]) -> _Call | None:
        """The call a ``tool_calls`` delta continues (``None``: it starts a new one)."""
        chat_index, chat_id = delta.get("index"), delta.get("id")
        if isinstance(chat_id, str) and chat_id:
            if ("id", chat_id) in self._by_chat:
                return self._by_chat["id", chat_id]
            known = self._by_chat.get(("index", chat_index))
            if known is None or known.call_id == chat_id:
                return known
            if known.arguments or known.announced:
                return None  # a new id at a known index: servers that number every call 0
            known.call_id = chat_id  # the id came after the call's first delta
            self._by_chat["id", chat_id] = known
            return known
        if chat_index is None:
            return self._live or (self._calls[max(self._calls)] if self._calls else None)
        return self._by_chat.get(("index", chat_index))

    def _tool_call(self, delta: dict[str, Any]) -> list[bytes]:
        function = delta.get("function") if isinstance(delta.get("function"), dict) else {}
        name = function.get("name") if isinstance(function.get("name"), str) else ""
        piece = function.get("arguments") if isinstance(function.get("arguments"), str) else ""
        out: list[bytes] = []
        call = self._find_call(delta)
        if call is None:
            out += self._close_block()
            chat_id = delta.get("id") if isinstance(delta.get("id"), str) and delta.get("id") else None
            index = self._next_index()
            call = _Call(index=index, call_id=chat_id or f"call_{self._base}_{index}", name=name)
            self._calls[index] = call
            self._by_chat["index", delta.get("index")] = call
            if chat_id:
                self._by_chat["id", chat_id] = call
            if self._live is None:
                self._live = call
        elif call.index not in self._calls:
            raise TranslationError("the upstream went back to a tool call that had ended")
        elif name and not call.name:
            call.name = name
        call.arguments += piece
        if call is self._live:
            out += self._stream_live(call)
        return out

    def _next_index(self) -> int:
        """The output index of a call starting now: after every item and every open call."""
        return max([len(self._output) - 1, *self._calls]) + 1

    def _stream_live(self, call: _Call) -> list[bytes]:
        out: list[bytes] = []
        if not call.announced:
            if not call.name:
                return out  # announced once its name is known
            out.append(self._announce(call))
        if call.name not in self._tools.custom and len(call.arguments) > call.sent:
            item = self._output[call.index]
            out.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=call.index,
                    delta=call.arguments[call.sent :],
                )
            )
            call.sent = len(call.arguments)
        return out

    def _announce(self, call: _Call) -> bytes:
        custom = call.name in self._tools.custom
        item_id = f"{'ctc' if custom else 'fc'}_{self._base}_{call.index}"
        item = _call_item(item_id, call.call_id, call.name, "", self._tools)
        shown = dict(item)
        if not custom:
            shown["status"] = "in_progress"
        call.announced = True
        assert call.index == len(self._output), "tool calls are announced in order"
        return self._added(item, shown)

    def _close_calls(self) -> list[bytes]:
        """Finish every open tool call, live or held, in output order."""
        out: list[bytes] = []
        for index in sorted(self._calls):
            call = self._calls.pop(index)
            if not call.announced:
                out.append(self._announce(call))
            if call is self._live:
                out += self._stream_live(call)
            item = self._output[index]
            where = {"item_id": item["id"], "output_index": index}
            if item["type"] == "custom_tool_call":
                item["input"] = _custom_input(call.arguments)
                out.append(self._event("response.custom_tool_call_input.delta", **where, delta=item["input"]))
                out.append(self._event("response.custom_tool_call_input.done", **where, input=item["input"]))
            else:
                if call is not self._live and call.arguments:
                    out.append(self._event("response.function_call_arguments.delta", **where, delta=call.arguments))
                item["arguments"] = call.arguments
                item["status"] = "completed"
                out.append(
                    self._event(
                        "response.function_call_arguments.done", **where, name=item["name"], arguments=call.arguments
                    )
                )
            out.append(self._item_done(index))
        self._live = None
        return out

    # -- chunks --------------------------------------------------------------------------------

    def feed(self, chunk: dict[str, Any]) -> list[bytes]:
        """The events for one parsed ``chat.completion.chunk`` (choice 0; other choices ignored)."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        out: list[bytes] = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                out += self._reasoning(reasoning)
            if isinstance(delta.get("content"), str) and delta["content"]:
                out += self._content("output_text", delta["content"])
            if isinstance(delta.get("refusal"), str) and delta["refusal"]:
                out += self._content("refusal", delta["refusal"])
            for call in delta.get("tool_calls") or []:
                if isinstance(call, dict):
                    out += self._tool_call(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return out

    def finish(self) -> list[bytes]:
        """Close what is open; ``response.completed`` (or ``response.incomplete``) with usage."""
        out = self._close_block() + self._close_calls()
        if not self._output:  # nothing at all: an empty message, as the non-stream answer has
            out += self._open_block("message") + self._open_part("output_text") + self._close_block()
        status, incomplete = _status(self.finish_reason)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        out.append(self._event(kind, response=self._snapshot(status, list(self._output), incomplete=incomplete)))
        return out

    def fail(self, message: str, code: str | None) -> list[bytes]:
        """``response.failed`` (status failed, ``error {code, message}``), after a failure mid-stream.

        Open items stay unfinished (they were cut). ``code`` is used if the Responses API knows it
        (the SDK checks), else it is ``server_error`` and ``code`` goes in the message.
        """
        self._block = self._part = self._live = None
        self._calls.clear()
        if code in ERROR_CODES:
            error = {"code": code, "message": message}
        else:
            error = {"code": "server_error", "message": f"{message} ({code})" if code else message}
        output = list(self._output[: self._announced])
        return [self._event("response.failed", response=self._snapshot("failed", output, error=error))]

    def response(self) -> dict[str, Any]:
        """The response as assembled so far (after :meth:`finish`: the one in ``response.completed``)."""
        status, incomplete = _status(self.finish_reason)
        return self._snapshot(status, list(self._output), incomplete=incomplete)
