"""Structured outputs on Anthropic targets (proxy/translate/anthropic_structured.py) and their answers."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.translate.anthropic_answer import messages_to_chat_response
from proxy.translate.anthropic_request import chat_to_messages_request, messages_to_chat_request
from proxy.translate.anthropic_stream import MessagesToChatStream
from proxy.translate.anthropic_structured import (
    ANSWER_TOOL,
    chat_response_format,
    is_openai_strict,
    structured_request,
    supports_native,
    unsupported_keyword,
)
from proxy.translate.common import TranslationError

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string", "examples": ["Ann"]},
        "kind": {"oneOf": [{"type": "string"}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "minItems": 1},
    },
    "required": ["name", "kind", "tags"],
    "$defs": {"Tag": {"type": "object", "properties": {"label": {"type": "string", "format": "email"}}}},
}


def translate(model: str, fmt: dict[str, Any] | None, **chat: Any) -> tuple[dict[str, Any], str | None]:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **chat}
    if fmt is not None:
        body["response_format"] = fmt
    out = chat_to_messages_request(body)
    return out, structured_request(body, out)


def schema_format(schema: dict[str, Any], strict: bool | None = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": "x", "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


@pytest.mark.parametrize(
    ("model", "native"),
    [
        ("claude-sonnet-4-5", True),
        ("claude-sonnet-4-5-20250929", True),
        ("claude-haiku-4-5", True),
        ("claude-opus-4-6", True),
        ("claude-opus-5", True),
        ("claude-opus-4-1-20250805", False),
        ("claude-sonnet-4-20250514", False),
        ("claude-3-5-sonnet-latest", False),
        ("kimi-k2", False),
    ],
)
def test_which_models_have_native_structured_outputs(model: str, native: bool) -> None:
    assert supports_native(model) is native


def test_a_schema_on_a_native_model_becomes_output_config_format() -> None:
    out, tool = translate("claude-sonnet-4-5", schema_format(SCHEMA))
    assert tool is None and "tools" not in out and "tool_choice" not in out
    schema = out["output_config"]["format"]["schema"]
    assert out["output_config"]["format"]["type"] == "json_schema"
    assert "$schema" not in schema and "examples" not in schema["properties"]["name"]  # annotations dropped
    assert schema["properties"]["kind"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}  # oneOf as anyOf
    assert schema["additionalProperties"] is False and schema["$defs"]["Tag"]["additionalProperties"] is False
    assert SCHEMA["$defs"]["Tag"].get("additionalProperties") is None  # the client's schema is not changed


@pytest.mark.parametrize(
    ("change", "where", "keyword"),
    [
        ({"properties": {"n": {"type": "integer", "minimum": 1}}}, "properties.n.minimum", "minimum"),
        ({"properties": {"s": {"type": "string", "maxLength": 5}}}, "properties.s.maxLength", "maxLength"),
        ({"properties": {"s": {"type": "string", "format": "ipv5"}}}, "properties.s.format", "format"),
        ({"properties": {"a": {"type": "array", "minItems": 2}}}, "properties.a.minItems", "minItems"),
        ({"additionalProperties": True}, "additionalProperties", "additionalProperties"),
        ({"properties": {"e": {"enum": [{"a": 1}]}}}, "properties.e.enum", "enum"),
        ({"properties": {"r": {"$ref": "https://example.com/s.json"}}}, "properties.r.$ref", "$ref"),
        (
            {
                "properties": {"n": {"$ref": "#/$defs/Node"}},
                "$defs": {"Node": {"properties": {"n": {"$ref": "#/$defs/Node"}}}},
            },
            "$defs.Node",
            "$ref",
        ),
    ],
)
def test_a_keyword_the_grammar_cannot_enforce_is_named(change: dict[str, Any], where: str, keyword: str) -> None:
    schema = {"type": "object", **change}
    assert unsupported_keyword(schema) == (f"response_format.json_schema.schema.{where}", keyword)
    with pytest.raises(TranslationError) as info:
        translate("claude-sonnet-4-5", schema_format(schema))
    assert info.value.param == f"response_format.json_schema.schema.{where}" and f"`{keyword}`" in info.value.message
    # not strict: guidance, carried whole by the forced tool
    out, tool = translate("claude-sonnet-4-5", schema_format(schema, strict=None))
    assert tool == ANSWER_TOOL and out["tools"][-1]["input_schema"] == schema


def test_older_models_and_json_mode_answer_through_a_forced_tool() -> None:
    out, tool = translate("claude-opus-4-1", schema_format(SCHEMA))
    assert tool == ANSWER_TOOL and "output_config" not in out
    assert out["tools"] == [
        {
            "name": ANSWER_TOOL,
            "description": "Give your final answer by calling this tool: its input is the answer, as a JSON object.",
            "input_schema": SCHEMA,
        }
    ]
    assert out["tool_choice"] == {"type": "tool", "name": ANSWER_TOOL, "disable_parallel_tool_use": True}
    out, tool = translate("claude-sonnet-4-5", {"type": "json_object"})
    assert tool == ANSWER_TOOL and out["tools"][0]["input_schema"] == {"type": "object"}


def test_any_object_stays_any_object() -> None:
    """Closing an object without properties for the grammar would allow only {}: the tool keeps it open."""
    schema = {"type": "object", "properties": {"data": {"type": "object"}}, "required": ["data"]}
    out, tool = translate("claude-sonnet-4-5", schema_format(schema, strict=None))
    assert tool == ANSWER_TOOL and out["tools"][-1]["input_schema"] == schema
    out, tool = translate("claude-sonnet-4-5", {"type": "json_schema", "json_schema": {"name": "x"}})
    assert tool == ANSWER_TOOL and out["tools"][-1]["input_schema"] == {"type": "object"}


def test_a_root_that_is_not_an_object_cannot_be_a_tools_input() -> None:
    with pytest.raises(TranslationError) as info:
        translate("claude-opus-4-1", schema_format({"type": "array", "items": {"type": "string"}}))
    assert info.value.param == "response_format.json_schema.schema.type"


def test_with_thinking_or_the_clients_tools_the_answer_tool_is_offered_not_forced() -> None:
    out, tool = translate("claude-opus-4-1", {"type": "json_object"}, reasoning_effort="low")
    assert out["tool_choice"] == {"type": "auto"} and f"`{tool}`" in out["system"][-1]["text"]
    client_tool = {"type": "function", "function": {"name": ANSWER_TOOL, "parameters": {"type": "object"}}}
    out, tool = translate("claude-opus-4-1", {"type": "json_object"}, tools=[client_tool], tool_choice="required")
    assert tool == f"{ANSWER_TOOL}_1"  # the client's own tool keeps its name
    assert out["tool_choice"] == {"type": "any"}
    out, tool = translate("claude-opus-4-1", {"type": "json_object"}, tools=[client_tool], tool_choice="none")
    # none of the client's: the answer still comes
    assert out["tool_choice"] == {"type": "tool", "name": tool, "disable_parallel_tool_use": True}


def test_malformed_formats_are_refused() -> None:
    with pytest.raises(TranslationError, match="response_format.type"):
        translate("claude-sonnet-4-5", {"type": "xml"})
    with pytest.raises(TranslationError) as info:
        translate("claude-sonnet-4-5", {"type": "json_schema", "json_schema": {"schema": "nope"}})
    assert info.value.param == "response_format.json_schema.schema"
    assert translate("claude-sonnet-4-5", {"type": "text"})[1] is None


# ------------------------------------------------------------------------------------------------
# The answer: the forced tool's input is the content
# ------------------------------------------------------------------------------------------------


def test_the_answer_tools_input_is_the_content_and_the_finish_is_stop() -> None:
    message = {
        "id": "msg_1",
        "model": "claude-opus-4-1",
        "content": [
            {"type": "text", "text": "Here it is."},
            {"type": "tool_use", "id": "t1", "name": ANSWER_TOOL, "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    choice = messages_to_chat_response(message, answer_tool=ANSWER_TOOL)["choices"][0]
    assert choice["message"]["content"] == '{"a":1}' and "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"
    plain = messages_to_chat_response(message)["choices"][0]  # without the name it is an ordinary call
    assert (
        plain["finish_reason"] == "tool_calls" and plain["message"]["tool_calls"][0]["function"]["name"] == ANSWER_TOOL
    )


def _stream_events(pieces: list[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 5}}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t1", "name": ANSWER_TOOL, "input": {}},
        },
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}}
        for p in pieces
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}},
        {"type": "message_stop"},
    ]
    return events


@pytest.mark.parametrize(("pieces", "content"), [(["", '{"a"', ": 1}"], '{"a": 1}'), ([""], "{}")])
def test_the_answer_tool_streams_as_content_deltas(pieces: list[str], content: str) -> None:
    translator = MessagesToChatStream(include_usage=False, answer_tool=ANSWER_TOOL)
    chunks = [c for event in _stream_events(pieces) for c in translator.feed(event)]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == content
    assert not any("tool_calls" in d for d in deltas)
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]] == ["stop"]


# ------------------------------------------------------------------------------------------------
# Messages -> chat: output_format as response_format
# ------------------------------------------------------------------------------------------------

CLOSED = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}


def test_output_config_format_and_the_beta_output_format_become_response_format() -> None:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    chat, _ = messages_to_chat_request({**body, "output_config": {"format": {"type": "json_schema", "schema": CLOSED}}})
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": CLOSED, "strict": True},
    }
    open_schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    chat, _ = messages_to_chat_request({**body, "output_format": {"type": "json_schema", "schema": open_schema}})
    assert "strict" not in chat["response_format"]["json_schema"]  # OpenAI's strict mode would refuse it
    assert "response_format" not in messages_to_chat_request(body)[0]
    with pytest.raises(TranslationError) as info:
        chat_response_format({**body, "output_config": {"format": {"type": "regex"}}})
    assert info.value.param == "output_config.format.type"


def test_openai_strict_rules() -> None:
    assert is_openai_strict(CLOSED)
    assert not is_openai_strict({**CLOSED, "required": []})
    nested = {**CLOSED, "properties": {"a": {"type": "object", "properties": {}}}}
    assert not is_openai_strict(nested)


def _text_then(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stream: a text block ("I'll answer."), then ``blocks`` (each a content_block_start payload
    with its input_json pieces), then the end."""
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 5}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "I'll answer."}},
        {"type": "content_block_stop", "index": 0},
    ]
    for i, block in enumerate(blocks, start=1):
        pieces = block.pop("pieces")
        events.append({"type": "content_block_start", "index": i, "content_block": block})
        events += [
            {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": p}}
            for p in pieces
        ]
        events.append({"type": "content_block_stop", "index": i})
    stop = "tool_use" if blocks else "end_turn"
    events += [{"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {}}, {"type": "message_stop"}]
    return events


def _told(events: list[dict[str, Any]]) -> tuple[str, list[str], list[str]]:
    translator = MessagesToChatStream(include_usage=False, answer_tool=ANSWER_TOOL, hold_text=True)
    deltas = [c["choices"][0] for e in events for c in translator.feed(e)]
    content = "".join(d["delta"].get("content") or "" for d in deltas)
    calls = [t["function"]["name"] for d in deltas for t in d["delta"].get("tool_calls") or () if t.get("id")]
    return content, calls, [d["finish_reason"] for d in deltas if d["finish_reason"]]


def test_an_offered_answer_tool_drops_what_was_said_before_it() -> None:
    answer = {"type": "tool_use", "id": "t1", "name": ANSWER_TOOL, "input": {}, "pieces": ['{"a": 1}']}
    assert _told(_text_then([answer])) == ('{"a": 1}', [], ["stop"])
    lookup = {"type": "tool_use", "id": "t2", "name": "lookup", "input": {}, "pieces": ["{}"]}
    assert _told(_text_then([lookup])) == ("I'll answer.", ["lookup"], ["tool_calls"])  # held, then sent first
    assert _told(_text_then([])) == ("I'll answer.", [], ["stop"])  # no tool at all: the text is the answer
