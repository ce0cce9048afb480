"""Chat Completions streams -> OpenAI Responses API streams (:class:`ResponsesStream`, one per
request)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from proxy.translate.common import TranslationError, json_object, json_string, sse_event
from proxy.translate.responses_answer import (
    call_item,
    custom_input,
    id_base,
    message_item,
    reasoning_item,
    response_object,
    response_status,
    response_usage,
    text_part,
)
from proxy.translate.responses_common import read_tools

ERROR_CODES = frozenset(
    "server_error rate_limit_exceeded invalid_prompt data_residency_mismatch bio_policy vector_store_timeout "
    "invalid_image invalid_image_format invalid_base64_image invalid_image_url image_too_large image_too_small "
    "image_parse_error image_content_policy_violation invalid_image_mode image_file_too_large "
    "unsupported_image_media_type empty_image_file failed_to_download_image image_file_not_found".split()
)
"""The codes the Responses API (and the openai SDK's ``ResponseError``) knows."""


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
        self._tools = read_tools(request, strict=False)
        self._base = id_base(response_id)
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._announced = 0  # output[:announced] were announced (added)
        self._block: dict[str, Any] | None = None  # the open message or reasoning item
        self._part: dict[str, Any] | None = None  # the open content part of that message
        self._calls: dict[int, _Call] = {}  # open tool calls by output index
        self._by_chat: dict[tuple[str, Any], _Call] = {}  # by chat index, and by chat id
        self._live: _Call | None = None
        self._closed_calls = 0

    # -- framing -------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return sse_event(kind, payload)

    def _snapshot(self, status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        usage = response_usage(self.usage) if status != "in_progress" else None
        return response_object(
            self.request, self.response_id, self.created_at, self.model, status, output, usage, **extra
        )

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
            item = message_item(item_id, [], status="in_progress")
            out.append(self._added(item, {**item, "content": []}))
        else:
            item = reasoning_item(item_id, [{"type": "summary_text", "text": ""}])
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
        part = text_part() if kind == "output_text" else {"type": "refusal", "refusal": ""}
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
        function = json_object(delta.get("function"))
        name = json_string(function.get("name"))
        piece = json_string(function.get("arguments"))
        out: list[bytes] = []
        call = self._find_call(delta)
        if call is None:
            out += self._close_block()
            chat_id = json_string(delta.get("id")) or None
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
        item = call_item(item_id, call.call_id, call.name, "", self._tools)
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
                item["input"] = custom_input(call.arguments)
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
            delta = json_object(choice.get("delta"))
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
        status, incomplete = response_status(self.finish_reason)
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
        status, incomplete = response_status(self.finish_reason)
        return self._snapshot(status, list(self._output), incomplete=incomplete)
