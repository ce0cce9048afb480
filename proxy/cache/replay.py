"""Between the two shapes of an answer: a stream assembled into a ``chat.completion`` (to cache
it), and a stored completion replayed as ``chat.completion.chunk`` events (for a streaming hit)."""

from __future__ import annotations

from typing import Any

import orjson


class StreamAssembler:
    """Feed parsed chunks; :meth:`result` is the equivalent non-stream completion."""

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.choices: dict[int, dict[str, Any]] = {}
        self.usage: Any = None

    def feed(self, chunk: dict[str, Any]) -> None:
        if not self.head:
            self.head = {k: chunk.get(k) for k in ("id", "created", "model", "system_fingerprint")}
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            slot = self.choices.setdefault(
                index, {"role": "assistant", "content": None, "tool_calls": {}, "finish_reason": None}
            )
            delta = choice.get("delta") or {}
            if delta.get("content"):
                slot["content"] = (slot["content"] or "") + delta["content"]
            for call in delta.get("tool_calls") or []:
                entry = slot["tool_calls"].setdefault(
                    call.get("index", 0), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
                )
                if call.get("id"):
                    entry["id"] = call["id"]
                function = call.get("function") or {}
                entry["function"]["name"] += function.get("name") or ""
                entry["function"]["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                slot["finish_reason"] = choice["finish_reason"]

    @property
    def complete(self) -> bool:
        return bool(self.choices) and all(c["finish_reason"] for c in self.choices.values())

    def result(self) -> dict[str, Any]:
        choices = []
        for index in sorted(self.choices):
            slot = self.choices[index]
            message: dict[str, Any] = {"role": "assistant", "content": slot["content"]}
            if slot["tool_calls"]:
                message["tool_calls"] = [slot["tool_calls"][i] for i in sorted(slot["tool_calls"])]
            choices.append(
                {"index": index, "message": message, "logprobs": None, "finish_reason": slot["finish_reason"]}
            )
        out = {**self.head, "object": "chat.completion", "choices": choices}
        if self.usage is not None:
            out["usage"] = self.usage
        return out


def completion_to_events(completion: dict[str, Any], include_usage: bool) -> list[bytes]:
    """A stored completion as the SSE events a streaming client expects, ``[DONE]`` included."""
    head = {k: completion.get(k) for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"

    def event(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        chunk = {**head, "choices": choices}
        if include_usage:
            chunk["usage"] = usage
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    events = []
    choices = completion.get("choices") or []
    for choice in choices:
        index = choice.get("index", 0)
        message = choice.get("message") or {}

        def delta(d: dict[str, Any], finish: Any = None, index: int = index) -> list[dict[str, Any]]:
            return [{"index": index, "delta": d, "logprobs": None, "finish_reason": finish}]

        events.append(event(delta({"role": "assistant", "content": "" if not message.get("tool_calls") else None})))
        if message.get("content"):
            events.append(event(delta({"content": message["content"]})))
        for i, call in enumerate(message.get("tool_calls") or []):
            first = {
                "index": i,
                "id": call.get("id"),
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": call["function"]["arguments"]},
            }
            events.append(event(delta({"tool_calls": [first]})))
        events.append(event(delta({}, choice.get("finish_reason") or "stop")))
    if include_usage:
        events.append(event([], completion.get("usage")))
    events.append(b"data: [DONE]\n\n")
    return events
