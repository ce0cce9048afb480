"""Responses API <-> Chat Completions translation, checked rule by rule and against the official
openai SDK's types (no unknown fields, every event valid, streams reassembling through the SDK's
own accumulator to the non-stream answer); and the fake OpenAI upstream's ``/v1/responses``,
driven by the SDK directly."""

from __future__ import annotations

import copy
import json
from typing import Any

import openai
import orjson
import pydantic
import pytest
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

from proxy.translate.responses import (
    ResponsesStream,
    TranslationError,
    chat_completion_to_response,
    dropped_tools,
    responses_request_to_chat,
)
from tests.fakes.openai_upstream import FakeOpenAIUpstream, OpenAIError, Reply, Stream

EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
FUNCTION = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
    "strict": False,
}
CUSTOM = {"type": "custom", "name": "apply_patch", "description": "Patch files", "format": {"type": "text"}}
NAMESPACE = {
    "type": "namespace",
    "name": "agents",
    "description": "Sub-agents",
    "tools": [{"type": "function", "name": "spawn", "parameters": {"type": "object", "properties": {}}}],
}
# Spec `Response.required` (shared/specs/openai-openapi.yaml)
REQUIRED = {
    "id",
    "object",
    "created_at",
    "error",
    "incomplete_details",
    "instructions",
    "model",
    "tools",
    "output",
    "parallel_tool_calls",
    "metadata",
    "tool_choice",
    "temperature",
    "top_p",
}


# Fields the spec has (and OpenAI sends) that the SDK's models lack
SPEC_ONLY = {"response.function_call_arguments.done": {"name"}}


def no_unknown_fields(value: Any, path: str = "$", allowed: set[str] | frozenset[str] = frozenset()) -> None:
    """Every field of a validated SDK model (recursively) is one the SDK knows (or, at the top,
    one of ``allowed``)."""
    if isinstance(value, pydantic.BaseModel):
        extra = set(value.model_extra or {}) - allowed
        assert not extra, f"{path}: fields the SDK does not know: {sorted(extra)}"
        for name in type(value).model_fields:
            no_unknown_fields(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for k, item in enumerate(value):
            no_unknown_fields(item, f"{path}[{k}]")


def sdk_response(payload: dict[str, Any]) -> Response:
    assert REQUIRED <= payload.keys(), REQUIRED - payload.keys()
    assert "output_text" not in payload  # SDK-side only
    response = Response.model_validate(payload)
    no_unknown_fields(response)
    return response


def parse_events(raw: list[bytes]) -> list[dict[str, Any]]:
    """SSE bytes -> payloads; each framed as ``event: X`` + one ``data:`` line, valid for the SDK."""
    events = []
    for frame in raw:
        assert frame.endswith(b"\n\n")
        head, data = frame[:-2].split(b"\n")
        payload = orjson.loads(data.removeprefix(b"data: "))
        assert head == b"event: " + payload["type"].encode()
        event = EVENT.validate_python(payload)
        no_unknown_fields(event, allowed=SPEC_ONLY.get(payload["type"], set()))
        events.append(payload)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def sdk_accumulate(events: list[dict[str, Any]]) -> Any:
    """Run the events through the SDK's own stream accumulator (what ``responses.stream()`` uses);
    it checks indexes and item identities. Returns the final response it assembled."""
    state = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    final = None
    for payload in events:
        for event in state.handle_event(EVENT.validate_python(payload)):
            if event.type in ("response.completed", "response.incomplete"):
                final = event.response
    return final


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def run_stream(
    chunks: list[dict[str, Any]], request: dict[str, Any] | None = None
) -> tuple[ResponsesStream, list[dict[str, Any]]]:
    stream = ResponsesStream(request or REQUEST, "resp_abc", 1, "codex-route")
    raw = stream.start()
    for c in chunks:
        raw += stream.feed(c)
    raw += stream.finish()
    return stream, parse_events(raw)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def translate(**body: Any) -> dict[str, Any]:
    return responses_request_to_chat({"model": "m", **body})


# ------------------------------------------------------------------------------------------------
# Request
# ------------------------------------------------------------------------------------------------


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
            {"type": "namespace", "name": "multi_agent_v1", "description": "", "tools": []},
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
    assert chat["messages"][0] == {"role": "system", "content": "You are Codex."}
    assert chat["messages"][2] == {
        "role": "assistant",
        "content": "Sure.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'}}
        ],
    }
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"}
    patch_call = chat["messages"][4]["tool_calls"][0]
    assert patch_call["id"] == "call_2"
    assert orjson.loads(patch_call["function"]["arguments"]) == {"input": "*** Begin Patch"}
    assert chat["messages"][5] == {"role": "tool", "tool_call_id": "call_2", "content": "Done"}
    assert [t["function"]["name"] for t in chat["tools"]] == ["exec_command", "apply_patch"]
    assert chat["tool_choice"] == "auto" and chat["parallel_tool_calls"] is True
    assert chat["reasoning_effort"] == "high"
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    assert set(chat) == {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "stream",
        "stream_options",
    }
    assert chat["model"] == "gpt-5-codex"
    assert dropped_tools(codex_like_request()) == ["web_search", "multi_agent_v1"]


