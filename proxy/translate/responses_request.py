"""OpenAI Responses API requests -> Chat Completions requests, for upstreams that only speak Chat
Completions (the ``/v1/responses`` surface uses this for every target whose provider does not serve
the Responses API itself). Pure functions, no I/O.

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
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy.translate.common import TranslationError
from proxy.translate.responses_common import Tools, expect, kind_name, read_tools, text_format

STATELESS = "Switchboard is stateless for translated routes; send the whole conversation in input"
_TEXT_PARTS = ("input_text", "output_text", "text")
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def responses_request_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses API request -> a Chat Completions request body (``model`` kept as given)."""
    expect(body, dict, "an object", "body")
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
    tools = read_tools(body)
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        expect(instructions, str, "a string", "instructions")
        if instructions:
            messages.append({"role": "system", "content": instructions})
    items = body.get("input")
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
    elif isinstance(items, list):
        for i, item in enumerate(items):
            _add_item(messages, item, f"input[{i}]", tools)
    elif items is not None:
        raise TranslationError(f"input must be a string or an array of items, not {kind_name(items)}", "input")

    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    choice, chat_tools = _tool_choice(body, tools)
    if chat_tools:
        chat["tools"] = chat_tools
        if choice is not None:
            chat["tool_choice"] = choice
        if body.get("parallel_tool_calls") is not None:
            chat["parallel_tool_calls"] = expect(body["parallel_tool_calls"], bool, "a boolean", "parallel_tool_calls")
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            chat[name] = expect(body[name], (int, float), "a number", name)
    if body.get("user") is not None:
        chat["user"] = expect(body["user"], str, "a string", "user")
    if body.get("max_output_tokens") is not None:
        limit = expect(body["max_output_tokens"], int, "an integer", "max_output_tokens")
        if limit < 1:
            raise TranslationError("max_output_tokens must be at least 1", "max_output_tokens")
        chat["max_tokens"] = limit
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    reasoning = body.get("reasoning")
    if reasoning is not None:
        expect(reasoning, dict, "an object", "reasoning")
        if reasoning.get("effort") is not None:
            chat["reasoning_effort"] = expect(reasoning["effort"], str, "a string", "reasoning.effort")
    stream = body.get("stream")
    if stream is not None and expect(stream, bool, "a boolean", "stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def dropped_tools(body: dict[str, Any]) -> list[str]:
    """Names (or types) of the request's tools that a Chat Completions upstream cannot run."""
    return read_tools(body, strict=False).dropped


def _tool_choice(body: dict[str, Any], tools: Tools) -> tuple[str | dict[str, Any] | None, list[dict[str, Any]]]:
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
    expect(choice, dict, "a string or an object", "tool_choice")
    kind = choice.get("type")
    if kind in ("function", "custom"):
        name = expect(choice.get("name"), str, "a string", "tool_choice.name")
        chat_name = _find_tool(tools, name)
        if chat_name is None:
            raise TranslationError(f"tool_choice names {name!r}, which is not among the tools", "tool_choice.name")
        return {"type": "function", "function": {"name": chat_name}}, chat_tools
    if kind == "allowed_tools":
        mode = choice.get("mode", "auto")
        if mode not in ("auto", "required"):
            raise TranslationError("tool_choice.mode must be 'auto' or 'required'", "tool_choice.mode")
        allowed = expect(choice.get("tools"), list, "an array", "tool_choice.tools")
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


def _find_tool(tools: Tools, name: str) -> str | None:
    if name in tools.origin:
        return name
    return next((chat for chat, (_, bare) in tools.origin.items() if bare == name), None)


def _response_format(text: object) -> dict[str, Any] | None:
    fmt = text_format(text)
    if fmt is None or fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {k: v for k, v in fmt.items() if k != "type"}}


def _add_item(messages: list[dict[str, Any]], item: object, at: str, tools: Tools) -> None:
    item = expect(item, dict, "an object", at)
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
        call_id = expect(item.get("call_id"), str, "a string", f"{at}.call_id")
        name = expect(item.get("name"), str, "a string", f"{at}.name")
        namespace = item.get("namespace")
        if namespace is not None:
            expect(namespace, str, "a string", f"{at}.namespace")
        if kind == "custom_tool_call":
            arguments = orjson.dumps({"input": expect(item.get("input"), str, "a string", f"{at}.input")}).decode()
        else:
            raw = item.get("arguments")
            arguments = "{}" if raw is None else expect(raw, str, "a string", f"{at}.arguments")
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
        call_id = expect(item.get("call_id"), str, "a string", f"{at}.call_id")
        output = item.get("output")
        if not isinstance(output, str):
            if not isinstance(output, list):
                raise TranslationError(f"output must be a string or an array of parts, not {kind_name(output)}", at)
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


def _parts(content: object, at: str) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        raise TranslationError(f"content must be a string or an array of parts, not {kind_name(content)}", at)
    for k, part in enumerate(content):
        expect(part, dict, "an object", f"{at}[{k}]")
    return content


def _plain_text(content: object, at: str) -> str:
    """Text-only content (system, developer and assistant messages, tool outputs)."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    texts = []
    for k, part in enumerate(_parts(content, at)):
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            texts.append(expect(part.get("text"), str, "a string", f"{at}[{k}].text"))
        elif kind == "refusal":
            texts.append(expect(part.get("refusal"), str, "a string", f"{at}[{k}].refusal"))
        else:
            raise TranslationError(f"a {kind!r} part cannot be sent here, only text", f"{at}[{k}].type")
    return "".join(texts)


def _user_content(content: object, at: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for k, part in enumerate(_parts(content, at)):
        kind, where = part.get("type"), f"{at}[{k}]"
        if kind in _TEXT_PARTS:
            parts.append({"type": "text", "text": expect(part.get("text"), str, "a string", f"{where}.text")})
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
