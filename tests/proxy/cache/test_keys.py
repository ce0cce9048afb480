"""Cache keys are stable across key order and unaffected by stream, stream_options and user."""

from __future__ import annotations

from proxy.cache.keys import cache_key

BODY = {"model": "fast", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2, "tools": []}


def test_stable_and_normalized():
    reordered = {"tools": [], "temperature": 0.2, "messages": [{"content": "hi", "role": "user"}], "model": "fast"}
    assert cache_key("fast", BODY) == cache_key("fast", reordered)
    assert cache_key("fast", BODY) == cache_key(
        "fast", {**BODY, "stream": True, "stream_options": {"include_usage": True}, "user": "u1", "model": "other"}
    )


def test_what_changes_the_key():
    base = cache_key("fast", BODY)
    assert cache_key("slow", BODY) != base, "routes do not share entries"
    assert cache_key("fast", {**BODY, "temperature": 0.3}) != base
    assert cache_key("fast", {**BODY, "messages": [{"role": "user", "content": "hi!"}]}) != base
    assert cache_key("fast", {**BODY, "tools": [{"type": "function", "function": {"name": "f"}}]}) != base