def test_instructions_come_first_and_a_string_input_is_one_user_message() -> None:
    chat = translate(instructions="Be brief.", input="hi")
    assert chat["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert translate(input="hi")["messages"] == [{"role": "user", "content": "hi"}]
    assert translate(instructions="", input="hi")["messages"] == [{"role": "user", "content": "hi"}]


def test_message_items_roles_and_parts() -> None:
    chat = translate(
        instructions="sys",
        input=[
            {"role": "developer", "content": "dev rules"},  # EasyInputMessage: no "type"
            {"role": "system", "content": [{"type": "input_text", "text": "more rules"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            {"role": "assistant", "content": "plain"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is this?"},
                    {"type": "input_image", "image_url": "https://x.test/cat.png", "detail": "low"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
                    {"type": "input_image", "image_url": "https://x.test/dog.png"},
                ],
            },
        ],
    )
    assert chat["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "system", "content": "dev rules"},
        {"role": "system", "content": "more rules"},
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": "ok"},
        {"role": "assistant", "content": "plain"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://x.test/cat.png", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "auto"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/dog.png"}},
            ],
        },
    ]


def test_input_files_sent_inline_become_file_parts() -> None:
    part = {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBER"}
    chat = translate(input=[{"role": "user", "content": [part]}])
    assert chat["messages"][0]["content"] == [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBER", "filename": "a.pdf"}}
    ]


def test_function_calls_merge_into_one_assistant_message() -> None:
    call = {"type": "function_call", "name": "exec_command", "arguments": "{}"}
    chat = translate(
        input=[
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "Running two."},
            {**call, "call_id": "c1"},
            {"type": "reasoning", "id": "rs_x", "summary": []},  # dropped: does not split the calls
            {**call, "call_id": "c2"},
            {"type": "function_call_output", "call_id": "c1", "output": "one"},
            {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "two"}]},
            {**call, "call_id": "c3"},  # no assistant text right before: a message of its own
            {"type": "function_call_output", "call_id": "c3", "output": "three"},
        ]
    )
    messages = chat["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "assistant", "tool"]
    assert messages[1]["content"] == "Running two."
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["c1", "c2"]
    assert messages[3] == {"role": "tool", "tool_call_id": "c2", "content": "two"}
    assert messages[4] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c3", "type": "function", "function": {"name": "exec_command", "arguments": "{}"}}],
    }


def test_reasoning_and_web_search_call_items_are_dropped() -> None:
    chat = translate(
        input=[
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}]},
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
            {"role": "user", "content": "hi"},
        ]
    )
    assert chat["messages"] == [{"role": "user", "content": "hi"}]


