"""Answers between Gemini and Chat Completions, not streamed.

- :func:`chat_to_gemini_response`: a ``chat.completion`` as a ``GenerateContentResponse`` (the
  Gemini surface, answered by any other upstream): each choice a candidate whose ``content`` has
  the model's thoughts (``thought: true``, only when the client asked for them), its text and one
  ``functionCall`` part per tool call (the call's id kept as ``functionCall.id``).
- :func:`gemini_to_chat_response`: a ``GenerateContentResponse`` as a ``chat.completion`` (a
  native Gemini upstream answering any other surface): text parts join into ``content``, thought
  parts into ``reasoning_content``, ``functionCall`` parts become ``tool_calls`` whose ids carry
  the part's ``thoughtSignature`` (:func:`~proxy.translate.gemini_common.call_id`), and
  ``usageMetadata`` becomes ``usage`` with cached-content tokens.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from proxy.translate.common import json_object, json_string
from proxy.translate.gemini_common import (
    CHAT_TO_FINISH,
    FINISH_TO_CHAT,
    call_id,
    chat_usage_to_gemini,
    gemini_usage_to_chat,
    index_of,
    new_call_id,
)


def arguments_of(text: Any) -> dict[str, Any]:
    """A tool call's ``arguments`` (JSON text) as ``functionCall.args`` (an object; else wrapped)."""
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"arguments": text}
    return value if isinstance(value, dict) else {"value": value}


def function_call_part(call: dict[str, Any]) -> dict[str, Any]:
    function = json_object(call.get("function"))
    part: dict[str, Any] = {"name": json_string(function.get("name")), "args": arguments_of(function.get("arguments"))}
    if isinstance(call.get("id"), str) and call["id"]:
        part["id"] = call["id"]
    return {"functionCall": part}


def chat_to_gemini_response(completion: dict[str, Any], model: str, *, thoughts: bool = False) -> dict[str, Any]:
    """A ``chat.completion`` as a ``GenerateContentResponse`` (``thoughts``: include reasoning text
    as ``thought`` parts, what ``thinkingConfig.includeThoughts`` asks for)."""
    candidates = []
    for i, choice in enumerate(completion.get("choices") or ()):
        choice = json_object(choice)
        message = json_object(choice.get("message"))
        parts: list[dict[str, Any]] = []
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if thoughts and isinstance(reasoning, str) and reasoning:
            parts.append({"text": reasoning, "thought": True})
        content = message.get("content")
        if isinstance(content, str) and content:
            parts.append({"text": content})
        elif isinstance(message.get("refusal"), str) and message["refusal"]:
            parts.append({"text": message["refusal"]})
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict):
                parts.append(function_call_part(call))
        if not parts:
            parts.append({"text": ""})
        finish = CHAT_TO_FINISH.get(json_string(choice.get("finish_reason")), "STOP")
        index = index_of(choice, i)
        candidates.append({"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": index})
    response: dict[str, Any] = {"candidates": candidates}
    usage = chat_usage_to_gemini(completion.get("usage"))
    if usage is not None:
        response["usageMetadata"] = usage
    response["modelVersion"] = model
    if isinstance(completion.get("id"), str):
        response["responseId"] = completion["id"]
    return response


def candidate_message(candidate: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A Gemini candidate as a chat ``message`` and its ``finish_reason``."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in json_object(candidate.get("content")).get("parts") or ():
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            base = call.get("id") if isinstance(call.get("id"), str) and call["id"] else new_call_id()
            calls.append(
                {
                    "id": call_id(base, part.get("thoughtSignature")),
                    "type": "function",
                    "function": {
                        "name": json_string(call.get("name")),
                        "arguments": orjson.dumps(call.get("args") or {}).decode(),
                    },
                }
            )
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") is True else texts).append(part["text"])
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    if calls:
        message["tool_calls"] = calls
    reason = json_string(candidate.get("finishReason"))
    finish = "tool_calls" if calls else FINISH_TO_CHAT.get(reason, "stop")
    return message, finish


def gemini_to_chat_response(response: dict[str, Any], model: str, created: int | None = None) -> dict[str, Any]:
    """A ``GenerateContentResponse`` as a ``chat.completion``; a prompt blocked by safety filters
    (``promptFeedback.blockReason``, no candidates) is an empty answer that says ``content_filter``."""
    choices = []
    for i, candidate in enumerate(response.get("candidates") or ()):
        message, finish = candidate_message(json_object(candidate))
        index = index_of(candidate, i)
        choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": finish})
    if not choices:
        blocked = json_object(response.get("promptFeedback")).get("blockReason")
        message = {"role": "assistant", "content": ""}
        choices.append(
            {"index": 0, "message": message, "logprobs": None, "finish_reason": "content_filter" if blocked else "stop"}
        )
    completion: dict[str, Any] = {
        "id": "chatcmpl-" + (json_string(response.get("responseId")) or new_call_id()[5:]),
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": json_string(response.get("modelVersion")) or model,
        "choices": choices,
    }
    usage = gemini_usage_to_chat(response.get("usageMetadata"))
    if usage is not None:
        completion["usage"] = usage
    return completion


def gemini_embeddings_to_openai(response: dict[str, Any], model: str) -> dict[str, Any]:
    """A ``BatchEmbedContentsResponse`` as OpenAI's embeddings list."""
    data = []
    for i, item in enumerate(response.get("embeddings") or ()):
        values = json_object(item).get("values")
        data.append({"object": "embedding", "index": i, "embedding": values if isinstance(values, list) else []})
    prompt = json_object(response.get("usageMetadata")).get("promptTokenCount")
    tokens = prompt if isinstance(prompt, int) else 0
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def openai_embeddings_to_gemini(response: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's embeddings list as Gemini ``ContentEmbedding`` objects, in input order."""
    items = sorted(
        (json_object(d) for d in response.get("data") or ()),
        key=lambda d: index_of(d, 0),
    )
    return [{"values": d.get("embedding") if isinstance(d.get("embedding"), list) else []} for d in items]
