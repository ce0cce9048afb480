"""HTTP handlers for the OpenAI-compatible surface."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

from proxy.errors import ApiError
from proxy.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from proxy.models import Usage
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.redact import REDACTOR
from proxy.routing.resolve import Attempt
from proxy.server.exchange import Exchange
from proxy.server.keys import EXCHANGE, GATEWAY
from proxy.server.streaming import prime_chat_stream, relay_chat_stream
from proxy.server.validation import check_chat, check_embeddings, model_name, read_json

_CREATED = int(time.time())


def _result_headers(ex: Exchange) -> dict[str, str]:
    """Tell the client what happened (route, provider, upstream model, attempts)."""
    headers = {"x-request-id": ex.id, "x-switchboard-attempts": str(ex.attempts)}
    if ex.route:
        headers["x-switchboard-route"] = ex.route
    if ex.provider:
        headers["x-switchboard-provider"] = ex.provider
    if ex.upstream_model:
        headers["x-switchboard-model"] = ex.upstream_model
    return headers


async def _begin(request: web.Request, ex: Exchange) -> dict[str, Any]:
    snap = request.app[GATEWAY].snapshot
    body = await read_json(request, snap.config.server.max_body_bytes)
    ex.requested_model = model_name(body)
    return body


async def chat_completions(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    snap = gateway.snapshot  # this request keeps the config it started with
    ex: Exchange = request[EXCHANGE]
    body = await _begin(request, ex)
    stream = check_chat(body)
    ex.stream = stream
    capture = snap.config.logging.store_bodies
    if capture:
        ex.request_body = REDACTOR.redact(orjson.dumps(body).decode())
    options = body.get("stream_options")
    client_wants_usage = isinstance(options, dict) and options.get("include_usage") is True

    def build(attempt: Attempt, supports_stream_usage: bool) -> UpstreamCall:
        upstream = dict(body)
        upstream["model"] = attempt.model
        if stream and supports_stream_usage and not client_wants_usage:
            upstream["stream_options"] = {**(options or {}), "include_usage": True}
        return UpstreamCall("chat/completions", upstream, stream)

    async def prime(reply: UpstreamReply) -> UpstreamReply:
        return await prime_chat_stream(reply, ex.provider or "?")

    reply = await gateway.forward(ex, snap, ex.requested_model or "", build, prime if stream else None)
    if stream:
        return await relay_chat_stream(
            request,
            ex,
            reply,
            client_wants_usage=client_wants_usage,
            headers=_result_headers(ex),
            capture=capture,
            on_first_byte=gateway.emit_if_watched,
        )
    ex.usage = Usage.from_openai(reply.json.get("usage"))
    ex.mark_first_byte()
    if capture and reply.body is not None:
        ex.response_body = REDACTOR.redact(reply.body.decode("utf-8", "replace"))
    return web.Response(body=reply.body, content_type="application/json", headers=_result_headers(ex))


async def embeddings(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    snap = gateway.snapshot
    ex: Exchange = request[EXCHANGE]
    body = await _begin(request, ex)
    check_embeddings(body)

    def build(attempt: Attempt, _: bool) -> UpstreamCall:
        return UpstreamCall("embeddings", {**body, "model": attempt.model})

    reply = await gateway.forward(ex, snap, ex.requested_model or "", build)
    ex.usage = Usage.from_openai(reply.json.get("usage"))
    ex.mark_first_byte()
    return web.Response(body=reply.body, content_type="application/json", headers=_result_headers(ex))


async def _model_list(request: web.Request) -> list[dict[str, Any]]:
    snap = request.app[GATEWAY].snapshot
    data = [
        {"id": r.name, "object": "model", "created": _CREATED, "owned_by": "switchboard"} for r in snap.resolver.routes
    ]
    adapters = [a for pid, a in snap.adapters.items() if snap.config.provider(pid).enabled]  # type: ignore[union-attr]
    listed = await asyncio.gather(*(a.list_models() for a in adapters), return_exceptions=True)
    for adapter, models in zip(adapters, listed, strict=True):
        if isinstance(models, BaseException):
            continue
        data += [
            {"id": f"{adapter.id}/{m}", "object": "model", "created": _CREATED, "owned_by": adapter.id} for m in models
        ]
    return data


async def list_models(request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": await _model_list(request)}, dumps=_dumps)


async def get_model(request: web.Request) -> web.Response:
    wanted = request.match_info["model"]
    for entry in await _model_list(request):
        if entry["id"] == wanted:
            return web.json_response(entry, dumps=_dumps)
    raise ApiError(
        404,
        f"The model '{wanted}' does not exist. List available models with GET /v1/models.",
        param="model",
        code="model_not_found",
    )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    body = gateway.metrics.render(gateway.request_log.dropped)
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[GATEWAY].status(), dumps=_dumps)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model:.+}", get_model)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/switchboard/status", status)