def test_function_tools_custom_tools_and_namespaces() -> None:
    grammar = {"type": "custom", "name": "sql", "format": {"type": "grammar", "syntax": "lark", "definition": "s: X"}}
    bare = {"type": "function", "name": "now", "parameters": None}
    chat = translate(input="x", tools=[FUNCTION, CUSTOM, grammar, bare, NAMESPACE])
    tools = {t["function"]["name"]: t for t in chat["tools"]}
    assert list(tools) == ["exec_command", "apply_patch", "sql", "now", "agents__spawn"]
    assert all(t["type"] == "function" for t in chat["tools"])
    assert tools["exec_command"]["function"] == {
        "name": "exec_command",
        "description": "Run a command",
        "parameters": FUNCTION["parameters"],
        "strict": False,
    }
    patch = tools["apply_patch"]["function"]
    assert patch["description"] == "Patch files"
    assert patch["parameters"]["properties"]["input"]["type"] == "string"
    assert patch["parameters"]["required"] == ["input"]
    assert "lark grammar" in tools["sql"]["function"]["parameters"]["properties"]["input"]["description"]
    assert "s: X" in tools["sql"]["function"]["parameters"]["properties"]["input"]["description"]
    assert tools["now"]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert "tool_choice" not in chat and "parallel_tool_calls" not in chat
    # a namespaced call in the history goes back under its flat name
    chat = translate(
        tools=[NAMESPACE],
        input=[{"type": "function_call", "call_id": "c", "name": "spawn", "namespace": "agents", "arguments": "{}"}],
    )
    assert chat["messages"][0]["tool_calls"][0]["function"]["name"] == "agents__spawn"


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "web_search_preview"},
        {"type": "local_shell"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "computer_use_preview", "display_width": 1, "display_height": 1, "environment": "linux"},
        {"type": "image_generation"},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.test"},
    ],
)
def test_built_in_tools_are_dropped_and_named(tool: dict) -> None:
    body = {"input": "x", "tools": [FUNCTION, tool], "tool_choice": "auto"}
    chat = translate(**body)
    assert [t["function"]["name"] for t in chat["tools"]] == ["exec_command"]
    assert dropped_tools(body) == [tool.get("server_label", tool["type"])]
    alone = translate(input="x", tools=[tool], tool_choice="auto")
    assert "tools" not in alone and "tool_choice" not in alone
    with pytest.raises(TranslationError) as info:
        translate(input="x", tools=[tool], tool_choice="required")
    assert info.value.param == "tool_choice"
    with pytest.raises(TranslationError) as info:
        translate(input="x", tools=[FUNCTION, tool], tool_choice={"type": tool["type"]})
    assert info.value.param == "tool_choice" and "built-in" in info.value.message


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "name": "exec_command"}, {"type": "function", "function": {"name": "exec_command"}}),
        ({"type": "custom", "name": "apply_patch"}, {"type": "function", "function": {"name": "apply_patch"}}),
        ({"type": "function", "name": "spawn"}, {"type": "function", "function": {"name": "agents__spawn"}}),
    ],
)
def test_tool_choice_forms(choice: Any, expected: Any) -> None:
    chat = translate(input="x", tools=[FUNCTION, CUSTOM, NAMESPACE], tool_choice=choice, parallel_tool_calls=False)
    assert chat["tool_choice"] == expected
    assert chat["parallel_tool_calls"] is False


def test_allowed_tools_cuts_the_tool_list() -> None:
    choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "exec_command"}]}
    chat = translate(input="x", tools=[FUNCTION, CUSTOM], tool_choice=choice)
    assert [t["function"]["name"] for t in chat["tools"]] == ["exec_command"]
    assert chat["tool_choice"] == "required"


def test_options_carry_over_and_the_rest_is_dropped() -> None:
    chat = translate(
        input="hi",
        max_output_tokens=300,
        temperature=0.2,
        top_p=0.9,
        user="u-1",
        metadata={"k": "v"},
        store=True,
        include=["reasoning.encrypted_content"],
        prompt_cache_key="pk",
        service_tier="flex",
        truncation="auto",
        background=False,
        safety_identifier="s",
        top_logprobs=2,
        max_tool_calls=3,
        parallel_tool_calls=True,  # no tools: not sent (chat refuses it without tools)
        reasoning={"effort": "low", "summary": "detailed"},
        text={"format": {"type": "text"}, "verbosity": "low"},
        stream=False,
    )
    assert chat == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 300,
        "temperature": 0.2,
        "top_p": 0.9,
        "user": "u-1",
        "reasoning_effort": "low",
    }


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True},
            {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True}},
        ),
        (
            {"type": "json_schema", "schema": {"type": "object"}, "description": "d"},
            {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": {"type": "object"}, "description": "d"},
            },
        ),
    ],
)
def test_text_format_becomes_response_format(fmt: dict, expected: Any) -> None:
    assert translate(input="x", text={"format": fmt}).get("response_format") == expected


