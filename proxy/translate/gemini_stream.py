"""Streams between Gemini and Chat Completions.

Gemini streams (``:streamGenerateContent?alt=sse``) are ``data: <GenerateContentResponse>``
events, each a piece of the candidates' parts; the last carries ``finishReason`` and the full
``usageMetadata``. There is no terminal event: the stream ends with the HTTP body, after the
chunk that says ``finishReason``.

- :class:`ChatToGeminiStream` re-tells Chat Completions chunks as Gemini chunks (the Gemini
  surface, answered by another upstream): text and thoughts as they come; tool calls, whose
  arguments arrive in pieces, as whole ``functionCall`` parts in the last chunk, with
  ``finishReason`` and ``usageMetadata``.
- :class:`GeminiToChatStream` tells a Gemini stream as Chat Completions chunks (a native Gemini
  upstream answering another surface).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from proxy.translate.common import json_object, json_string
from proxy.translate.gemini_answer import arguments_of
from proxy.translate.gemini_common import (
    CHAT_TO_FINISH,
    FINISH_TO_CHAT,
    call_id,
    chat_usage_to_gemini,
    gemini_usage_to_chat,
    google_error,
    index_of,
    new_call_id,
)


def gemini_event(payload: object) -> bytes:
    """One Gemini SSE event (Google ends its events with CRLF CRLF)."""
    return b"data: " + orjson.dumps(payload) + b"\r\n\r\n"


class ChatToGeminiStream:
    """Chat Completions chunks -> Gemini ``GenerateContentResponse`` chunks (a :class:`Retelling`)."""

    __slots__ = ("model", "thoughts", "response_id", "calls", "finishes", "usage")

    def __init__(self, model: str, *, thoughts: bool = False, response_id: str | None = None) -> None:
        self.model = model
        self.thoughts = thoughts
        self.response_id = response_id
        self.calls: dict[int, dict[int, dict[str, str]]] = {}
        """choice index -> tool call index -> its id, name and arguments so far."""
        self.finishes: dict[int, str] = {}
        self.usage: dict[str, Any] | None = None

    def _chunk(self, candidates: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        payload: dict[str, Any] = {"candidates": candidates}
        if usage is not None:
            payload["usageMetadata"] = usage
        payload["modelVersion"] = self.model
        if self.response_id is not None:
            payload["responseId"] = self.response_id
        return gemini_event(payload)

    def start(self) -> list[bytes]:
        return []

    def feed(self, chunk: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        if self.response_id is None and isinstance(chunk.get("id"), str):
            self.response_id = chunk["id"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = index_of(choice, 0)
            delta = json_object(choice.get("delta"))
            parts: list[dict[str, Any]] = []
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if self.thoughts and isinstance(reasoning, str) and reasoning:
                parts.append({"text": reasoning, "thought": True})
            content = delta.get("content")
            if isinstance(content, str) and content:
                parts.append({"text": content})
            for call in delta.get("tool_calls") or ():
                if not isinstance(call, dict):
                    continue
                slot = index_of(call, 0)
                seen = self.calls.setdefault(index, {}).setdefault(slot, {"id": "", "name": "", "arguments": ""})
                function = json_object(call.get("function"))
                if isinstance(call.get("id"), str) and call["id"]:
                    seen["id"] = call["id"]
                if isinstance(function.get("name"), str) and function["name"]:
                    seen["name"] = function["name"]
                if isinstance(function.get("arguments"), str):
                    seen["arguments"] += function["arguments"]
            if parts:
                out.append(self._chunk([{"content": {"role": "model", "parts": parts}, "index": index}]))
            if isinstance(choice.get("finish_reason"), str):
                self.finishes[index] = choice["finish_reason"]
        return out

    def finish_candidates(self) -> list[dict[str, Any]]:
        candidates = []
        for index in sorted(set(self.finishes) | set(self.calls) or {0}):
            parts: list[dict[str, Any]] = []
            for _, call in sorted(self.calls.get(index, {}).items()):
                function_call: dict[str, Any] = {"name": call["name"], "args": arguments_of(call["arguments"])}
                if call["id"]:
                    function_call["id"] = call["id"]
                parts.append({"functionCall": function_call})
            if not parts:
                parts.append({"text": ""})
            finish = CHAT_TO_FINISH.get(self.finishes.get(index, "stop"), "STOP")
            candidates.append({"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": index})
        return candidates

    def finish(self) -> list[bytes]:
        return [self._chunk(self.finish_candidates(), chat_usage_to_gemini(self.usage))]

    @staticmethod
    def fail(message: str, code: int = 500) -> list[bytes]:
        """The in-band error that ends a failed stream (the google-genai SDK raises it as an APIError)."""
        return [gemini_event(google_error(code, message))]


class GeminiToChatStream:
    """Gemini chunks -> Chat Completions chunks (``done`` once a candidate said ``finishReason``)."""

    __slots__ = ("model", "include_usage", "id", "created", "started", "done", "usage", "calls", "finished")

    def __init__(self, model: str, *, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.id = "chatcmpl-" + new_call_id()[5:]
        self.created = int(time.time())
        self.started = False
        self.done = False
        self.usage: dict[str, Any] | None = None
        self.calls: dict[int, int] = {}
        """candidate index -> tool calls streamed so far."""
        self.finished: set[int] = set()

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    @staticmethod
    def _choice(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}

    def feed(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if isinstance(data.get("usageMetadata"), dict):
            self.usage = gemini_usage_to_chat(data["usageMetadata"])
        if not self.started:
            self.started = True
            version = json_string(data.get("modelVersion"))
            self.model = version or self.model
            out.append(self._chunk([self._choice(0, {"role": "assistant", "content": ""})]))
        candidates = data.get("candidates") or ()
        if not candidates and json_object(data.get("promptFeedback")).get("blockReason"):
            out.append(self._chunk([self._choice(0, {}, "content_filter")]))
            self.done = True
        for i, candidate in enumerate(candidates):
            if not isinstance(candidate, dict):
                continue
            index = index_of(candidate, i)
            for part in json_object(candidate.get("content")).get("parts") or ():
                if not isinstance(part, dict):
                    continue
                if isinstance(part.get("functionCall"), dict):
                    call = part["functionCall"]
                    slot = self.calls.get(index, 0)
                    self.calls[index] = slot + 1
                    base = call.get("id") if isinstance(call.get("id"), str) and call["id"] else new_call_id()
                    delta = {
                        "tool_calls": [
                            {
                                "index": slot,
                                "id": call_id(base, part.get("thoughtSignature")),
                                "type": "function",
                                "function": {
                                    "name": json_string(call.get("name")),
                                    "arguments": orjson.dumps(call.get("args") or {}).decode(),
                                },
                            }
                        ]
                    }
                    out.append(self._chunk([self._choice(index, delta)]))
                elif isinstance(part.get("text"), str) and part["text"]:
                    key = "reasoning_content" if part.get("thought") is True else "content"
                    out.append(self._chunk([self._choice(index, {key: part["text"]})]))
            reason = candidate.get("finishReason")
            if isinstance(reason, str) and reason and index not in self.finished:
                self.finished.add(index)
                finish = "tool_calls" if self.calls.get(index) else FINISH_TO_CHAT.get(reason, "stop")
                out.append(self._chunk([self._choice(index, {}, finish)]))
                self.done = True
        return out

    def end(self) -> list[dict[str, Any]]:
        """After the last event: the usage chunk, when asked for."""
        if self.include_usage and self.usage is not None:
            return [self._chunk([], self.usage)]
        return []
