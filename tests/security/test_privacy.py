"""Privacy of prompts and answers (RELIABILITY D-03) and long secrets in the keychain (K-02e).

D-03a: with default settings, requests on every surface (Chat Completions, Messages, Responses,
streamed and not) carry a unique canary in the system prompt, the user message, a tool call's
arguments and an image data URL, and the demo provider echoes them back. The raw bytes of every
file the gateway wrote (the log database, its WAL and shared memory, the cache, config versions)
contain none of them, while the metadata rows are all there.
D-03b: with ``logging.store_bodies`` on, bodies are stored, but a key-shaped canary inside a
prompt is stored redacted, in both the request and the answer.
K-02e: a 4 KB secret (a service-account JSON) round-trips through the real Secret Service.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import aiohttp

from proxy.storage.keychain import KeychainStore
from tests.helpers import DEMO_CONFIG, gateway_context
from tests.security import figures


def canary() -> str:
    return f"PROMPTCANARY{secrets.token_hex(6)}"


def bodies(marks: dict[str, str], stream: bool) -> list[tuple[str, dict]]:
    url = "data:image/png;base64," + base64.b64encode(marks["image"].encode()).decode()
    image = {"type": "image_url", "image_url": {"url": url}}
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": json.dumps({"q": marks["tool"]})}}
    chat_messages = [
        {"role": "system", "content": f"system {marks['system']}"},
        {"role": "user", "content": [{"type": "text", "text": f"user {marks['user']}"}, image]},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": f"tool said {marks['tool']}"},
        {"role": "user", "content": f"again {marks['user']}"},
    ]
    use = {"type": "tool_use", "id": "t1", "name": "f", "input": {"q": marks["tool"]}}
    result = [{"type": "tool_result", "tool_use_id": "t1", "content": "done"}, {"type": "text", "text": marks["user"]}]
    messages = {
        "model": "demo",
        "max_tokens": 50,
        "system": f"system {marks['system']}",
        "stream": stream,
        "messages": [
            {"role": "user", "content": f"user {marks['user']}"},
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": result},
        ],
    }
    responses = {"model": "demo", "instructions": marks["system"], "input": f"user {marks['user']}", "stream": stream}
    return [
        ("/v1/chat/completions", {"model": "demo", "messages": chat_messages, "stream": stream}),
        ("/v1/messages", messages),
        ("/v1/responses", responses),
    ]


async def send_all(ctx, marks_list: list[dict[str, str]]) -> int:  # type: ignore[no-untyped-def]
    sent = 0
    async with aiohttp.ClientSession() as http:
        for n, marks in enumerate(marks_list):
            for path, body in bodies(marks, stream=n % 2 == 1):
                async with http.post(ctx.base_url + path, json=body, headers=ctx.headers()) as resp:
                    raw = await resp.read()
                    assert resp.status == 200, (path, raw[:300])
                    sent += 1
    return sent


async def test_prompts_and_answers_are_not_stored_by_default(tmp_path: Path) -> None:
    marks_list = [{k: canary() for k in ("system", "user", "tool", "image")} for _ in range(6)]
    every = [m for marks in marks_list for m in marks.values()]
    async with gateway_context(tmp_path, DEMO_CONFIG) as ctx:
        sent = await send_all(ctx, marks_list)
        rows = ctx.rows()
        files = [p for p in tmp_path.rglob("*") if p.is_file()]  # WAL and -shm included: still open
        raw = b"".join(p.read_bytes() for p in files)
    hits = [m for m in every if m.encode() in raw or base64.b64encode(m.encode()) in raw]
    figures.add("canary_scans", len(files), source=__name__)
    figures.add("canary_bytes", len(raw))
    figures.add("canary_leaks", len(hits))
    assert any(p.name.endswith("-wal") for p in files), [p.name for p in files]
    assert hits == [], "prompt text stored without store_bodies"
    assert len(rows) == sent and all(r.status == "ok" and r.tokens_in for r in rows), "metadata rows are there"
    assert all(r.request_body is None and r.response_body is None for r in rows)


async def test_with_bodies_on_key_shaped_text_in_prompts_is_redacted(tmp_path: Path) -> None:
    key_canary = "sk-proj-" + secrets.token_hex(16)
    marks = {"system": key_canary, "user": f"{canary()} and {key_canary}", "tool": canary(), "image": canary()}
    config = {**DEMO_CONFIG, "logging": {"store_bodies": True}}
    async with gateway_context(tmp_path, config) as ctx:
        sent = await send_all(ctx, [marks, marks])
        rows = ctx.rows()
        raw = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    figures.add("canary_leaks", raw.count(key_canary.encode()), source=__name__)
    assert len(rows) == sent and all(r.request_body and r.response_body for r in rows), "bodies were stored"
    assert all(marks["user"].split(" and ")[0] in (r.request_body or "") for r in rows), "ordinary text is kept"
    assert all("[REDACTED]" in (r.request_body or "") for r in rows)
    assert key_canary.encode() not in raw, "a key-shaped string in a prompt is never stored"


def test_a_4kb_secret_round_trips_through_the_os_keychain(secret_service) -> None:  # type: ignore[no-untyped-def]
    """K-02e (measured here on the Linux Secret Service; Windows Credential Manager is not tested)."""
    account = {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n" + "A" * 4096}
    value = json.dumps(account)
    assert len(value) > 4096
    store = KeychainStore()
    store.set("provider.big", value)
    try:
        assert store.get("provider.big") == value
    finally:
        store.delete("provider.big")