def test_previous_response_id_is_refused_with_the_exact_message() -> None:
    with pytest.raises(TranslationError) as info:
        translate(input="more", previous_response_id="resp_1")
    assert info.value.param == "previous_response_id"
    assert str(info.value) == (
        "previous_response_id is not supported: Switchboard is stateless for translated routes; "
        "send the whole conversation in input"
    )
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"input": 5}, "input"),
        ({"input": ["hi"]}, "input[0]"),
        ({"input": [{"content": "no role"}]}, "input[0].type"),
        ({"input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": 5}]}, "input[0].content"),
        ({"input": [{"role": "user", "content": ["x"]}]}, "input[0].content[0]"),
        (
            {"input": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, None]},
            "input[2]",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b"},
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]},
                ]
            },
            "input[2].content[0].type",
        ),
        ({"input": [{"role": "user", "content": [{"type": "input_text", "text": 3}]}]}, "input[0].content[0].text"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
            "input[0].content[0].image_url",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "u", "detail": "max"}]}]},
            "input[0].content[0].detail",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}]},
            "input[0].content[0].file_data",
        ),
        (
            {"input": [{"role": "system", "content": [{"type": "input_image", "image_url": "u"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}, "input[0].name"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]}, "input[0].arguments"),
        ({"input": [{"type": "custom_tool_call", "call_id": "c", "name": "f", "input": 1}]}, "input[0].input"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image"}]}]},
            "input[0].output[0].type",
        ),
        ({"input": [{"type": "local_shell_call", "call_id": "c"}]}, "input[0].type"),
        ({"instructions": ["x"]}, "instructions"),
        ({"tools": {"type": "function"}}, "tools"),
        ({"tools": ["f"]}, "tools[0]"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"tools": [{"type": "function", "name": "f", "parameters": "{}"}]}, "tools[0].parameters"),
        ({"tools": [{"type": "custom", "name": "c", "format": {"type": "regex"}}]}, "tools[0].format.type"),
        ({"tools": [FUNCTION, FUNCTION]}, "tools[1].name"),
        ({"tools": [FUNCTION], "tool_choice": "always"}, "tool_choice"),
        ({"tools": [FUNCTION], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice.name"),
        ({"tools": [FUNCTION], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": True}, "top_p"),
        ({"max_output_tokens": 1.5}, "max_output_tokens"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"user": 7}, "user"),
        ({"text": "json"}, "text"),
        ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
        ({"reasoning": {"effort": 3}}, "reasoning.effort"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_untranslatable_requests_name_the_field(extra: dict, param: str) -> None:
    with pytest.raises(TranslationError) as info:
        responses_request_to_chat({"model": "m", "input": "x", **extra})
    assert info.value.param == param
    assert info.value.message


# ------------------------------------------------------------------------------------------------
# Response
# ------------------------------------------------------------------------------------------------

USAGE = {
    "prompt_tokens": 50,
    "completion_tokens": 20,
    "total_tokens": 70,
    "prompt_tokens_details": {"cached_tokens": 10},
    "completion_tokens_details": {"reasoning_tokens": 7},
}
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
                    {"id": "call_11", "type": "function", "function": {"name": "agents__spawn", "arguments": "{}"}},
                ],
            },
        }
    ],
    "usage": USAGE,
}
REQUEST = {"model": "codex-route", "input": "x", "tools": [FUNCTION, CUSTOM, NAMESPACE, {"type": "web_search"}]}


def completion_with(message: dict[str, Any], finish: str = "stop", usage: Any = USAGE) -> dict[str, Any]:
    out = copy.deepcopy(COMPLETION)
    out["choices"][0].update(message=message, finish_reason=finish)
    out["usage"] = usage
    return out


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


