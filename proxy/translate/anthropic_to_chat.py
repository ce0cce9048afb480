"""Anthropic Messages requests -> Chat Completions requests: the ``/v1/messages`` surface, so Claude
Code (or any Anthropic client) can use any OpenAI-compatible model. (The other direction, the
Anthropic adapter's, is :mod:`proxy.translate.anthropic_request`.)

Pure functions, no I/O; what cannot be carried is rejected with a
:class:`~proxy.translate.common.TranslationError` naming the field, or dropped when it is only a hint.
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy.translate.anthropic_structured import chat_response_format
from proxy.translate.common import TranslationError

MAX_TOKENS_FORWARDED = 16384
"""Anthropic requires ``max_tokens`` and tools such as Claude Code send the model's maximum (32k to
64k), which most other models refuse outright; above this, the upstream's own limit applies."""


def messages_to_chat_request(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An Anthropic Messages request -> (a Chat Completions request, names of dropped tools).

    - ``system`` (string or text blocks) -> one system message; text blocks of a turn join into
      one string (``cache_control`` is dropped: chat upstreams cache on their own).
    - ``tool_result`` blocks -> ``tool`` messages placed before the rest of their user turn; images
      inside a tool result follow as a user message, since tool messages carry text only.
      ``is_error`` results are prefixed with ``Error:``.
    - ``tool_use`` blocks -> assistant ``tool_calls`` (ids kept); ``thinking`` and
      ``redacted_thinking`` blocks are dropped (their signatures mean nothing to another model).
    - Images (base64 or URL) -> ``image_url`` parts; PDF documents -> ``file`` parts; plain-text
      documents -> text.
    - Custom tools -> function tools; Anthropic server tools (web search, code execution, bash,
      text editor, computer use) cannot run on another provider and are dropped: their names are
      returned so the caller can log them.
    - ``tool_choice`` auto/any/tool/none -> auto/required/function/none;
      ``disable_parallel_tool_use`` -> ``parallel_tool_calls: false``.
    - ``stop_sequences`` -> ``stop``; ``metadata.user_id`` -> ``user``; ``max_tokens`` kept up to
      :data:`MAX_TOKENS_FORWARDED`, dropped above it; ``system`` messages inside ``messages``
      (Anthropic's mid-conversation system messages) stay in place as system messages.
    - ``output_config.format`` (or the beta ``output_format``) -> ``response_format`` ``json_schema``
      (:func:`~proxy.translate.anthropic_structured.chat_response_format`).
    - Dropped: ``top_k``, ``thinking``, the rest of ``output_config``, ``service_tier``, ``container``,
      ``mcp_servers``, ``context_management`` and other Anthropic-only options.
    """
    out: dict[str, Any] = {"model": body.get("model")}
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    elif isinstance(system, list):
        if text := _system_text(system, "system"):
            messages.append({"role": "system", "content": text})
    elif system is not None:
        raise TranslationError("`system` must be a string or a list of text blocks", "system")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise TranslationError("`messages` must be a list", "messages")
    for i, msg in enumerate(raw_messages):
        path = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise TranslationError("each message must be an object", path)
        role = msg.get("role")
        content = msg.get("content")
        if role not in ("user", "assistant", "system"):
            raise TranslationError(f"unsupported role {role!r}: messages are 'user' or 'assistant'", f"{path}.role")
        if role == "system":  # a mid-conversation system message (Claude Code sends them) stays in place
            text = content if isinstance(content, str) else _system_text(content, f"{path}.content")
            if text:
                messages.append({"role": "system", "content": text})
        elif isinstance(content, str):
            messages.append({"role": role, "content": content})
        elif isinstance(content, list):
            if role == "user":
                messages += _anthropic_user_turn(content, f"{path}.content")
            else:
                messages.append(_anthropic_assistant_turn(content, f"{path}.content"))
        else:
            raise TranslationError("content must be a string or a list of blocks", f"{path}.content")
    out["messages"] = messages
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens <= MAX_TOKENS_FORWARDED:
        out["max_tokens"] = max_tokens
    stop = body.get("stop_sequences")
    if stop:
        out["stop"] = stop
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    dropped: list[str] = []
    tools = []
    for k, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise TranslationError("a tool needs a `name`", f"tools[{k}]")
        if tool.get("type") not in (None, "custom"):
            dropped.append(tool["name"])
            continue
        function: dict[str, Any] = {"name": tool["name"]}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        tools.append({"type": "function", "function": function})
    if tools:
        out["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "none":
            out["tool_choice"] = "none"
        elif tools:
            if kind == "any":
                out["tool_choice"] = "required"
            elif kind == "tool" and isinstance(choice.get("name"), str):
                out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
            elif kind != "auto":
                raise TranslationError("`tool_choice.type` must be auto, any, tool or none", "tool_choice.type")
            if choice.get("disable_parallel_tool_use") is True:
                out["parallel_tool_calls"] = False
    response_format = chat_response_format(body)
    if response_format is not None:
        out["response_format"] = response_format
    if body.get("stream") is True:
        out["stream"] = True
    return out, dropped


def _system_text(blocks: object, where: str) -> str:
    if not isinstance(blocks, list):
        raise TranslationError("system content must be a string or a list of text blocks", where)
    texts = [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    return "\n\n".join(t for t in texts if t)


def _anthropic_user_turn(blocks: list[Any], path: str) -> list[dict[str, Any]]:
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    late_images: list[dict[str, Any]] = []
    for k, block in enumerate(blocks):
        where = f"{path}[{k}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_result":
            tool_id = block.get("tool_use_id")
            if not isinstance(tool_id, str):
                raise TranslationError("a tool_result needs `tool_use_id`", f"{where}.tool_use_id")
            text, images = _tool_result_text(block.get("content"), f"{where}.content")
            if block.get("is_error") is True:
                text = f"Error: {text}"
            tool_messages.append({"role": "tool", "tool_call_id": tool_id, "content": text})
            late_images += images
        else:
            part = _anthropic_part(block, where)
            if part is not None:
                parts.append(part)
    out = tool_messages
    if late_images:
        out.append(
            {"role": "user", "content": [{"type": "text", "text": "(images from the tool results)"}, *late_images]}
        )
    if parts:
        if all(p["type"] == "text" for p in parts):
            out.append({"role": "user", "content": "\n\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _anthropic_part(block: Any, where: str) -> dict[str, Any] | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise TranslationError("a text block needs `text`", f"{where}.text")
        return {"type": "text", "text": block["text"]} if block["text"] else None
    if kind == "image":
        source = block.get("source") or {}
        url: object  # a URL source's ``url`` goes on as sent
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        elif source.get("type") == "url":
            url = source.get("url")
        else:
            raise TranslationError("image sources must be base64 or url", f"{where}.source.type")
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text":
            return {"type": "text", "text": str(source.get("data", ""))}
        if source.get("type") == "base64" and source.get("media_type") == "application/pdf":
            data = f"data:application/pdf;base64,{source.get('data')}"
            return {"type": "file", "file": {"filename": block.get("title") or "document.pdf", "file_data": data}}
        raise TranslationError("documents must be plain text or base64 PDF", f"{where}.source")
    if kind in ("thinking", "redacted_thinking"):
        return None
    raise TranslationError(f"unsupported content block type {kind!r}", f"{where}.type")


def _tool_result_text(content: object, where: str) -> tuple[str, list[dict[str, Any]]]:
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise TranslationError("tool_result content must be a string or a list of blocks", where)
    texts, images = [], []
    for k, block in enumerate(content):
        part = _anthropic_part(block, f"{where}[{k}]")
        if part is None:
            continue
        if part["type"] == "text":
            texts.append(part["text"])
        else:
            images.append(part)
    return "\n\n".join(texts), images


def _anthropic_assistant_turn(blocks: list[Any], path: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for k, block in enumerate(blocks):
        where = f"{path}[{k}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise TranslationError("a tool_use block needs `id` and `name`", where)
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(
                {"id": block["id"], "type": "function", "function": {"name": block["name"], "arguments": arguments}}
            )
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            raise TranslationError(f"unsupported assistant content block type {kind!r}", f"{where}.type")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""
    return message
