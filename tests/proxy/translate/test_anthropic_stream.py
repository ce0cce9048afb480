"""Chat Completions <-> Anthropic Messages streams, checked against the official SDKs' types: every
streamed event is valid and streams reassemble to the non-stream answer
(proxy/translate/anthropic_stream.py)."""

from __future__ import annotations

from typing import Any

import anthropic.types as at
import openai.types.chat as ot
import orjson
import pydantic
import pytest

from proxy.cache.replay import StreamAssembler
from proxy.translate.anthropic_answer import chat_to_messages_response, messages_to_chat_response
from proxy.translate.anthropic_stream import ChatToMessagesStream, MessagesToChatStream
from proxy.translate.common import TranslationError
from tests.proxy.translate.anthropic_samples import COMPLETION, MESSAGE

EVENT = pydantic.TypeAdapter(at.RawMessageStreamEvent)


def parse_sse(raw: list[bytes]) -> list[dict[str, Any]]:
    """Each ``event: X\\ndata: {...}\\n\\n`` -> its data, checking the event name matches the type."""
    out = []
    for item in raw:
        head, data = item.rstrip(b"\n").split(b"\n")
        payload = orjson.loads(data.removeprefix(b"data: "))
        assert head == b"event: " + payload["type"].encode()
        out.append(payload)
    return out


# ------------------------------------------------------------------------------------------------
# Anthropic stream -> chat stream
# ------------------------------------------------------------------------------------------------


def anthropic_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The event sequence Anthropic streams for ``message``."""
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}})
            events += [
                {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": w}}
                for w in ("Let ", "me check.")
            ]
        elif block["type"] == "thinking":
            events.append(
                {
                    "type": "content_block_start",
                    "index": i,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                }
            )
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "thinking_delta", "thinking": block["thinking"]},
                }
            )
            events.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "signature_delta", "signature": block["signature"]},
                }
            )
        else:
            events.append({"type": "content_block_start", "index": i, "content_block": {**block, "input": {}}})
            raw = orjson.dumps(block["input"]).decode()
            for part in (raw[:5], raw[5:]):
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    }
                )
        events.append({"type": "content_block_stop", "index": i})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": message["usage"]["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


def test_anthropic_stream_becomes_chat_chunks_that_reassemble_to_the_non_stream_answer() -> None:
    events = anthropic_events(MESSAGE)
    for event in events:
        if event["type"] != "ping":  # ping is not in the SDK's event union; its stream reader skips it
            EVENT.validate_python(event)
    translator = MessagesToChatStream(include_usage=True, created=1)
    assembler = StreamAssembler()
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    assert translator.done
    for chunk in chunks:
        ot.ChatCompletionChunk.model_validate(chunk)
        assembler.feed(chunk)
    streamed = assembler.result()["choices"][0]
    whole = messages_to_chat_response(MESSAGE, created=1)["choices"][0]
    assert streamed["message"]["content"] == whole["message"]["content"]
    assert streamed["message"]["tool_calls"] == whole["message"]["tool_calls"]
    assert streamed["finish_reason"] == "tool_calls"
    assert (
        "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks if c["choices"])
        == "The user wants weather."
    )
    assert chunks[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "",
    }  # held back by the relay until content
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 1110


def test_anthropic_stream_error_event_becomes_an_in_band_error_chunk() -> None:
    translator = MessagesToChatStream(include_usage=False)
    out = translator.feed({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert out == [{"error": {"message": "Overloaded", "type": "overloaded_error", "code": None}}]
    assert not translator.done


# ------------------------------------------------------------------------------------------------
# Chat stream -> Anthropic stream (the /v1/messages surface)
# ------------------------------------------------------------------------------------------------


def chat_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """How an OpenAI-compatible upstream streams ``completion``."""
    message = completion["choices"][0]["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    out = [chunk({"role": "assistant", "content": ""}), chunk({"reasoning_content": message["reasoning_content"]})]
    out += [chunk({"content": w}) for w in ("Su", "re.")]
    for i, call in enumerate(message["tool_calls"]):
        out.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": "Bash", "arguments": ""},
                        }
                    ]
                }
            )
        )
        args = call["function"]["arguments"]
        out += [chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]}) for p in (args[:4], args[4:])]
    out.append(chunk({}, "tool_calls"))
    out.append(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [],
            "usage": completion["usage"],
        }
    )
    return out


def test_chat_stream_becomes_anthropic_events_that_reassemble_to_the_non_stream_answer() -> None:
    translator = ChatToMessagesStream("claude-sonnet-4-5", "msg_1")
    raw = translator.start()
    for chunk in chat_chunks(COMPLETION):
        raw += translator.feed(chunk)
    raw += translator.finish()
    events = parse_sse(raw)
    for event in events:
        if event["type"] != "ping":  # ping is not in the SDK's event union; its stream reader skips it
            EVENT.validate_python(event)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["message_start", "ping"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 4
    # Rebuild the message the way a client does, and compare with the non-stream translation.
    blocks: list[dict[str, Any]] = []
    for e in events:
        if e["type"] == "content_block_start":
            assert e["index"] == len(blocks)
            blocks.append({**e["content_block"], "_json": ""})
        elif e["type"] == "content_block_delta":
            d = e["delta"]
            block = blocks[e["index"]]
            if d["type"] == "text_delta":
                block["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                block["thinking"] += d["thinking"]
            elif d["type"] == "input_json_delta":
                block["_json"] += d["partial_json"]
    for block in blocks:
        raw_json = block.pop("_json")
        if block["type"] == "tool_use":
            block["input"] = orjson.loads(raw_json)
    whole = chat_to_messages_response(COMPLETION, "claude-sonnet-4-5")
    assert blocks == whole["content"]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    assert events[-2]["usage"]["output_tokens"] == 15 and events[-2]["usage"]["cache_read_input_tokens"] == 100


def test_interleaved_parallel_tool_calls_are_refused_rather_than_split() -> None:
    translator = ChatToMessagesStream("m")
    translator.start()

    def call(index: int, **function: str) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, **function}]}}]}

    translator.feed(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}]},
                }
            ]
        }
    )
    translator.feed(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]},
                }
            ]
        }
    )
    with pytest.raises(TranslationError):
        translator.feed(
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}}]}
        )