# ------------------------------------------------------------------------------------------------
# Stream
# ------------------------------------------------------------------------------------------------


def chunks_of(completion: dict[str, Any], pieces: int = 2) -> list[dict[str, Any]]:
    """A chat stream (as OpenAI-compatible servers send it) of the same answer as ``completion``."""
    message = completion["choices"][0]["message"]

    def split(text: str) -> list[str]:
        step = max(1, -(-len(text) // pieces))
        return [text[i : i + step] for i in range(0, len(text), step)]

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": p}) for p in split(message.get("reasoning_content") or "")]
    out += [chunk({"content": p}) for p in split(message.get("content") or "")]
    for i, call in enumerate(message.get("tool_calls") or []):
        head = {"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        out.append(chunk({"tool_calls": [{**head, "function": {**head["function"], "arguments": ""}}]}))
        out += [
            chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
            for p in split(call["function"]["arguments"])
        ]
    out.append(chunk({}, completion["choices"][0]["finish_reason"]))
    out.append({**chunk({}), "choices": [], "usage": completion["usage"]})
    return out


def test_text_stream_has_openais_exact_event_sequence() -> None:
    completion = completion_with({"content": "Hello there"})
    stream, events = run_stream(chunks_of(completion))
    assert kinds(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = events[0]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    added = events[2]
    assert added["output_index"] == 0 and added["item"]["status"] == "in_progress" and added["item"]["content"] == []
    assert events[3]["part"] == {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    delta = events[4]
    assert {k: delta[k] for k in ("item_id", "output_index", "content_index", "logprobs")} == {
        "item_id": added["item"]["id"],
        "output_index": 0,
        "content_index": 0,
        "logprobs": [],
    }
    assert events[6]["text"] == "Hello there" and events[8]["item"]["status"] == "completed"
    final = events[-1]["response"]
    assert final["status"] == "completed" and final["usage"]["input_tokens"] == 50
    assert stream.usage == USAGE
    assert stream.response() == final


def test_stream_reassembles_to_the_non_stream_answer() -> None:
    """Reasoning, text, a function call, a custom tool call and a namespaced call: through the
    SDK's accumulator, the stream gives exactly the non-stream translation's output and usage."""
    stream, events = run_stream(chunks_of(COMPLETION, pieces=3))
    whole = chat_completion_to_response(COMPLETION, REQUEST, "resp_abc", 1)
    assert events[-1]["response"]["output"] == whole["output"]
    assert events[-1]["response"]["usage"] == whole["usage"]
    final = sdk_accumulate(events)
    assert final.output_text == "Running it."
    assert [i.model_dump(exclude_none=True) for i in final.output] == [
        i.model_dump(exclude_none=True) for i in sdk_response(whole).output
    ]
    assert kinds(events).count("response.output_item.added") == kinds(events).count("response.output_item.done") == 5
    indexes = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    assert indexes == [0, 1, 2, 3, 4]
    by_type = {t: [e for e in events if e["type"] == t] for t in set(kinds(events))}
    assert "".join(e["delta"] for e in by_type["response.reasoning_summary_text.delta"]) == "The user wants files."
    assert by_type["response.reasoning_summary_part.added"][0]["part"] == {"type": "summary_text", "text": ""}
    args = [e for e in by_type["response.function_call_arguments.delta"] if e["output_index"] == 2]
    assert "".join(e["delta"] for e in args) == '{"cmd":"ls"}' and len(args) == 3  # streamed live
    assert by_type["response.function_call_arguments.done"][0]["arguments"] == '{"cmd":"ls"}'
    assert by_type["response.custom_tool_call_input.done"][0]["input"] == "*** Begin Patch\n"
    added = {e["output_index"]: e["item"] for e in by_type["response.output_item.added"]}
    assert added[2]["arguments"] == "" and added[2]["status"] == "in_progress" and added[3]["input"] == ""
    assert added[4]["namespace"] == "agents" and added[4]["name"] == "spawn"


def test_sequential_tool_calls_come_one_after_the_other() -> None:
    completion = completion_with(
        {"content": None, "tool_calls": COMPLETION["choices"][0]["message"]["tool_calls"][:1] * 1}, "tool_calls"
    )
    completion["choices"][0]["message"]["tool_calls"].append(
        {"id": "call_b", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"pwd"}'}}
    )
    _, events = run_stream(chunks_of(completion))
    assert kinds(events)[2:] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    final = sdk_accumulate(events)
    assert [(i.call_id, i.arguments) for i in final.output] == [("call_9", '{"cmd":"ls"}'), ("call_b", '{"cmd":"pwd"}')]


def test_interleaved_parallel_tool_calls_are_sent_in_order() -> None:
    def call(index: int, **fields: Any) -> dict[str, Any]:
        return chunk({"tool_calls": [{"index": index, **fields}]})

    chunks = [
        chunk({"role": "assistant", "content": "Both:"}),
        call(0, id="call_a", type="function", function={"name": "exec_command", "arguments": ""}),
        call(1, id="call_b", type="function", function={"name": "exec_command", "arguments": '{"cmd"'}),
        call(0, function={"arguments": '{"cmd"'}),
        call(1, function={"arguments": ':"pwd"}'}),
        call(0, function={"arguments": ':"ls"}'}),
        chunk({}, "tool_calls"),
    ]
    stream, events = run_stream(chunks)
    final = sdk_accumulate(events)
    assert [(i.type, getattr(i, "call_id", None)) for i in final.output] == [
        ("message", None),
        ("function_call", "call_a"),
        ("function_call", "call_b"),
    ]
    assert final.output[1].arguments == '{"cmd":"ls"}' and final.output[2].arguments == '{"cmd":"pwd"}'
    # items never overlap: each added is followed by its own done before the next added
    opened = None
    for e in events:
        if e["type"] == "response.output_item.added":
            assert opened is None
            opened = e["output_index"]
        elif e["type"] == "response.output_item.done":
            assert opened == e["output_index"]
            opened = None
        elif "output_index" in e:
            assert e["output_index"] == opened
    assert stream.usage is None and events[-1]["response"]["usage"] is None


def test_servers_that_number_every_call_zero_or_send_whole_calls() -> None:
    chunks = [
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "exec_command", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "c2", "function": {"name": "exec_command", "arguments": "{}"}}]}),
        chunk(
            {
                "tool_calls": [
                    {"index": 2, "id": "c3", "function": {"name": "exec_command", "arguments": '{"a":1}'}},
                    {"index": 3, "id": "c4", "function": {"name": "apply_patch", "arguments": '{"input":"p"}'}},
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    _, events = run_stream(chunks)
    final = sdk_accumulate(events)
    assert [i.call_id for i in final.output] == ["c1", "c2", "c3", "c4"]
    assert final.output[2].arguments == '{"a":1}' and final.output[3].input == "p"


def test_a_tool_call_whose_id_and_name_come_late() -> None:
    chunks = [
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "late", "function": {"name": "exec_command"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
    ]
    _, events = run_stream(chunks)
    item = sdk_accumulate(events).output[0]
    assert (item.call_id, item.name, item.arguments) == ("late", "exec_command", "{}")


def test_reasoning_then_text_are_two_items_with_summary_events() -> None:
    _, events = run_stream(
        [chunk({"reasoning": "Think"}), chunk({"reasoning": "ing."}), chunk({"content": "Done."}), chunk({}, "stop")]
    )
    assert kinds(events)[2:9] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert events[2]["item"] == {"id": events[2]["item"]["id"], "type": "reasoning", "summary": []}
    done = events[8]["item"]
    assert done["summary"] == [{"type": "summary_text", "text": "Thinking."}]
    final = sdk_accumulate(events)
    assert [i.type for i in final.output] == ["reasoning", "message"] and final.output_text == "Done."


def test_refusal_deltas() -> None:
    _, events = run_stream([chunk({"refusal": "I can't"}), chunk({"refusal": " help."}), chunk({}, "stop")])
    assert "response.refusal.delta" in kinds(events)
    done = next(e for e in events if e["type"] == "response.refusal.done")
    assert done["refusal"] == "I can't help."
    assert events[-1]["response"]["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help."}]


def test_length_ends_with_response_incomplete() -> None:
    _, events = run_stream([chunk({"content": "Once upon"}), chunk({}, "length")])
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["status"] == "incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert sdk_accumulate(events).output_text == "Once upon"


def test_usage_only_chunks_are_accounted_not_emitted() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    stream.start()
    assert stream.feed({"choices": [], "usage": USAGE}) == []
    assert stream.usage == USAGE
    assert stream.feed({"choices": [{"index": 1, "delta": {"content": "other choice"}}]}) == []


def test_an_empty_stream_still_has_a_message() -> None:
    _, events = run_stream([chunk({"role": "assistant"}), chunk({}, "stop")])
    assert (
        events[-1]["response"]["output"]
        == chat_completion_to_response(completion_with({"content": None}), REQUEST, "resp_abc", 1)["output"]
    )


def test_a_failed_stream_ends_with_response_failed() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    raw = stream.start() + stream.feed(chunk({"content": "Hel"}))
    raw += stream.feed(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "exec_command"}}]}))
    raw += stream.fail("the upstream reset the connection", "stream_interrupted")
    events = parse_events(raw)
    last = events[-1]
    assert last["type"] == "response.failed" and last["response"]["status"] == "failed"
    assert last["response"]["error"]["code"] == "server_error"
    assert "stream_interrupted" in last["response"]["error"]["message"]
    assert [i["type"] for i in last["response"]["output"]] == ["message", "function_call"]
    assert "response.completed" not in kinds(events)
    known = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    failed = parse_events(known.start() + known.fail("slow down", "rate_limit_exceeded"))[-1]
    assert failed["response"]["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}


def test_going_back_to_a_finished_tool_call_is_a_translation_error() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    stream.start()
    stream.feed(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "exec_command"}}]}))
    stream.feed(chunk({"content": "text in between"}))
    with pytest.raises(TranslationError):
        stream.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}))


