"""Chat Completions requests <-> Anthropic Messages requests, both directions.

- :func:`chat_to_messages_request` (here): the Anthropic adapter, so an OpenAI-style client can use a
  Claude model.
- :func:`messages_to_chat_request` (in :mod:`proxy.translate.anthropic_to_chat`, re-exported): the
  ``/v1/messages`` surface, so Claude Code can use any OpenAI-compatible model.

Pure functions, no I/O. What cannot be carried across is either rejected with a
:class:`~proxy.translate.common.TranslationError` naming the field (when dropping it would change
the answer: ``n > 1``, ``logprobs``, audio input) or dropped (when it is only a hint the other side
has no place for); the docstring of each function lists which.
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy.translate.anthropic_to_chat import MAX_TOKENS_FORWARDED, messages_to_chat_request
from proxy.translate.common import TranslationError, json_object

__all__ = ["DEFAULT_MAX_TOKENS", "MAX_TOKENS_FORWARDED", "chat_to_messages_request", "messages_to_chat_request"]

DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` sent to Anthropic when an OpenAI client did not say (Anthropic requires one)."""
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
"""``reasoning_effort`` -> Anthropic extended-thinking ``budget_tokens``."""


# ------------------------------------------------------------------------------------------------
# Chat request -> Anthropic request (the Anthropic adapter)
# ------------------------------------------------------------------------------------------------

_DROPPED_CHAT_FIELDS = (
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "seed",
    "service_tier",
    "store",
    "prediction",
    "modalities",
    "audio",
    "web_search_options",
    "stream_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
)


