"""Chat Completions <-> Anthropic Messages requests (proxy/translate/anthropic_request.py)."""

from __future__ import annotations

from typing import Any

import anthropic.types as at
import openai.types.chat as ot
import pytest

from proxy.translate.anthropic_request import (
    DEFAULT_MAX_TOKENS,
    chat_to_messages_request,
    messages_to_chat_request,
)
from proxy.translate.common import TranslationError

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


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


def test_response_format_is_left_to_the_structured_outputs_step() -> None:
    """``anthropic_structured.structured_request`` applies it, knowing the target model."""
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    out = chat_to_messages_request(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        }
    )
    assert "system" not in out and "tools" not in out and "output_config" not in out


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