# ------------------------------------------------------------------------------------------------
# The fake OpenAI upstream's /v1/responses, driven by the SDK directly
# ------------------------------------------------------------------------------------------------

FAKE_KEY = "sk-fake-responses-0123456789abcdef"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


@pytest.fixture
async def fake_sdk():
    async with FakeOpenAIUpstream(api_key=FAKE_KEY) as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key=FAKE_KEY, max_retries=0)
        yield fake, client
        await client.close()


def no_unknown_fields_but_store(response: Response) -> None:
    """What the real API sends beyond the SDK's model: ``store``."""
    no_unknown_fields(response, allowed={"store"})


async def test_fake_responses_create_and_stream_with_the_sdk(fake_sdk) -> None:
    fake, client = fake_sdk
    response = await client.responses.create(model="gpt-4o-mini", input="ping", instructions="Be brief.")
    assert response.output_text == "Hello from fake OpenAI Responses! You said: ping"
    assert response.status == "completed" and response.usage.total_tokens > 0
    assert response.instructions == "Be brief."
    sent = fake.requests[-1]
    assert sent.path == "/v1/responses" and sent.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert sent.json["input"] == "ping"

    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="ping", stream=True)]
    for event in events:
        if event.type in ("response.created", "response.in_progress", "response.completed"):
            no_unknown_fields_but_store(event.response)
        else:
            no_unknown_fields(event)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == response.output_text and events[-1].type == "response.completed"

    async with client.responses.stream(model="gpt-4o-mini", input="ping") as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert final.output_text == response.output_text
    no_unknown_fields_but_store(final)


