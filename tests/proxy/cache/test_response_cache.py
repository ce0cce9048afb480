"""The cache store and the two shapes of an answer (a stream assembled, a completion replayed)."""

from __future__ import annotations

import json

from proxy.cache.replay import StreamAssembler, completion_to_events
from proxy.cache.store import ResponseCache


def test_store_bound_evicts_least_recently_used(tmp_path):
    cache = ResponseCache(tmp_path / "c.db")
    for key in "abc":
        cache.put(key, "r", b"{}", 60, 2)
        cache.get("a")  # keep 'a' fresh
    assert cache.get("a") == b"{}" and cache.get("b") is None and cache.get("c") == b"{}"
    assert cache.count() == 2
    cache.close()


def test_assembler_and_replay_round_trip_with_tool_calls():
    completion = {
        "id": "chatcmpl-1",
        "created": 1,
        "model": "m",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"q": 1}'}}
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    assembler = StreamAssembler()
    for raw in completion_to_events(completion, include_usage=True)[:-1]:
        assembler.feed(json.loads(raw[6:]))
    rebuilt = assembler.result()
    assert assembler.complete
    assert rebuilt["choices"][0]["message"]["tool_calls"] == completion["choices"][0]["message"]["tool_calls"]
    assert rebuilt["usage"] == completion["usage"]
