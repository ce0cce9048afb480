"""Chat Completions answers -> OpenAI Responses API ``response`` objects (non-stream), and the
pieces of a response the stream builds too (items, parts, status, usage). Pure functions, no I/O.

The answer (:func:`chat_completion_to_response`, and the stream's final response): the reasoning
text an upstream returns (``reasoning_content`` as DeepSeek, vLLM and others send it, or
``reasoning`` as OpenRouter and Ollama do) becomes a ``reasoning`` item with one ``summary_text``
— only where the upstream returns it; then the ``message`` item (``output_text`` and/or
``refusal``), then one ``function_call`` (or ``custom_tool_call``) item per tool call.
``finish_reason`` ``length`` -> status ``incomplete`` (``max_output_tokens``), ``content_filter``
-> ``incomplete`` (``content_filter``).
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

import orjson

from proxy.translate.common import json_object, json_string, token_count
from proxy.translate.responses_common import Tools, read_tools, text_format


class InputTokensDetails(TypedDict):
    cached_tokens: int
    cache_write_tokens: int


class OutputTokensDetails(TypedDict):
    reasoning_tokens: int


class ResponsesUsage(TypedDict):
    """A ``response``'s ``usage``."""

    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


def response_usage(usage: object) -> ResponsesUsage | None:
    """Chat usage -> a ``response``'s ``usage`` (``None`` when the upstream sent none)."""
    if not isinstance(usage, dict):
        return None
    prompt = token_count(usage.get("prompt_tokens"))
    completion = token_count(usage.get("completion_tokens"))
    details = json_object(usage.get("prompt_tokens_details"))
    out_details = json_object(usage.get("completion_tokens_details"))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": token_count(details.get("cached_tokens")),
            "cache_write_tokens": token_count(
                details.get("cache_creation_tokens") or details.get("cache_write_tokens")
            ),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": token_count(out_details.get("reasoning_tokens"))},
        "total_tokens": token_count(usage.get("total_tokens")) or prompt + completion,
    }


def response_status(finish_reason: object) -> tuple[str, dict[str, str] | None]:
    """A chat ``finish_reason`` -> the response's ``status`` and ``incomplete_details``."""
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def _echo(request: dict[str, Any], name: str, types: type | tuple[type, ...], default: Any = None) -> Any:
    value = request.get(name)
    return value if isinstance(value, types) and not isinstance(value, bool) else default


def response_object(
    request: dict[str, Any],
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: ResponsesUsage | None,
    incomplete: dict[str, str] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object: every field the spec requires, the request's settings repeated.

    No ``output_text`` (an SDK-side convenience) and no ``store`` (OpenAI sends it, but neither
    the spec's ``Response`` nor the SDK's model has it; nothing is stored here anyway)."""
    tools = read_tools(request, strict=False)
    choice = request.get("tool_choice")
    if not (choice in ("auto", "none", "required") or isinstance(choice, dict)):
        choice = "auto"
    reasoning = json_object(request.get("reasoning"))
    text: dict[str, Any] = {"format": text_format(request.get("text"), strict=False) or {"type": "text"}}
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


def text_part(text: str = "") -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, content: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def reasoning_item(item_id: str, summary: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": summary}


def custom_input(arguments: str) -> str:
    """A custom tool's input from the arguments of the function that stood in for it."""
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return arguments  # the model wrote the raw input, not JSON
    if isinstance(value, dict):
        text = value.get("input")
        if isinstance(text, str):
            return text
    return value if isinstance(value, str) else arguments


def call_item(item_id: str, call_id: str, chat_name: str, arguments: str, tools: Tools) -> dict[str, Any]:
    namespace, name = tools.origin.get(chat_name, (None, chat_name))
    if chat_name in tools.custom:
        item = {"id": item_id, "type": "custom_tool_call", "call_id": call_id, "name": name}
        item["input"] = custom_input(arguments)
    else:
        item = {"id": item_id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
        item["status"] = "completed"
    if namespace is not None:
        item["namespace"] = namespace
    return item


def id_base(response_id: str) -> str:
    return response_id.removeprefix("resp_")


def _text_of(value: object) -> str:
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
    message = json_object(choice.get("message"))
    tools = read_tools(request, strict=False)
    base = id_base(response_id)
    output: list[dict[str, Any]] = []
    reasoning = _text_of(message.get("reasoning_content")) or _text_of(message.get("reasoning"))
    if reasoning:
        output.append(reasoning_item(f"rs_{base}_{len(output)}", [{"type": "summary_text", "text": reasoning}]))
    text = _text_of(message.get("content"))
    refusal = json_string(message.get("refusal"))
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    if text or refusal or not calls:
        content = [text_part(text)] if text or not refusal else []
        if refusal:
            content.append({"type": "refusal", "refusal": refusal})
        output.append(message_item(f"msg_{base}_{len(output)}", content))
    for k, call in enumerate(calls):
        function = json_object(call.get("function"))
        call_id = json_string(call.get("id")) or f"call_{base}_{k}"
        arguments = json_string(function.get("arguments"))
        item_id = f"{'ctc' if function.get('name') in tools.custom else 'fc'}_{base}_{len(output)}"
        output.append(call_item(item_id, call_id, str(function.get("name") or ""), arguments, tools))
    status, incomplete = response_status(choice.get("finish_reason"))
    model = request.get("model") or completion.get("model") or ""
    return response_object(
        request, response_id, created_at, model, status, output, response_usage(completion.get("usage")), incomplete
    )
