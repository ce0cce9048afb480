"""Prompt-cache breakpoints against Anthropic's documented rules (proxy/translate/anthropic_cache.py):
prefix order tools -> system -> messages, at most 4 breakpoints (the client's counted), none on a
prefix below the model's minimum, none on thinking or empty text blocks, 1h before 5m."""

from __future__ import annotations

from typing import Any

import anthropic.types as at
import pytest
from pydantic import TypeAdapter

from proxy.translate.anthropic_cache import MAX_BREAKPOINTS, minimum_tokens, place_breakpoints
from proxy.translate.anthropic_request import chat_to_messages_request

LONG = "word " * 2500  # ~3,100 tokens at 4 characters a token: above 1,024 and 2,048, below 4,096
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}


def marks(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every cache_control in prefix order, as (where, cache_control)."""
    out = [(f"tools[{i}]", t["cache_control"]) for i, t in enumerate(body.get("tools") or ()) if "cache_control" in t]
    out += [
        (f"system[{i}]", b["cache_control"]) for i, b in enumerate(body.get("system") or ()) if "cache_control" in b
    ]
    for i, message in enumerate(body["messages"]):
        for j, block in enumerate(message["content"]):
            if "cache_control" in block:
                out.append((f"messages[{i}].content[{j}]", block["cache_control"]))
    return out


def conversation(model: str = "claude-sonnet-4-5", **extra: Any) -> dict[str, Any]:
    return chat_to_messages_request(
        {
            "model": model,
            "tools": [TOOL],
            "messages": [
                {"role": "system", "content": LONG},
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "first answer"},
                {"role": "user", "content": "second question"},
            ],
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("model", "minimum"),
    [
        ("claude-opus-4-5", 4096),
        ("claude-opus-4-6", 4096),
        ("claude-haiku-4-5-20251001", 4096),
        ("claude-sonnet-4-6", 2048),
        ("claude-3-5-haiku-20241022", 2048),
        ("claude-sonnet-4-5", 1024),
        ("claude-opus-4-1", 1024),
        ("claude-3-7-sonnet-latest", 1024),
        ("some-compatible-model", 1024),
    ],
)
def test_minimum_cacheable_length_per_model(model: str, minimum: int) -> None:
    assert minimum_tokens(model) == minimum


def test_a_short_prompt_gets_no_breakpoint() -> None:
    body = chat_to_messages_request({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]})
    assert place_breakpoints(body) == 0 and marks(body) == []


def test_conversation_system_and_previous_turn_in_prefix_order() -> None:
    body = conversation()
    assert place_breakpoints(body) == 3
    ephemeral = {"type": "ephemeral"}
    # the tools alone are below the minimum: no slot is spent on them
    assert marks(body) == [
        ("system[0]", ephemeral),
        ("messages[0].content[0]", ephemeral),
        ("messages[2].content[0]", ephemeral),
    ]
    for _, mark in marks(body):  # each is a valid CacheControlEphemeral
        TypeAdapter(at.CacheControlEphemeralParam).validate_python(mark)


def test_below_the_models_minimum_nothing_is_marked() -> None:
    body = conversation("claude-haiku-4-5")  # ~3,100 tokens < 4,096
    assert place_breakpoints(body) == 0 and marks(body) == []


def test_the_tools_get_a_breakpoint_when_they_alone_are_long_enough() -> None:
    big_tool = {"type": "function", "function": {"name": "big", "description": LONG, "parameters": {"type": "object"}}}
    body = chat_to_messages_request(
        {"model": "claude-sonnet-4-5", "tools": [big_tool], "messages": [{"role": "user", "content": "hi"}]}
    )
    place_breakpoints(body)
    assert [where for where, _ in marks(body)] == ["tools[0]", "messages[0].content[0]"]


def test_the_clients_own_breakpoints_are_kept_and_counted() -> None:
    big_tool = {"type": "function", "function": {"name": "big", "description": LONG, "parameters": {"type": "object"}}}
    body = conversation(tools=[big_tool])
    for block in (body["system"][0], body["messages"][0]["content"][0], body["messages"][2]["content"][0]):
        block["cache_control"] = {"type": "ephemeral"}
    assert place_breakpoints(body) == 1  # one slot left: the tools
    assert len(marks(body)) == MAX_BREAKPOINTS
    assert [where for where, _ in marks(body)] == [
        "tools[0]",
        "system[0]",
        "messages[0].content[0]",
        "messages[2].content[0]",
    ]
    body = conversation(tools=[big_tool])
    body["cache_control"] = {"type": "ephemeral"}  # automatic caching takes a slot too
    for block in (body["system"][0], body["messages"][0]["content"][0], body["messages"][2]["content"][0]):
        block["cache_control"] = {"type": "ephemeral"}
    assert place_breakpoints(body) == 0


def test_marks_inside_tool_results_count() -> None:
    chat = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": LONG},
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "t1", "function": {"name": "lookup", "arguments": "{}"}}]},
            {
                "role": "tool",
                "tool_call_id": "t1",
                "content": [
                    {"type": "text", "text": f"r{i}", "cache_control": {"type": "ephemeral"}} for i in range(3)
                ],
            },
        ],
    }
    body = chat_to_messages_request(chat)
    assert place_breakpoints(body) == 1  # 3 nested marks + 1 = the limit


def test_a_mark_before_a_one_hour_mark_lasts_an_hour_too() -> None:
    body = conversation()
    body["messages"][2]["content"][0]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    place_breakpoints(body)
    found = dict(marks(body))
    assert found["system[0]"] == {"type": "ephemeral", "ttl": "1h"}
    assert found["messages[0].content[0]"] == {"type": "ephemeral", "ttl": "1h"}


def test_thinking_and_empty_text_blocks_are_never_marked() -> None:
    body = conversation()
    body["messages"].append(
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "partial"}, {"type": "thinking", "thinking": "x", "signature": "s"}],
        }
    )
    place_breakpoints(body)
    last = body["messages"][-1]["content"]
    assert "cache_control" in last[0] and "cache_control" not in last[1]


def test_string_system_and_content_become_blocks_to_carry_a_mark() -> None:
    body = {"model": "claude-sonnet-4-5", "system": LONG, "messages": [{"role": "user", "content": "hello"}]}
    assert place_breakpoints(body) == 2
    assert body["system"] == [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
    assert body["messages"][0]["content"] == [{"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}]
