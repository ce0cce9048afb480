"""``POST /switchboard/compare``: one chat request fanned out to several models at once.

Body: a chat completion request whose ``model`` is replaced by ``models`` (2 to 8 names, each
routed like any request). The answers come back side by side, in the order asked, each with its
own status, latency, time to first byte, tokens, cost and text (or error). Every model's request
is its own row in the request log (surface ``compare``; the HTTP request itself is
logged as ``compare-batch``). The desktop Playground uses this.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from proxy.domain.errors import ApiError
from proxy.domain.exchange import Exchange
from proxy.domain.pricing import cost_usd
from proxy.domain.records import Usage
from proxy.server.keys import EXCHANGE, GATEWAY, snapshot_of
from proxy.server.surfaces.chat import ChatCompletions, check_chat
from proxy.server.validation import read_json

MAX_MODELS = 8


async def compare(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    snap = snapshot_of(request)
    outer: Exchange = request[EXCHANGE]
    body = await read_json(request, snap.config.server.max_body_bytes)
    models = body.pop("models", None)
    if (
        not isinstance(models, list)
        or not 2 <= len(models) <= MAX_MODELS
        or not all(isinstance(m, str) and m for m in models)
    ):
        raise ApiError(
            400, f"'models' must be a list of 2 to {MAX_MODELS} model names.", param="models", code="invalid_value"
        )
    body["model"] = models[0]
    check_chat(body)
    if body.get("stream"):
        raise ApiError(
            400, "compare answers side by side; 'stream' is not supported here.", param="stream", code="invalid_value"
        )
    outer.requested_model = ",".join(models)

    async def one(model: str) -> dict[str, Any]:
        ex = Exchange("compare", request.headers.get("User-Agent"))
        ex.client, ex.requested_model = outer.client, model
        gateway.request_began(ex)
        try:
            call = ChatCompletions(ex, {**body, "model": model}, request, cached=False)
            reply = await gateway.serve(ex, snap, call)
            ex.usage = Usage.from_openai(reply.json.get("usage"))
            ex.mark_first_byte()
            choice = (reply.json.get("choices") or [{}])[0]
            message = choice.get("message") or {}
            cost = None
            if ex.price is not None and ex.usage is not None:
                usage = ex.usage
                cost = await asyncio.get_running_loop().run_in_executor(
                    None, cost_usd, ex.price, usage.tokens_in, usage.tokens_out, usage.tokens_cached
                )
            return {
                "model": model,
                "route": ex.route,
                "provider": ex.provider,
                "upstream_model": ex.upstream_model,
                "status": 200,
                "ttfb_ms": round(ex.ttfb_ms or 0, 2),
                "latency_ms": round(ex.elapsed_ms(), 2),
                "usage": reply.json.get("usage"),
                "cost_usd": cost,
                "content": message.get("content"),
                "tool_calls": message.get("tool_calls"),
                "finish_reason": choice.get("finish_reason"),
            }
        except ApiError as err:
            ex.fail(err.outcome, err.status, err.message)
            return {
                "model": model,
                "route": ex.route,
                "provider": ex.provider,
                "status": err.status,
                "latency_ms": round(ex.elapsed_ms(), 2),
                "error": err.body()["error"],
            }
        finally:
            gateway.request_ended(ex)

    results = await asyncio.gather(*(one(m) for m in models))
    return web.json_response({"object": "switchboard.compare", "results": results})
