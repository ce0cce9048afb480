"""The surface table: the facts of each endpoint (log name, error shape, auth, pausing) come from its
row, for requests no route matched too; and a new API is one module (a dialect and a row)."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from proxy.domain.errors import ApiError
from proxy.providers.base import UpstreamCall
from proxy.routing.resolve import Attempt
from proxy.server.streaming import Retelling
from proxy.server.surfaces import table
from proxy.server.surfaces.base import Dialect, Surface
from tests.helpers import ACCESS_KEY, DEMO_CONFIG, gateway_context

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}


async def test_requests_no_route_matched_take_the_facts_of_their_path(tmp_path):
    async with gateway_context(tmp_path) as ctx, aiohttp.ClientSession(headers=ctx.headers()) as http:
        async with http.get(f"{ctx.base_url}/v1/messages") as resp:  # a known endpoint, a wrong method
            assert resp.status == 405
            assert (await resp.json())["type"] == "error", "Anthropic's shape on its endpoint"
        async with http.post(f"{ctx.base_url}/v1/messages/batches", json={}) as resp:  # below it
            assert resp.status == 404
            body = await resp.json()
            assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
        async with http.post(f"{ctx.base_url}/v1/chat/completions/x", json={}) as resp:
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
        async with http.get(f"{ctx.base_url}/health/x", headers={"Authorization": ""}) as resp:
            assert resp.status == 401, "only /health itself is open"
        rows = ctx.rows()
        assert [(r.surface, r.http_status) for r in rows] == [("messages", 405), ("other", 404), ("other", 404)] + [
            ("other", 401)
        ]


async def test_paused_refuses_model_api_posts_only(tmp_path):
    async with gateway_context(tmp_path) as ctx, aiohttp.ClientSession(headers=ctx.headers()) as http:
        ctx.gateway.paused = True
        for path in ("/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings", "/v1/anything"):
            async with http.post(f"{ctx.base_url}{path}", json=CHAT) as resp:
                assert resp.status == 503 and resp.headers["Retry-After"] == "30", path
        async with http.get(f"{ctx.base_url}/v1/models") as resp:
            assert resp.status == 200
        async with http.get(f"{ctx.base_url}/switchboard/status") as resp:
            assert resp.status == 200
        ctx.gateway.paused = False
        async with http.post(f"{ctx.base_url}/v1/chat/completions", json=CHAT) as resp:
            assert resp.status == 200


# -- a new API surface is one module: a toy "shout" API ----------------------------------------------


class Shout(Dialect):
    """``{"model", "say", "stream"}`` in; ``{"shout": "..."}`` out, or ``data: {"piece": "..."}``
    events then ``data: {"done": true}``; errors ``{"oops": "..."}``. No upstream speaks it."""

    format = "shout"
    __slots__ = ()

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        if not isinstance(body.get("say"), str):
            raise ApiError(400, "'say' must be a string.", param="say")
        return body.get("stream") is True

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        chat = {"model": attempt.model, "messages": [{"role": "user", "content": self.body["say"]}]}
        return UpstreamCall("chat/completions", chat, self.stream)

    def from_chat(self, completion: dict[str, Any]) -> Any:
        return {"shout": completion["choices"][0]["message"]["content"].upper()}

    def retell(self) -> Retelling:
        return _Pieces()

    def retold_failure(self, retelling: Retelling, message: str, code: str) -> list[bytes]:
        return [_event({"oops": message})]

    def failed_after_commit(self, err: ApiError) -> bytes:
        return _event({"oops": err.message})


class _Pieces:
    def start(self) -> list[bytes]:
        return []

    def feed(self, chunk: dict[str, Any]) -> list[bytes]:
        text = "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or [])
        return [_event({"piece": text.upper()})] if text else []

    def finish(self) -> list[bytes]:
        return [_event({"done": True})]


def _event(payload: object) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


SHOUT = Surface(
    "shout",
    (("POST", "/v1/shout"),),
    Shout,
    error_body=lambda err: orjson.dumps({"oops": err.message}),
    credentials=lambda request: request.headers.get("x-shout-key"),
    pausable=True,
    cors_headers=("x-shout-key",),
)


async def test_a_new_surface_is_a_dialect_and_a_row(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(table, "SURFACES", (*table.SURFACES, SHOUT))
    config = {**DEMO_CONFIG, "server": {"allowed_origins": ["http://localhost:3000"]}}
    async with gateway_context(tmp_path, config) as ctx, aiohttp.ClientSession() as http:
        url, key = f"{ctx.base_url}/v1/shout", {"x-shout-key": ACCESS_KEY}
        async with http.post(url, json={"model": "demo", "say": "hello there"}, headers=key) as resp:
            assert resp.status == 200 and resp.headers["x-switchboard-route"] == "demo"
            assert "HELLO THERE" in (await resp.json())["shout"]
        async with http.post(url, json={"model": "demo", "say": "one two", "stream": True}, headers=key) as resp:
            events = [orjson.loads(line[6:]) for line in (await resp.read()).split(b"\n\n") if line]
        assert '"ONE TWO"' in "".join(e.get("piece", "") for e in events) and events[-1] == {"done": True}
        async with http.post(url, json={"model": "demo", "say": 1}, headers=key) as resp:
            assert resp.status == 400 and await resp.json() == {"oops": "'say' must be a string."}
        async with http.post(url, json={"model": "demo", "say": "x"}, headers=ctx.headers()) as resp:
            assert resp.status == 401, "the key goes where this API puts it"
        preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}
        async with http.options(url, headers=preflight) as resp:
            assert "x-shout-key" in resp.headers["Access-Control-Allow-Headers"], "browsers may send it"
        rows = ctx.rows()
        assert [(r.surface, r.status, r.stream) for r in rows] == [
            ("shout", "ok", False),
            ("shout", "ok", True),
            ("shout", "rejected", False),
            ("shout", "rejected", False),
            ("shout", "ok", False),  # the preflight
        ]
        assert rows[0].tokens_in and rows[1].ttfb_ms is not None