def chat_to_messages_request(body: dict[str, Any], *, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    """A Chat Completions request -> an Anthropic Messages request.

    - ``system``/``developer`` messages (anywhere) -> the top-level ``system`` blocks, in order.
    - ``tool`` messages -> ``tool_result`` blocks in a user turn; consecutive same-role turns merge
      (Anthropic requires alternation), tool results first.
    - Assistant ``tool_calls`` -> ``tool_use`` blocks (ids kept); ``thinking_blocks`` on an
      assistant message (as returned by :func:`messages_to_chat_response`) are sent back as they
      were, signatures included, so extended thinking works across turns with tools.
    - ``image_url`` parts -> image blocks (data URLs as base64, others by URL); ``file`` parts with a
      PDF data URL -> document blocks. ``cache_control`` on a content part is kept.
    - ``max_completion_tokens``/``max_tokens`` -> ``max_tokens`` (default :data:`DEFAULT_MAX_TOKENS`);
      ``stop`` -> ``stop_sequences``; ``user`` -> ``metadata.user_id``; ``temperature`` is capped at
      1 (Anthropic's range is 0-1); ``reasoning_effort`` -> ``thinking`` with a token budget
      (:data:`THINKING_BUDGETS`), an explicit ``thinking`` object passes through.
    - ``tool_choice``: auto/none/required/function -> auto/none/any/tool;
      ``parallel_tool_calls: false`` -> ``disable_parallel_tool_use``.
    - ``response_format`` is not read here: :func:`proxy.translate.anthropic_structured.structured_request`
      applies it for the target model (native structured outputs, or a forced tool).
    - Rejected: ``n`` > 1, ``logprobs``/``top_logprobs``, audio input, legacy ``function`` messages.
    - Dropped: sampling knobs Anthropic lacks (see ``_DROPPED_CHAT_FIELDS``).
    """
    if not isinstance(body.get("messages"), list):
        raise TranslationError("`messages` must be a list", "messages")
    n = body.get("n")
    if n not in (None, 1):
        raise TranslationError("Anthropic models return one choice per request: `n` must be 1", "n")
    if body.get("logprobs") or body.get("top_logprobs"):
        raise TranslationError("Anthropic models do not return log probabilities", "logprobs")

    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(body["messages"]):
        path = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise TranslationError("each message must be an object", path)
        role = msg.get("role")
        if role in ("system", "developer"):
            system += _chat_text_blocks(msg.get("content"), f"{path}.content")
        elif role == "user":
            _add_turn(turns, "user", _chat_user_blocks(msg.get("content"), f"{path}.content"))
        elif role == "assistant":
            _add_turn(turns, "assistant", _chat_assistant_blocks(msg, path))
        elif role == "tool":
            call_id = msg.get("tool_call_id")
            if not isinstance(call_id, str):
                raise TranslationError("a tool message needs `tool_call_id`", f"{path}.tool_call_id")
            block = {"type": "tool_result", "tool_use_id": call_id, "content": _tool_result_content(msg, path)}
            _add_turn(turns, "user", [block])
        else:
            raise TranslationError(f"unsupported message role {role!r}", f"{path}.role")

    out: dict[str, Any] = {"model": body.get("model")}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    out["max_tokens"] = max_tokens
    out["messages"] = turns
    if system:
        out["system"] = system
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stop_sequences"] = stop
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    thinking = body.get("thinking")
    effort = body.get("reasoning_effort")
    if isinstance(thinking, dict):
        out["thinking"] = thinking
    elif isinstance(effort, str) and effort in THINKING_BUDGETS:
        out["thinking"] = {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}
    if "thinking" in out and out["thinking"].get("type") == "enabled":
        budget = out["thinking"].get("budget_tokens") or 0
        if isinstance(budget, int) and out["max_tokens"] <= budget:
            out["max_tokens"] = budget + default_max_tokens  # Anthropic requires max_tokens > budget
        out.pop("top_p", None)  # not allowed together with thinking
    elif isinstance(body.get("temperature"), (int, float)):
        out["temperature"] = min(float(body["temperature"]), 1.0)
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    tools = body.get("tools")
    if tools:
        out["tools"] = [_chat_tool(t, f"tools[{k}]") for k, t in enumerate(tools)]
    choice = _chat_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and (tools or choice["type"] == "none"):
        out["tool_choice"] = choice
    if body.get("stream"):
        out["stream"] = True
    return out


def _add_turn(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        previous = turns[-1]["content"]
        if role == "user" and blocks[0]["type"] == "tool_result" and previous and previous[-1]["type"] != "tool_result":
            turns.append({"role": role, "content": blocks})  # keep tool results at the start of a turn
            return
        previous.extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _chat_text_blocks(content: object, path: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        blocks = []
        for k, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise TranslationError("system content parts must be text", f"{path}[{k}]")
            blocks.append(_with_cache_control({"type": "text", "text": part["text"]}, part))
        return blocks
    if content is None:
        return []
    raise TranslationError("content must be a string or a list of parts", path)


def _with_cache_control(block: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    if isinstance(part.get("cache_control"), dict):
        block["cache_control"] = part["cache_control"]
    return block


def _chat_user_blocks(content: object, path: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError("content must be a string or a list of parts", path)
    blocks = []
    for k, part in enumerate(content):
        where = f"{path}[{k}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise TranslationError("a text part needs `text`", f"{where}.text")
            if part["text"]:
                blocks.append(_with_cache_control({"type": "text", "text": part["text"]}, part))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise TranslationError("an image part needs `image_url.url`", f"{where}.image_url")
            blocks.append(_with_cache_control({"type": "image", "source": _image_source(url, where)}, part))
        elif kind == "file":
            file = json_object(part.get("file"))
            data = file.get("file_data")
            if not isinstance(data, str) or not data.startswith("data:application/pdf;base64,"):
                raise TranslationError("only PDF files sent as base64 data URLs can go to Anthropic", where)
            source = {"type": "base64", "media_type": "application/pdf", "data": data.split(",", 1)[1]}
            blocks.append(_with_cache_control({"type": "document", "source": source}, part))
        elif kind == "input_audio":
            raise TranslationError("Anthropic models do not accept audio input", where)
        else:
            raise TranslationError(f"unsupported content part type {kind!r}", f"{where}.type")
    return blocks


def _image_source(url: str, where: str) -> dict[str, Any]:
    if url.startswith("data:"):
        head, sep, data = url.partition(",")
        if not sep or not head.endswith(";base64"):
            raise TranslationError("image data URLs must be base64", f"{where}.image_url.url")
        return {"type": "base64", "media_type": head[5:-7], "data": data}
    return {"type": "url", "url": url}


def _chat_assistant_blocks(msg: dict[str, Any], path: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in msg.get("thinking_blocks") or []:
        if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking"):
            blocks.append(block)
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for k, part in enumerate(content):
            if not isinstance(part, dict):
                raise TranslationError("content parts must be objects", f"{path}.content[{k}]")
            text = part.get("text") if part.get("type") == "text" else part.get("refusal")
            if isinstance(text, str) and text:
                blocks.append(_with_cache_control({"type": "text", "text": text}, part))
    elif content is not None:
        raise TranslationError("content must be a string or a list of parts", f"{path}.content")
    if msg.get("function_call"):
        raise TranslationError("legacy `function_call` messages are not supported; use `tool_calls`", path)
    for k, call in enumerate(msg.get("tool_calls") or []):
        where = f"{path}.tool_calls[{k}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError("a tool call needs `function.name`", where)
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{k}",
                "name": function["name"],
                "input": _arguments(function.get("arguments"), f"{where}.function.arguments"),
            }
        )
    return blocks


def _arguments(raw: Any, where: str) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        raise TranslationError("tool call arguments must be a JSON object", where) from None
    if not isinstance(value, dict):
        raise TranslationError("tool call arguments must be a JSON object", where)
    return value


def _tool_result_content(msg: dict[str, Any], path: str) -> str | list[dict[str, Any]]:
    content = msg.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return _chat_user_blocks(content, f"{path}.content")
    if content is None:
        return ""
    raise TranslationError("content must be a string or a list of parts", f"{path}.content")


def _chat_tool(tool: object, where: str) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type", "function") != "function":
        raise TranslationError("only function tools can be sent to Anthropic", where)
    function = tool.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise TranslationError("a tool needs `function.name`", f"{where}.function.name")
    schema = function.get("parameters")
    schema = dict(schema) if isinstance(schema, dict) else {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    out: dict[str, Any] = {"name": function["name"], "input_schema": schema}
    if isinstance(function.get("description"), str):
        out["description"] = function["description"]
    return _with_cache_control(out, tool)


def _chat_tool_choice(choice: object, parallel: object) -> dict[str, Any] | None:
    if choice is None and parallel is not False:
        return None
    if choice in (None, "auto"):
        out: dict[str, Any] = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise TranslationError("`tool_choice` must be auto, none, required or a function", "tool_choice")
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    return out
