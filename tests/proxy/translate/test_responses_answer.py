"""Chat Completions answers -> Responses API ``response`` objects, checked against the openai SDK's
types with no unknown fields (proxy/translate/responses_answer.py)."""

from __future__ import annotations

import pytest

from proxy.translate.responses_answer import chat_completion_to_response
from tests.proxy.translate.responses_samples import (
    COMPLETION,
    FUNCTION,
    REQUEST,
    completion_with,
    sdk_response,
)


def test_chat_completion_becomes_a_response_the_sdk_accepts() -> None:
    out = chat_completion_to_response(COMPLETION, REQUEST, "resp_abc", 1)
    response = sdk_response(out)
    assert response.id == "resp_abc" and response.object == "response" and response.created_at == 1
    assert response.status == "completed" and response.model == "codex-route"
    assert response.error is None and response.incomplete_details is None and response.metadata == {}
    assert response.parallel_tool_calls is True and response.tool_choice == "auto"
    assert [t.type for t in response.tools] == ["function", "custom", "namespace"]  # built-ins left out
    assert [item.type for item in response.output] == [
        "reasoning",
        "message",
        "function_call",
        "custom_tool_call",
        "function_call",
    ]
    reasoning, message, call, patch, spawn = response.output
    assert reasoning.summary[0].type == "summary_text" and reasoning.summary[0].text == "The user wants files."
    assert message.id.startswith("msg_") and message.status == "completed" and message.role == "assistant"
    assert message.content[0].type == "output_text" and message.content[0].annotations == []
    assert response.output_text == "Running it."
    assert call.id.startswith("fc_") and call.call_id == "call_9" and call.name == "exec_command"
    assert call.arguments == '{"cmd":"ls"}' and call.status == "completed"
    assert patch.call_id == "call_10" and patch.name == "apply_patch" and patch.input == "*** Begin Patch\n"
    assert (spawn.namespace, spawn.name, spawn.call_id) == ("agents", "spawn", "call_11")
    assert len({item.id for item in response.output}) == 5
    assert response.usage.model_dump() == {
        "input_tokens": 50,
        "input_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 0, "cache_write_tokens_details": None},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 7},
        "total_tokens": 70,
    }


def test_the_response_repeats_the_request_settings() -> None:
    request = {
        "model": "m",
        "input": "x",
        "instructions": "Be brief.",
        "temperature": 0.3,
        "top_p": 0.5,
        "max_output_tokens": 99,
        "metadata": {"a": "b"},
        "user": "u",
        "parallel_tool_calls": False,
        "tools": [FUNCTION],
        "tool_choice": {"type": "function", "name": "exec_command"},
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "json_schema", "name": "o", "schema": {"type": "object"}}, "verbosity": "low"},
    }
    response = sdk_response(chat_completion_to_response(completion_with({"content": "{}"}), request, "resp_1", 5))
    assert (response.instructions, response.temperature, response.top_p) == ("Be brief.", 0.3, 0.5)
    assert response.max_output_tokens == 99 and response.metadata == {"a": "b"} and response.user == "u"
    assert response.parallel_tool_calls is False and response.tool_choice.name == "exec_command"
    assert response.reasoning.effort == "low" and response.text.format.type == "json_schema"
    assert response.text.verbosity == "low" and response.completed_at >= 5


def test_reasoning_from_openrouter_style_reasoning_field() -> None:
    out = chat_completion_to_response(completion_with({"content": "hi", "reasoning": "thinking"}), REQUEST, "r", 1)
    assert [(i["type"], i.get("summary")) for i in out["output"]][0] == (
        "reasoning",
        [{"type": "summary_text", "text": "thinking"}],
    )


@pytest.mark.parametrize(
    ("finish", "status", "reason"),
    [
        ("stop", "completed", None),
        ("length", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
    ],
)
def test_finish_reasons(finish: str, status: str, reason: str | None) -> None:
    out = chat_completion_to_response(completion_with({"content": "partial"}, finish), REQUEST, "resp_1", 1)
    response = sdk_response(out)
    assert response.status == status
    assert (response.incomplete_details.reason if response.incomplete_details else None) == reason
    assert (response.completed_at is not None) == (status == "completed")


def test_refusals_empty_answers_and_missing_usage() -> None:
    refused = sdk_response(
        chat_completion_to_response(completion_with({"content": None, "refusal": "I can't."}), REQUEST, "r", 1)
    )
    assert [c.type for c in refused.output[0].content] == ["refusal"] and refused.output[0].content[0].refusal
    empty = sdk_response(chat_completion_to_response(completion_with({"content": None}, usage=None), REQUEST, "r", 1))
    assert [i.type for i in empty.output] == ["message"] and empty.output_text == "" and empty.usage is None
    calls_only = completion_with({"content": "", "tool_calls": COMPLETION["choices"][0]["message"]["tool_calls"][:1]})
    assert [i.type for i in sdk_response(chat_completion_to_response(calls_only, REQUEST, "r", 1)).output] == [
        "function_call"
    ]


def test_a_custom_tool_answer_that_is_not_json_is_taken_as_the_input() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "apply_patch", "arguments": "*** Begin Patch"}}
    out = chat_completion_to_response(completion_with({"content": None, "tool_calls": [call]}), REQUEST, "r", 1)
    assert out["output"][0]["type"] == "custom_tool_call" and out["output"][0]["input"] == "*** Begin Patch"
