"""The one handler of every model API: a request, through its surface's dialect, to the engine and back.

Read and check the body (the dialect), note it in the request's ``Exchange``, let the engine answer
it (``Gateway.serve``: resolve, hooks, the attempt loop), then answer the client: a JSON body, or
the stream, relayed with keep-alive comments while the first content is slow.

A non-streamed answer carries its cost in ``x-switchboard-cost`` (US dollars; absent when the price
is unknown) and, when the client asks OpenRouter's way (``"usage": {"include": true}``, a field
that is never sent upstream), in ``usage.cost`` of the body; a streamed Chat Completions answer
then carries it in ``usage.cost`` of its usage chunk (headers are gone by then).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from proxy.domain.exchange import Exchange
from proxy.domain.pricing import cost_now, cost_usd
from proxy.server.keys import EXCHANGE, GATEWAY, snapshot_of
from proxy.server.streaming import COMMITTED, forward_keeping_alive
from proxy.server.surfaces.base import Dialect
from proxy.server.validation import read_json
from proxy.support.redact import REDACTOR


async def serve_model(dialect: type[Dialect], request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    snap = snapshot_of(request)  # this request keeps the config it started with
    ex = request[EXCHANGE]
    body = await read_json(request, snap.config.server.max_body_bytes)
    include_cost = _wants_cost(body)
    call = dialect(ex, body, request)
    call.include_cost = include_cost
    ex.stream = call.stream
    capture = call.captured and snap.config.logging.store_bodies
    if capture:
        ex.request_body = REDACTOR.redact(orjson.dumps(body).decode())
    work = gateway.serve(ex, snap, call)
    if not call.stream:
        payload = call.answer(await work)
        headers = ex.result_headers()
        cost = await _cost(ex)
        if cost is not None:
            headers["x-switchboard-cost"] = f"{cost:.10f}".rstrip("0").rstrip(".") or "0"
            if include_cost:
                payload = _with_cost(payload, cost)
        ex.mark_first_byte()
        if capture:
            ex.response_body = REDACTOR.redact(payload.decode("utf-8", "replace"))
        return web.Response(body=payload, content_type="application/json", headers=headers)
    reply = await forward_keeping_alive(request, ex, work, call.failed_after_commit)
    if reply is None:
        return request[COMMITTED]  # failed after keep-alive comments: ended with an error event
    return await call.relay(request, reply, capture=capture, on_first_byte=gateway.emit_if_watched)


def _wants_cost(body: dict[str, Any]) -> bool:
    """OpenRouter's usage accounting, ``"usage": {"include": true}``: taken out of the request
    (no upstream but OpenRouter knows the field)."""
    usage = body.get("usage")
    if not isinstance(usage, dict) or set(usage) - {"include"}:
        return False
    del body["usage"]
    return usage.get("include") is True


async def _cost(ex: Exchange) -> float | None:
    usage = ex.usage
    if ex.price is None or usage is None or ex.cache == "hit":
        return 0.0 if ex.cache == "hit" else None
    now = cost_now(ex.price, usage.tokens_in, usage.tokens_out, usage.tokens_cached, usage.tokens_cache_write)
    if now is not ...:
        return now  # the model's rates are cached: microseconds, no thread hop
    loop = asyncio.get_running_loop()  # a first lookup asks genai-prices: off the event loop
    return await loop.run_in_executor(
        None, cost_usd, ex.price, usage.tokens_in, usage.tokens_out, usage.tokens_cached, usage.tokens_cache_write
    )


def _with_cost(payload: bytes, cost: float) -> bytes:
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload
    if not isinstance(data, dict):
        return payload
    usage = data.get("usage")
    data["usage"] = {**(usage if isinstance(usage, dict) else {}), "cost": cost}
    return orjson.dumps(data)
