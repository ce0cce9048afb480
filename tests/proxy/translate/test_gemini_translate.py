"""The Gemini translations, checked against Gemini's official OpenAPI spec
(``shared/specs/gemini-v1beta-openapi.json``): what we send Gemini and what we answer Gemini
clients has only fields the spec names, with the types it names."""

from __future__ import annotations

import base64
import functools
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from proxy.translate.common import TranslationError
from proxy.translate.gemini_answer import chat_to_gemini_response, gemini_to_chat_response
from proxy.translate.gemini_chat import chat_to_gemini_request, embeddings_to_gemini
from proxy.translate.gemini_common import (
    call_id,
    chat_usage_to_gemini,
    gemini_schema_to_json,
    gemini_usage_to_chat,
    google_error,
    retry_delay,
    split_call_id,
)
from proxy.translate.gemini_request import gemini_to_chat_request
from proxy.translate.gemini_stream import ChatToGeminiStream, GeminiToChatStream

SPEC = Path(__file__).with_name("gemini_spec_subset.json")
"""The schemas of ``shared/specs/gemini-v1beta-openapi.json`` these tests check against (its
``_source`` says which file, by sha256, and what was kept)."""
_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


@functools.cache
def schemas() -> dict[str, Any]:
    return json.loads(SPEC.read_text())["schemas"]


def conforms(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """Raise AssertionError where ``value`` has a field or a type the spec does not allow."""
    if "$ref" in schema:
        conforms(value, schemas()[schema["$ref"].rsplit("/", 1)[-1]], where)
        return
    kind = schema.get("type")
    if kind is None:
        return  # e.g. responseJsonSchema, parametersJsonSchema: any JSON
    assert isinstance(value, _TYPES[kind]) and not (kind in ("integer", "number") and isinstance(value, bool)), (
        f"{where}: {value!r} is not {kind}"
    )
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if kind == "array":
        for i, item in enumerate(value):
            conforms(item, schema.get("items", {}), f"{where}[{i}]")
    if kind == "object" and "properties" in schema:
        for key, item in value.items():
            assert key in schema["properties"], f"{where}: unknown field {key!r}"
            conforms(item, schema["properties"][key], f"{where}.{key}")
    if kind == "string" and schema.get("format") == "byte":
        base64.b64decode(value, validate=True)


def spec(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


CHAT_WITH_TOOLS = {
    "model": "gemini-2.5-flash",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": call_id("call_1", base64.b64encode(b"signature-bytes").decode()),
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "cat"}'},
                },
                {"id": "call_2", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "dog"}'}},
            ],
        },
        {
            "role": "tool",
            "tool_call_id": call_id("call_1", base64.b64encode(b"signature-bytes").decode()),
            "content": "a cat",
        },
        {"role": "tool", "tool_call_id": "call_2", "content": '{"animal": "dog"}'},
    ],
    "tools": [
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
        }
    ],
    "tool_choice": {"type": "function", "function": {"name": "lookup"}},
    "max_completion_tokens": 50,
    "stop": "END",
    "temperature": 0.2,
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    "reasoning_effort": "high",
}


