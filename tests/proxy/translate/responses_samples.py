"""What the Responses translation tests share: the tools and the chat completion they translate, and
the check that a ``response`` is one the openai SDK accepts with no field it does not know."""

from __future__ import annotations

import copy
from typing import Any

import pydantic
from openai.types.responses import Response

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
