"""Chat Completions <-> Anthropic Messages translation, checked against the official SDKs' types."""

from __future__ import annotations

from typing import Any

import anthropic.types as at
import openai.types.chat as ot
import orjson
import pydantic
import pytest

from proxy.cache.replay import StreamAssembler
from proxy.translate.anthropic import (
    DEFAULT_MAX_TOKENS,
    ChatToMessagesStream,
    MessagesToChatStream,
    anthropic_error_body,
    chat_to_messages_request,
    chat_to_messages_response,
    messages_to_chat_request,
    messages_to_chat_response,
    openai_error_for_anthropic,
)
from proxy.translate.common import TranslationError

EVENT = pydantic.TypeAdapter(at.RawMessageStreamEvent)
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


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
# Chat request -> Anthropic request
# ------------------------------------------------------------------------------------------------


def test_chat_request_conversation_with_tools_becomes_alternating_anthropic_turns() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "developer",
                "content": [{"type": "text", "text": "Use tools.", "cache_control": {"type": "ephemeral"}}],
            },
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "rain"}]},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [TOOL],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "stop": "END",
        "temperature": 1.7,
        "user": "u-42",
    }
    out = chat_to_messages_request(body)
    assert out["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Use tools.", "cache_control": {"type": "ephemeral"}},
    ]
    assert [t["role"] for t in out["messages"]] == ["user", "assistant", "user"]
    assistant = out["messages"][1]["content"]
    assert assistant[0] == {"type": "text", "text": "Checking."}
    assert assistant[1] == {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
    assert assistant[2]["id"] == "call_2"
    results = out["messages"][2]["content"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"}
    assert results[1] == {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "rain"}]}
    assert results[2] == {"type": "text", "text": "Thanks"}  # tool results first, then the user's text
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": TOOL["function"]["parameters"],
        }
    ]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert out["stop_sequences"] == ["END"]
    assert out["temperature"] == 1.0  # Anthropic's range is 0..1
    assert out["metadata"] == {"user_id": "u-42"}
    assert out["max_tokens"] == DEFAULT_MAX_TOKENS
    at.MessageCreateParams  # noqa: B018  (the shape is a TypedDict; the fake upstream validates it strictly)


def test_chat_request_images_and_pdf_become_anthropic_blocks() -> None:
    body = {
        "model": "m",
        "max_completion_tokens": 50,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}},
                    {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
                ],
            }
        ],
    }
    blocks = chat_to_messages_request(body)["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    assert blocks[3]["type"] == "document" and blocks[3]["source"]["media_type"] == "application/pdf"
    assert chat_to_messages_request(body)["max_tokens"] == 50


def test_reasoning_effort_becomes_thinking_with_room_for_the_answer() -> None:
    out = chat_to_messages_request(
        {
            "model": "m",
            "max_tokens": 1000,
            "reasoning_effort": "medium",
            "temperature": 0.2,
            "messages": [{"role": "user", "content": "hi"}],
        }
    )
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert out["max_tokens"] > 4096
    assert "temperature" not in out  # Anthropic refuses temperature with thinking


def test_thinking_blocks_go_back_with_their_signatures() -> None:
    block = {"type": "thinking", "thinking": "Let me see", "signature": "sig=="}
    out = chat_to_messages_request(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Hello", "thinking_blocks": [block]},
                {"role": "user", "content": "again"},
            ],
        }
    )
    assert out["messages"][1]["content"][0] == block


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("n", 2, "n"),
        ("logprobs", True, "logprobs"),
        ("tool_choice", "sometimes", "tool_choice"),
    ],
)
def test_chat_requests_anthropic_cannot_honour_are_refused_with_the_field(field: str, value: Any, param: str) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [TOOL], field: value}
    with pytest.raises(TranslationError) as info:
        chat_to_messages_request(body)
    assert info.value.param == param


def test_bad_tool_call_arguments_are_refused_with_their_path() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
            },
        ],
    }
    with pytest.raises(TranslationError) as info:
        chat_to_messages_request(body)
    assert info.value.param == "messages[1].tool_calls[0].function.arguments"


def test_json_response_format_becomes_an_instruction() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    out = chat_to_messages_request(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        }
    )
    assert '"properties":{"a":{"type":"integer"}}' in out["system"][-1]["text"]


# ------------------------------------------------------------------------------------------------
# Anthropic answer -> chat answer
# ------------------------------------------------------------------------------------------------

MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "The user wants weather.", "signature": "c2ln"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 10,
        "output_tokens": 30,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 1000,
    },
}


def test_anthropic_message_becomes_a_chat_completion_keeping_thinking_and_tool_ids() -> None:
    at.Message.model_validate(MESSAGE)
    out = messages_to_chat_response(MESSAGE, created=1)
    ot.ChatCompletion.model_validate(out)
    message = out["choices"][0]["message"]
    assert message["content"] == "Let me check."
    assert [c["id"] for c in message["tool_calls"]] == ["toolu_1", "toolu_2"]
    assert orjson.loads(message["tool_calls"][1]["function"]["arguments"]) == {"city": "Rome"}
    assert message["reasoning_content"] == "The user wants weather."
    assert message["thinking_blocks"] == [MESSAGE["content"][0]]
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["usage"]["prompt_tokens"] == 1110
    assert out["usage"]["prompt_tokens_details"]["cached_tokens"] == 1000
    assert out["usage"]["completion_tokens"] == 30