def test_a_chat_request_becomes_a_spec_generate_content_request() -> None:
    out = chat_to_gemini_request(CHAT_WITH_TOOLS)
    conforms(out, spec("GenerateContentRequest"))
    assert out["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    user, model, results = out["contents"]
    assert user["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert user["parts"][2] == {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}}
    assert model["parts"][1] == {
        "functionCall": {"id": "call_1", "name": "lookup", "args": {"q": "cat"}},
        "thoughtSignature": base64.b64encode(b"signature-bytes").decode(),
    }
    assert "thoughtSignature" not in model["parts"][2]
    assert results == {
        "role": "user",
        "parts": [
            {"functionResponse": {"id": "call_1", "name": "lookup", "response": {"output": "a cat"}}},
            {"functionResponse": {"id": "call_2", "name": "lookup", "response": {"animal": "dog"}}},
        ],
    }
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}}
    assert out["generationConfig"] == {
        "temperature": 0.2,
        "maxOutputTokens": 50,
        "stopSequences": ["END"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
        "thinkingConfig": {"thinkingBudget": 24576, "includeThoughts": True},
    }


def test_parts_gemini_has_no_place_for_are_precise_errors() -> None:
    with pytest.raises(TranslationError) as caught:
        chat_to_gemini_request({"messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]})
    assert caught.value.param == "messages[0].content[0]"
    with pytest.raises(TranslationError):
        embeddings_to_gemini({"input": [[1, 2, 3]]}, "text-embedding-004")
    conforms(embeddings_to_gemini({"input": ["a", "b"], "dimensions": 8}, "m"), spec("BatchEmbedContentsRequest"))


def test_a_chat_completion_becomes_a_spec_generate_content_response() -> None:
    completion = {
        "id": "chatcmpl-1",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Looking.",
                    "reasoning_content": "hmm",
                    "tool_calls": [
                        {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 7,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }
    out = chat_to_gemini_response(completion, "fast", thoughts=True)
    conforms(out, spec("GenerateContentResponse"))
    assert out["candidates"][0]["content"]["parts"] == [
        {"text": "hmm", "thought": True},
        {"text": "Looking."},
        {"functionCall": {"name": "f", "args": {"a": 1}, "id": "call_9"}},
    ]
    assert out["candidates"][0]["finishReason"] == "STOP"
    assert out["usageMetadata"] == {
        "promptTokenCount": 10,
        "candidatesTokenCount": 5,
        "totalTokenCount": 17,
        "cachedContentTokenCount": 4,
        "thoughtsTokenCount": 2,
    }
    assert "thought" not in str(chat_to_gemini_response(completion, "fast")["candidates"][0]["content"]["parts"])
    length = {"choices": [{"message": {"content": "cut"}, "finish_reason": "length"}]}
    assert chat_to_gemini_response(length, "m")["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_a_gemini_response_becomes_a_chat_completion() -> None:
    signature = base64.b64encode(b"\x00\xffsig").decode()
    response = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "plan", "thought": True},
                        {"functionCall": {"name": "f", "args": {"x": [1]}}, "thoughtSignature": signature},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 9,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 5,
            "totalTokenCount": 17,
            "cachedContentTokenCount": 6,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "abc",
    }
    conforms(response, spec("GenerateContentResponse"))
    out = gemini_to_chat_response(response, "gemini-2.5-flash", created=1)
    message = out["choices"][0]["message"]
    assert out["choices"][0]["finish_reason"] == "tool_calls" and message["content"] is None
    assert message["reasoning_content"] == "plan"
    (call,) = message["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"x": [1]}
    assert split_call_id(call["id"])[1] == signature and all(c.isalnum() or c in "_-" for c in call["id"])
    assert out["usage"] == {
        "prompt_tokens": 9,
        "completion_tokens": 8,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 6},
        "completion_tokens_details": {"reasoning_tokens": 5},
    }
    blocked = gemini_to_chat_response({"promptFeedback": {"blockReason": "SAFETY"}}, "m")
    assert blocked["choices"][0]["finish_reason"] == "content_filter"


def test_a_gemini_request_becomes_a_chat_request() -> None:
    body = {
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}, {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {
                "role": "model",
                "parts": [{"text": "thinking", "thought": True}, {"functionCall": {"name": "f", "args": {"a": 1}}}],
            },
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": "done"}}}]},
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "f",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {"a": {"type": "INTEGER", "nullable": True}},
                            "propertyOrdering": ["a"],
                        },
                    }
                ]
            },
            {"googleSearch": {}},
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        "generationConfig": {
            "maxOutputTokens": 10,
            "stopSequences": ["x"],
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"b": {"type": "STRING"}}},
            "thinkingConfig": {"thinkingBudget": 2000, "includeThoughts": True},
        },
    }
    conforms(body, spec("GenerateContentRequest"))
    chat = gemini_to_chat_request(body, "fast", stream=True)
    system, user, assistant, tool = chat["messages"]
    assert system == {"role": "system", "content": "sys"}
    assert user["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert assistant["content"] is None and assistant["tool_calls"][0]["function"] == {
        "name": "f",
        "arguments": '{"a":1}',
    }
    assert tool == {"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"], "content": "done"}
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"type": ["integer", "null"]}}},
            },
        }
    ]
    assert chat["tool_choice"] == "required" and chat["stream"] is True
    assert chat["max_tokens"] == 10 and chat["stop"] == ["x"] and chat["reasoning_effort"] == "medium"
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": {"type": "object", "properties": {"b": {"type": "string"}}}},
    }
    with pytest.raises(TranslationError) as caught:
        gemini_to_chat_request({"contents": [{"parts": [{"executableCode": {"code": "1"}}]}]}, "m", stream=False)
    assert caught.value.param == "contents[0].parts[0]"


