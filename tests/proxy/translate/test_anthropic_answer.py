"""Chat Completions <-> Anthropic Messages answers, checked against the official SDKs' types
(proxy/translate/anthropic_answer.py)."""

from __future__ import annotations

import anthropic.types as at
import openai.types.chat as ot
import orjson
import pytest

from proxy.translate.anthropic_answer import chat_to_messages_response, messages_to_chat_response
from tests.proxy.translate.anthropic_samples import COMPLETION, MESSAGE

# ------------------------------------------------------------------------------------------------
# Anthropic answer -> chat answer
# ------------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------------
# Chat answer -> Anthropic answer (the /v1/messages surface)
# ------------------------------------------------------------------------------------------------


def test_chat_completion_becomes_an_anthropic_message() -> None:
    out = chat_to_messages_response(COMPLETION, "claude-sonnet-4-5")
    message = at.Message.model_validate(out)
    assert message.model == "claude-sonnet-4-5"
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert message.content[2].id == "call_1" and message.content[2].input == {"command": "ls"}
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens == 20 and message.usage.cache_read_input_tokens == 100
    assert message.usage.output_tokens == 15