async def test_fake_answers_a_function_call_and_a_custom_tool_call(fake_sdk) -> None:
    fake, client = fake_sdk
    call = await client.responses.create(model="gpt-4o-mini", input="use tool: Paris", tools=[WEATHER])
    item = call.output[0]
    assert item.type == "function_call" and item.name == "get_weather"
    assert json.loads(item.arguments) == {"city": "use tool: Paris"}
    forced = await client.responses.create(model="gpt-4o-mini", input="Paris", tools=[WEATHER], tool_choice="required")
    assert forced.output[0].type == "function_call"
    plain = await client.responses.create(model="gpt-4o-mini", input="Paris", tools=[WEATHER])
    assert plain.output[0].type == "message"

    async with client.responses.stream(
        model="gpt-4o-mini", input="Paris", tools=[WEATHER], tool_choice="required"
    ) as stream:
        deltas = [e.delta async for e in stream if e.type == "response.function_call_arguments.delta"]
        final = await stream.get_final_response()
    assert "".join(deltas) == final.output[0].arguments and json.loads(final.output[0].arguments)

    custom = {"type": "custom", "name": "apply_patch", "description": "Patch files"}
    events = [
        e
        async for e in await client.responses.create(
            model="gpt-4o-mini", input="add a file", tools=[custom], tool_choice="required", stream=True
        )
    ]
    done = [e for e in events if e.type == "response.output_item.done"][0].item
    assert done.type == "custom_tool_call" and done.input == "add a file"
    assert "".join(e.delta for e in events if e.type == "response.custom_tool_call_input.delta") == "add a file"


