"""Responses API <-> Chat Completions translation, checked against the official openai SDK's types."""

from __future__ import annotations

from typing import Any

import orjson
import pydantic
import pytest
from openai.types.responses import Response, ResponseStreamEvent

from proxy.translate.common import TranslationError
from proxy.translate.responses import (
    ResponsesStream,
    chat_completion_to_response,
    dropped_tools,
    responses_request_to_chat,
)

EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
FUNCTION = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
    "strict": False,
}
CUSTOM = {"type": "custom", "name": "apply_patch", "description": "Patch files", "format": {"type": "text"}}


def codex_like_request(**extra: Any) -> dict[str, Any]:
    """The shape Codex CLI 0.169 sends (captured), trimmed."""
    return {
        "model": "gpt-5-codex",
        "instructions": None,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sure."}]},
            {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": '{"cmd":"ls"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
            {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Done"},
        ],
        "tools": [
            FUNCTION,
            CUSTOM,
            {"type": "web_search", "external_web_access": False},
            {"type": "namespace", "name": "multi_agent_v1", "tools": []},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "high", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "abc",
        "client_metadata": {"x": "y"},
        **extra,
    }


def test_codex_request_becomes_a_chat_request() -> None:
    chat = responses_request_to_chat(codex_like_request())
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert chat["messages"][0]["content"] == "You are Codex."
    assert chat["messages"][2] == {
        "role": "assistant",
        "content": "Sure.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'}}
        ],
    }
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"}
    patch_call = chat["messages"][4]["tool_calls"][0]
    assert patch_call["id"] == "call_2" and orjson.loads(patch_call["function"]["arguments"]) == {
        "input": "*** Begin Patch"
    }
    assert [t["function"]["name"] for t in chat["tools"]] == ["exec_command", "apply_patch"]
    assert chat["tools"][1]["function"]["parameters"]["required"] == ["input"]
    assert chat["tool_choice"] == "auto" and chat["parallel_tool_calls"] is True
    assert chat["reasoning_effort"] == "high"
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    for dropped in ("store", "include", "prompt_cache_key", "client_metadata", "input", "instructions"):
        assert dropped not in chat
    assert dropped_tools(codex_like_request()) == ["web_search", "multi_agent_v1"]


def test_options_carry_over() -> None:
    chat = responses_request_to_chat(
        {
            "model": "m",
            "instructions": "Be brief.",
            "input": "hi",
            "max_output_tokens": 300,
            "temperature": 0.2,
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}},
            "tools": [FUNCTION],
            "tool_choice": {"type": "function", "name": "exec_command"},
        }
    )
    assert chat["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert chat["max_tokens"] == 300 and chat["temperature"] == 0.2
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    }
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "exec_command"}}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"background": True}, "background"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role"),
        ({"tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}, "tool_choice"),
        ({"input": 5}, "input"),
    ],
)
def test_untranslatable_requests_name_the_field(extra: dict, param: str) -> None:
    with pytest.raises(TranslationError) as info:
        responses_request_to_chat({"model": "m", "input": "x", **extra})
    assert info.value.param == param


COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "Running it.",
                "reasoning_content": "The user wants files.",
                "tool_calls": [
                    {
                        "id": "call_9",
                        "type": "function",
                        "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'},
                    },
                    {
                        "id": "call_10",
                        "type": "function",
                        "function": {"name": "apply_patch", "arguments": '{"input":"*** Begin Patch\\n"}'},
                    },
                ],
            },
        }
    ],
    "usage": {
        "prompt_tokens": 50,
        "completion_tokens": 20,
        "total_tokens": 70,
        "prompt_tokens_details": {"cached_tokens": 10},
    },
}
REQUEST = {"model": "codex-route", "input": "x", "tools": [FUNCTION, CUSTOM]}


def test_chat_completion_becomes_a_response_the_sdk_accepts() -> None:
    out = chat_completion_to_response(COMPLETION, REQUEST, "resp_abc", 1)
    response = Response.model_validate(out)
    assert response.status == "completed" and response.model == "codex-route"
    assert [item.type for item in response.output] == ["reasoning", "message", "function_call", "custom_tool_call"]
    assert response.output_text == "Running it."
    assert response.output[2].call_id == "call_9" and response.output[2].arguments == '{"cmd":"ls"}'
    assert response.output[3].input == "*** Begin Patch\n"
    assert response.usage.input_tokens == 50 and response.usage.input_tokens_details.cached_tokens == 10
    length = {**COMPLETION, "choices": [{**COMPLETION["choices"][0], "finish_reason": "length"}]}
    incomplete = Response.model_validate(chat_completion_to_response(length, REQUEST, "resp_abc", 1))
    assert incomplete.status == "incomplete" and incomplete.incomplete_details.reason == "max_output_tokens"


def chunks_of(completion: dict[str, Any]) -> list[dict[str, Any]]:
    message = completion["choices"][0]["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    out = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "The user "}),
        chunk({"reasoning_content": "wants files."}),
    ]
    out += [chunk({"content": "Running"}), chunk({"content": " it."})]
    for i, call in enumerate(message["tool_calls"]):
        args = call["function"]["arguments"]
        out.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        out += [chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]}) for p in (args[:5], args[5:])]
    out.append(chunk({}, "tool_calls"))
    out.append({"choices": [], "usage": completion["usage"]})
    return out


def test_stream_events_are_valid_in_order_and_reassemble_to_the_non_stream_answer() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "codex-route")
    raw = stream.start()
    for chunk in chunks_of(COMPLETION):
        raw += stream.feed(chunk)
    raw += stream.finish()
    events = []
    for item in raw:
        head, data = item.rstrip(b"\n").split(b"\n")
        payload = orjson.loads(data.removeprefix(b"data: "))
        assert head == b"event: " + payload["type"].encode()
        EVENT.validate_python(payload)
        events.append(payload)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == 4
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    arguments = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    assert text == "Running it." and arguments == '{"cmd":"ls"}'
    final = Response.model_validate(events[-1]["response"])
    whole = Response.model_validate(chat_completion_to_response(COMPLETION, REQUEST, "resp_abc", 1))
    assert [i.type for i in final.output] == [i.type for i in whole.output]
    assert final.output_text == whole.output_text
    assert final.output[2].arguments == whole.output[2].arguments and final.output[3].input == whole.output[3].input
    assert final.usage == whole.usage


def test_a_failed_stream_ends_with_response_failed() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    raw = stream.start() + stream.feed({"choices": [{"index": 0, "delta": {"content": "Hel"}}]})
    raw += stream.fail("the upstream reset the connection", "stream_interrupted")
    last = orjson.loads(raw[-1].rstrip(b"\n").split(b"\n")[1].removeprefix(b"data: "))
    EVENT.validate_python(last)
    assert last["type"] == "response.failed" and last["response"]["status"] == "failed"
    assert last["response"]["error"]["code"] == "server_error"
    assert "stream_interrupted" in last["response"]["error"]["message"]
