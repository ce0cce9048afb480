"""Chat Completions answers <-> Anthropic Messages answers (non-stream), both directions; and what the
streams map the same way (stop reasons, usage, ids).

- :func:`messages_to_chat_response`: the Anthropic adapter (a Claude answer for an OpenAI-style client).
- :func:`chat_to_messages_response`: the ``/v1/messages`` surface (a chat upstream's answer for Claude Code).

Pure functions, no I/O.
"""

from __future__ import annotations

import time
from typing import Any, NotRequired, TypedDict

import orjson

from proxy.translate.common import token_count

STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


class ChatPromptTokensDetails(TypedDict):
    cached_tokens: int
    cache_creation_tokens: int
    """Not OpenAI's: the Anthropic cache writes, kept so that nothing is lost."""


class ChatUsage(TypedDict):
    """OpenAI usage, as :func:`anthropic_usage_to_chat` writes it."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: ChatPromptTokensDetails


class AnthropicUsage(TypedDict):
    """Anthropic usage, as :func:`chat_usage_to_anthropic` writes it (the cache counts only when the
    chat usage was there to read)."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: NotRequired[int]
    cache_read_input_tokens: NotRequired[int]


# ------------------------------------------------------------------------------------------------
# Anthropic response -> chat response (the Anthropic adapter)
# ------------------------------------------------------------------------------------------------


def anthropic_usage_to_chat(usage: object) -> ChatUsage | None:
    """Anthropic usage -> OpenAI usage. ``prompt_tokens`` counts every input token (uncached, cache
    writes and cache reads); ``cached_tokens`` are the reads. The cache-write count is kept as
    ``prompt_tokens_details.cache_creation_tokens``."""
    if not isinstance(usage, dict):
        return None
    written = token_count(usage.get("cache_creation_input_tokens"))
    read = token_count(usage.get("cache_read_input_tokens"))
    prompt = token_count(usage.get("input_tokens")) + written + read
    output = token_count(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": read, "cache_creation_tokens": written},
    }


def messages_to_chat_response(
    msg: dict[str, Any], *, created: int | None = None, answer_tool: str | None = None
) -> dict[str, Any]:
    """An Anthropic ``message`` -> a ``chat.completion``.

    Text blocks join into ``content``; ``tool_use`` -> ``tool_calls`` (ids kept); thinking is kept
    twice: its text as ``reasoning_content`` (what OpenAI-style clients display) and the blocks with
    their signatures as ``thinking_blocks`` (what must be sent back in the next turn).
    ``answer_tool``: the forced tool of a structured answer (``anthropic_structured``): its input
    is the content, as JSON, and when it is the only call the finish reason is ``stop``.
    """
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    answer: list[str] = []
    for block in msg.get("content") or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use" and answer_tool is not None and block.get("name") == answer_tool:
            answer.append(orjson.dumps(block.get("input") or {}).decode())
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": arguments},
                }
            )
        elif kind == "thinking":
            thinking.append(str(block.get("thinking", "")))
            thinking_blocks.append(block)
        elif kind == "redacted_thinking":
            thinking_blocks.append(block)
    texts = answer or texts  # a structured answer is the JSON alone, not the words around it
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    message["refusal"] = None
    if calls:
        message["tool_calls"] = calls
    if thinking_blocks:
        message["reasoning_content"] = "".join(thinking)
        message["thinking_blocks"] = thinking_blocks
    out: dict[str, Any] = {
        "id": chat_completion_id(msg.get("id")),
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": msg.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason(msg.get("stop_reason"), has_calls=bool(calls)),
                "logprobs": None,
            }
        ],
    }
    usage = anthropic_usage_to_chat(msg.get("usage"))
    if usage is not None:
        out["usage"] = usage
    return out


def finish_reason(stop_reason: object, *, has_calls: bool = True) -> str:
    """The chat finish reason for an Anthropic stop reason; ``tool_use`` with no call left for the
    client (a structured answer's forced tool) is ``stop``."""
    finish = STOP_TO_FINISH.get(str(stop_reason), "stop")
    return "stop" if finish == "tool_calls" and not has_calls else finish


def chat_completion_id(message_id: object) -> str:
    """The ``chat.completion`` id for an Anthropic message id (a fresh one when there is none)."""
    return f"chatcmpl-{message_id}" if isinstance(message_id, str) else f"chatcmpl-{time.time_ns():x}"


# ------------------------------------------------------------------------------------------------
# Chat response -> Anthropic response (the /v1/messages surface)
# ------------------------------------------------------------------------------------------------


def chat_usage_to_anthropic(usage: object) -> AnthropicUsage:
    """OpenAI usage -> Anthropic usage: cached prompt tokens become ``cache_read_input_tokens`` and
    ``input_tokens`` is the rest, as Anthropic counts them."""
    if not isinstance(usage, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    prompt = token_count(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = token_count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    written = token_count(details.get("cache_creation_tokens")) if isinstance(details, dict) else 0
    return {
        "input_tokens": max(prompt - cached - written, 0),
        "output_tokens": token_count(usage.get("completion_tokens")),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
    }


def _message_id(chat_id: object) -> str:
    if isinstance(chat_id, str) and chat_id:
        return "msg_" + chat_id.removeprefix("chatcmpl-")
    return f"msg_{time.time_ns():x}"


def _parse_arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw or "{}")
    except (orjson.JSONDecodeError, TypeError):
        return {"arguments": raw}  # not JSON: keep what the model said rather than lose it
    return value if isinstance(value, dict) else {"value": value}


def chat_to_messages_response(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """A ``chat.completion`` -> an Anthropic ``message`` naming ``model`` (the name the client used).

    ``reasoning_content`` (or ``reasoning``) becomes a thinking block with an empty signature;
    ``refusal`` text becomes text; ``tool_calls`` -> ``tool_use`` blocks (ids kept)."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text, "citations": None})
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        content.append({"type": "text", "text": message["refusal"], "citations": None})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{len(content)}",
                "name": function.get("name"),
                "input": _parse_arguments(function.get("arguments")),
            }
        )
    return {
        "id": _message_id(completion.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": FINISH_TO_STOP.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": chat_usage_to_anthropic(completion.get("usage")),
    }