async def test_fake_scripted_behaviours_apply_to_responses(fake_sdk) -> None:
    fake, client = fake_sdk
    fake.script(OpenAIError(429, "Rate limit reached", type="requests", code="rate_limit_exceeded"))
    with pytest.raises(openai.RateLimitError):
        await client.responses.create(model="gpt-4o-mini", input="x")
    fake.script(Reply(content="Scripted answer"))
    assert (await client.responses.create(model="gpt-4o-mini", input="x")).output_text == "Scripted answer"
    with pytest.raises(openai.AuthenticationError):
        await openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-wrong-key-000000", max_retries=0).responses.create(
            model="gpt-4o-mini", input="x"
        )
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model="no-such-model", input="x")

    fake.script(Stream(chunks=["Hel", "lo"]))
    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="x", stream=True)]
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["Hel", "lo"]

    fake.script(Stream(chunks=["Hel"], then="eof"))
    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="x", stream=True)]
    assert events[-1].type == "response.output_text.delta"

    fake.script(Stream(chunks=["Hel"], then="error_event"))
    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="x", stream=True)]
    assert events[-1].type == "error" and events[-1].message == "Upstream provider error mid-stream"

    fake.script(Stream(chunks=["Hel"], then="reset"))
    with pytest.raises(openai.APIError):
        async for _ in await client.responses.create(model="gpt-4o-mini", input="x", stream=True):
            pass

    limited = await client.responses.create(model="gpt-4o-mini", input="x", max_output_tokens=3)
    assert limited.status == "incomplete" and limited.incomplete_details.reason == "max_output_tokens"
    assert len(limited.output_text.split()) == 3


async def test_fake_and_translation_send_the_same_event_sequence(fake_sdk) -> None:
    """The fake mimics OpenAI; the translation of the equivalent chat stream has the same shape."""
    _, client = fake_sdk
    for tools, choice in (([], None), ([WEATHER], "required")):
        extra: dict[str, Any] = {"tools": tools, "tool_choice": choice} if tools else {}
        native = [
            e.type async for e in await client.responses.create(model="gpt-4o-mini", input="hi", stream=True, **extra)
        ]
        whole = await client.responses.create(model="gpt-4o-mini", input="hi", **extra)
        item = whole.output[0]
        if item.type == "message":
            message = {"content": whole.output_text}
        else:
            message = {
                "content": None,
                "tool_calls": [
                    {
                        "id": item.call_id,
                        "type": "function",
                        "function": {"name": item.name, "arguments": item.arguments},
                    }
                ],
            }
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        _, events = run_stream(chunks_of(completion_with(message, usage=usage)), {"model": "m", "input": "hi", **extra})
        assert collapse_deltas(kinds(events)) == collapse_deltas(native)


def collapse_deltas(names: list[str]) -> list[str]:
    """Event types with each run of deltas as one (how many deltas depends on the chunking)."""
    return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1] or not n.endswith(".delta")]