@pytest.mark.parametrize(
    ("stop", "finish"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("refusal", "content_filter")],
)
def test_stop_reasons_map_to_finish_reasons(stop: str, finish: str) -> None:
    out = messages_to_chat_response({**MESSAGE, "stop_reason": stop})
    assert out["choices"][0]["finish_reason"] == finish


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


def test_anthropic_errors_map_to_openai_statuses_and_back() -> None:
    assert openai_error_for_anthropic(529, "overloaded_error") == (503, "server_error", "overloaded_error")
    assert openai_error_for_anthropic(429, "rate_limit_error") == (429, "rate_limit_error", "rate_limit_error")
    assert anthropic_error_body(404, "invalid_request_error", "no")["error"]["type"] == "not_found_error"
    assert anthropic_error_body(529, "overloaded_error", "busy")["error"]["type"] == "overloaded_error"
    assert anthropic_error_body(503, None, "x")["error"]["type"] == "api_error"


# ------------------------------------------------------------------------------------------------
# Anthropic request -> chat request (the /v1/messages surface)
# ------------------------------------------------------------------------------------------------


def test_claude_code_style_request_becomes_a_chat_request() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be careful."},
        ],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "list files", "cache_control": {"type": "ephemeral"}}],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "x"},
                    {"type": "text", "text": "Running ls."},
                    {"type": "tool_use", "id": "toolu_A", "name": "Bash", "input": {"command": "ls"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_A", "content": [{"type": "text", "text": "a.txt"}]},
                    {"type": "text", "text": "and now?"},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_B", "name": "Bash", "input": {"command": "false"}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_B",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "exit 1"},
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                        ],
                    }
                ],
            },
        ],
        "tools": [
            {
                "name": "Bash",
                "description": "Run",
                "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
            },
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "metadata": {"user_id": "user_abc"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "temperature": 1,
        "stream": True,
    }
    chat, dropped = messages_to_chat_request(body)
    assert dropped == ["web_search"]
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user", "assistant", "tool", "user"]
    assert chat["messages"][0]["content"] == "You are Claude Code.\n\nBe careful."
    assert chat["messages"][2] == {
        "role": "assistant",
        "content": "Running ls.",
        "tool_calls": [
            {"id": "toolu_A", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"ls"}'}}
        ],
    }
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "toolu_A", "content": "a.txt"}
    assert chat["messages"][4] == {"role": "user", "content": "and now?"}
    assert chat["messages"][5]["content"] is None
    assert chat["messages"][6] == {"role": "tool", "tool_call_id": "toolu_B", "content": "Error: exit 1"}
    assert chat["messages"][7]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA"},
    }
    assert [t["function"]["name"] for t in chat["tools"]] == ["Bash"]
    assert chat["parallel_tool_calls"] is False
    assert chat["user"] == "user_abc"
    assert "max_tokens" not in chat  # above MAX_TOKENS_FORWARDED: the upstream's own limit applies
    assert "thinking" not in chat
    ot.completion_create_params.CompletionCreateParamsStreaming  # noqa: B018


def test_unknown_anthropic_block_types_are_refused_with_their_path() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "hologram"}]}]}
    with pytest.raises(TranslationError) as info:
        messages_to_chat_request(body)
    assert info.value.param == "messages[0].content[0].type"


# ------------------------------------------------------------------------------------------------
# Chat answer -> Anthropic answer (the /v1/messages surface)
# ------------------------------------------------------------------------------------------------

COMPLETION = {
    "id": "chatcmpl-xyz",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Sure.",
                "reasoning_content": "thinking...",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"ls"}'}},
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "Bash", "arguments": '{"command":"pwd"}'},
                    },
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 120,
        "completion_tokens": 15,
        "total_tokens": 135,
        "prompt_tokens_details": {"cached_tokens": 100},
    },
}


def test_chat_completion_becomes_an_anthropic_message() -> None:
    out = chat_to_messages_response(COMPLETION, "claude-sonnet-4-5")
    message = at.Message.model_validate(out)
    assert message.model == "claude-sonnet-4-5"
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert message.content[2].id == "call_1" and message.content[2].input == {"command": "ls"}
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens == 20 and message.usage.cache_read_input_tokens == 100
    assert message.usage.output_tokens == 15


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


def test_mid_conversation_system_messages_stay_in_place_and_huge_max_tokens_are_not_forwarded() -> None:
    body = {
        "model": "m",
        "max_tokens": 64000,  # Claude Code asks for the model's maximum
        "system": [{"type": "text", "text": "top"}],
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "mid-conversation note"}]},
        ],
    }
    chat, _ = messages_to_chat_request(body)
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "system"]
    assert chat["messages"][-1]["content"] == "mid-conversation note"
    assert "max_tokens" not in chat  # most models refuse 64000; their own limit applies
    assert messages_to_chat_request({**body, "max_tokens": 1000})[0]["max_tokens"] == 1000