def test_streams_both_ways() -> None:
    retell = ChatToGeminiStream("fast", thoughts=True, response_id="r1")
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"reasoning_content": "hm"}}]},
        {"choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a"'}}]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 2}"}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    ]
    events = [e for c in chunks for e in retell.feed(c)] + retell.finish()
    payloads = [orjson.loads(e.removeprefix(b"data: ")) for e in events]
    assert all(e.endswith(b"\r\n\r\n") for e in events)
    for payload in payloads:
        conforms(payload, spec("GenerateContentResponse"))
    assert [p["candidates"][0]["content"]["parts"] for p in payloads] == [
        [{"text": "hm", "thought": True}],
        [{"text": "Hel"}],
        [{"functionCall": {"name": "f", "args": {"a": 2}, "id": "call_1"}}],
    ]
    assert (
        payloads[-1]["candidates"][0]["finishReason"] == "STOP"
        and payloads[-1]["usageMetadata"]["totalTokenCount"] == 7
    )
    (error,) = ChatToGeminiStream.fail("cut short", 502)
    assert orjson.loads(error.removeprefix(b"data: ")) == {
        "error": {"code": 502, "message": "cut short", "status": "UNAVAILABLE"}
    }

    tell = GeminiToChatStream("m", include_usage=True)
    out = tell.feed({"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "index": 0}]})
    out += tell.feed(
        {
            "candidates": [{"content": {"parts": [{"text": " there"}]}, "finishReason": "MAX_TOKENS", "index": 0}],
            "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4},
        }
    )
    assert tell.done
    out += tell.end()
    assert [c["choices"][0]["delta"] for c in out[:3]] == [
        {"role": "assistant", "content": ""},
        {"content": "Hi"},
        {"content": " there"},
    ]
    assert out[3]["choices"][0]["finish_reason"] == "length" and out[4]["usage"]["total_tokens"] == 4


def test_the_spec_check_can_fail() -> None:
    with pytest.raises(AssertionError, match="unknown field 'bogus'"):
        conforms({"candidates": [{"bogus": 1}]}, spec("GenerateContentResponse"))
    with pytest.raises(AssertionError, match="not in"):
        conforms({"candidates": [{"finishReason": "DONE"}]}, spec("GenerateContentResponse"))
    with pytest.raises(AssertionError, match="is not integer"):
        conforms({"usageMetadata": {"promptTokenCount": "3"}}, spec("GenerateContentResponse"))


def test_common_pieces() -> None:
    assert google_error(429, "slow down") == {
        "error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}
    }
    # google.rpc.Status, plus the `status` name Google's HTTP mapping of errors adds (the spec's Status lacks it)
    conforms({k: v for k, v in google_error(400, "x")["error"].items() if k != "status"}, spec("Status"))
    info = {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36.2s"}]}
    assert retry_delay(info) == "37" and retry_delay({"details": []}) is None
    assert split_call_id(call_id("call_x", None)) == ("call_x", None)
    signature = base64.b64encode(os.urandom(300)).decode()
    assert split_call_id(call_id("call_x", signature)) == ("call_x", signature)
    assert gemini_usage_to_chat(
        chat_usage_to_gemini({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
    ) == {
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert gemini_schema_to_json({"type": "ARRAY", "items": {"type": "STRING"}, "max_items": 3}) == {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": 3,
    }
