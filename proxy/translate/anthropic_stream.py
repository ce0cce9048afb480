"""Chat Completions streams <-> Anthropic Messages streams, both directions.

- :class:`MessagesToChatStream`: the Anthropic adapter (Anthropic events -> ``chat.completion.chunk``).
- :class:`ChatToMessagesStream`: the ``/v1/messages`` surface (chat chunks -> Anthropic events).
"""

from __future__ import annotations

import time
from typing import Any

from proxy.translate.anthropic_answer import (
    FINISH_TO_STOP,
    anthropic_usage_to_chat,
    chat_completion_id,
    chat_usage_to_anthropic,
    finish_reason,
)
from proxy.translate.common import TranslationError, sse_event

# ------------------------------------------------------------------------------------------------
# Anthropic stream -> chat stream (the Anthropic adapter)
# ------------------------------------------------------------------------------------------------


class MessagesToChatStream:
    """Anthropic stream events -> ``chat.completion.chunk`` payloads (dicts).

    ``feed`` takes one event's parsed data and returns the chunks to send (often none). The
    ``message_stop`` event yields the usage chunk (when ``include_usage``) and sets ``done``; an
    ``error`` event yields ``{"error": ...}``, which the relay treats as an in-band error.
    """

    def __init__(
        self,
        *,
        include_usage: bool,
        created: int | None = None,
        answer_tool: str | None = None,
        hold_text: bool = False,
    ) -> None:
        """``answer_tool``: the tool of a structured answer (``anthropic_structured``): its input is
        streamed as content deltas, and when it is the only call the finish reason is ``stop``.
        ``hold_text``: the answer tool was offered, not forced, so the model may say something
        first ("I'll call json_response"): text is held back and dropped if the answer tool comes
        (the content must be the JSON alone), else sent before the next tool call or the finish."""
        self.include_usage = include_usage
        self.answer_tool = answer_tool
        self._answer_blocks: dict[int, bool] = {}  # block index -> whether any of its input was sent
        self._held: list[str] | None = [] if hold_text and answer_tool is not None else None
        self.created = created if created is not None else int(time.time())
        self.id = chat_completion_id(None)
        self.model: Any = None
        self.usage: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.done = False
        self._tools: dict[int, int] = {}  # Anthropic block index -> chat tool call index

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    def _release(self) -> list[dict[str, Any]]:
        """The held text as one content chunk (none if nothing was held); holding stops."""
        held, self._held = self._held, None
        return [self._chunk({"content": "".join(held)})] if held else []

    def feed(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        kind = data.get("type")
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                if self._held is not None:
                    self._held.append(str(delta.get("text", "")))
                    return []
                return [self._chunk({"content": delta.get("text", "")})]
            if dtype == "input_json_delta" and data.get("index") in self._answer_blocks:
                text = delta.get("partial_json")
                if not isinstance(text, str) or not text:
                    return []
                self._answer_blocks[data["index"]] = True
                return [self._chunk({"content": text})]
            if dtype == "input_json_delta":
                index = self._tools.get(data.get("index", -1))
                if index is None or not delta.get("partial_json"):
                    return []
                return [
                    self._chunk({"tool_calls": [{"index": index, "function": {"arguments": delta["partial_json"]}}]})
                ]
            if dtype == "thinking_delta":
                return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
            return []  # signature_delta, citations_delta: nothing in chat carries them mid-stream
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            is_answer = self.answer_tool is not None and block.get("name") == self.answer_tool
            if block.get("type") == "tool_use" and is_answer:
                self._answer_blocks[data.get("index", -1)] = False
                self._held = None  # what was said before the answer is not the answer
                return []
            if block.get("type") == "tool_use":
                held = self._release()
                index = self._tools[data.get("index", len(self._tools))] = len(self._tools)
                call = {
                    "index": index,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return [*held, self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                if self._held is not None:
                    self._held.append(block["text"])
                    return []
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "message_start":
            message = data.get("message") or {}
            self.id = chat_completion_id(message.get("id"))
            self.model = message.get("model")
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "message_delta":
            delta = data.get("delta") or {}
            self.usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            self.finish_reason = finish_reason(delta.get("stop_reason"), has_calls=bool(self._tools))
            return [*self._release(), self._chunk({}, self.finish_reason)]
        if kind == "message_stop":
            self.done = True
            if not self.include_usage:
                return []
            chunk = self._chunk({})
            chunk["choices"] = []
            chunk["usage"] = anthropic_usage_to_chat(self.usage)
            return [chunk]
        if kind == "error":
            error = data.get("error") or {}
            return [{"error": {"message": error.get("message") or "error", "type": error.get("type"), "code": None}}]
        if kind == "content_block_stop" and self._answer_blocks.get(data.get("index", -1)) is False:
            self._answer_blocks[data["index"]] = True
            return [self._chunk({"content": "{}"})]  # an empty input streams no JSON at all
        return []  # ping, content_block_stop, unknown future events


# ------------------------------------------------------------------------------------------------
# Chat stream -> Anthropic stream (the /v1/messages surface)
# ------------------------------------------------------------------------------------------------


class ChatToMessagesStream:
    """``chat.completion.chunk`` payloads -> Anthropic stream events (SSE bytes).

    Anthropic content blocks are sequential, so a new kind of delta (thinking, text, a tool call)
    closes the open block and starts the next. Chat upstreams send parallel tool calls one after
    another; one that goes back to an earlier call raises :class:`TranslationError` (the relay ends
    the stream with an error event) rather than send a call with half its arguments.
    Usage arrives last in a chat stream, so ``message_start`` carries zero input tokens and the
    final ``message_delta`` carries the real counts.
    """

    def __init__(self, model: str, message_id: str | None = None) -> None:
        self.model = model
        self.message_id = message_id or f"msg_{time.time_ns():x}"
        self.usage: object = None  # the last truthy `usage` a chunk had, as sent
        self.finish_reason: str | None = None
        self._index = -1  # index of the open block (or the last one)
        self._open: str | None = None  # "text", "thinking", or "tool:<chat index>"
        self._tool_ids: dict[int, tuple[str, str]] = {}

    def start(self) -> list[bytes]:
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [
            sse_event("message_start", {"type": "message_start", "message": message}),
            sse_event("ping", {"type": "ping"}),
        ]

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        self._open = None
        return [sse_event("content_block_stop", {"type": "content_block_stop", "index": self._index})]

    def _begin(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        out = self._close()
        self._index += 1
        self._open = kind
        out.append(
            sse_event(
                "content_block_start", {"type": "content_block_start", "index": self._index, "content_block": block}
            )
        )
        return out

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return sse_event("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})

    def feed(self, chunk: dict[str, Any]) -> list[bytes]:
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        out: list[bytes] = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                if self._open != "thinking":
                    out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                out.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self._open != "text":
                    out += self._begin("text", {"type": "text", "text": "", "citations": None})
                out.append(self._delta({"type": "text_delta", "text": text}))
            for call in delta.get("tool_calls") or []:
                out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return out

    def _tool_delta(self, call: dict[str, Any]) -> list[bytes]:
        index = call.get("index", 0)
        function = call.get("function") or {}
        arguments = function.get("arguments") or ""
        out: list[bytes] = []
        if index not in self._tool_ids:
            self._tool_ids[index] = (call.get("id") or f"toolu_{index}", function.get("name") or "")
            tool_id, name = self._tool_ids[index]
            out += self._begin(f"tool:{index}", {"type": "tool_use", "id": tool_id, "name": name, "input": {}})
        elif self._open != f"tool:{index}":
            # Anthropic blocks cannot be reopened: say so rather than send a call with half its arguments.
            raise TranslationError(
                "the upstream interleaved the arguments of parallel tool calls, which cannot be streamed as "
                "Anthropic content blocks"
            )
        if arguments:
            out.append(self._delta({"type": "input_json_delta", "partial_json": arguments}))
        return out

    def finish(self) -> list[bytes]:
        out = self._close()
        usage = chat_usage_to_anthropic(self.usage)
        stop = FINISH_TO_STOP.get(str(self.finish_reason), "end_turn")
        out.append(
            sse_event(
                "message_delta",
                {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage},
            )
        )
        out.append(sse_event("message_stop", {"type": "message_stop"}))
        return out

    @staticmethod
    def fail(message: str, type_: str = "api_error") -> bytes:
        return sse_event("error", {"type": "error", "error": {"type": type_, "message": message}})
