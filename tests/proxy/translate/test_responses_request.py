"""Responses API requests -> Chat Completions requests, checked rule by rule
(proxy/translate/responses_request.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from proxy.translate.common import TranslationError
from proxy.translate.responses_request import dropped_tools, responses_request_to_chat
from tests.proxy.translate.responses_samples import CUSTOM, FUNCTION, NAMESPACE


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
