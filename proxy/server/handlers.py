"""HTTP handlers for the OpenAI-compatible surface."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from proxy.cache.keys import cache_key
from proxy.cache.replay import StreamAssembler, completion_to_events
from proxy.domain.errors import ApiError
from proxy.domain.exchange import Exchange
from proxy.domain.records import OK, Usage
from proxy.engine.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.routing.resolve import Attempt
from proxy.server import messages, responses
from proxy.server.compare import compare
from proxy.server.keys import EXCHANGE, GATEWAY
from proxy.server.streaming import (
    COMMITTED,
    error_event,
    forward_keeping_alive,
    prime_chat_stream,
    relay_chat_stream,
)
from proxy.server.validation import check_chat, check_embeddings, model_name, read_json
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent

_CREATED = int(time.time())


def _failed_after_commit(err: ApiError) -> bytes:
    """The in-band error event for a stream that failed after keep-alive comments were sent."""
    return error_event(err.message, err.type, err.code)


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
    resolution = gateway.resolve(ex, snap, ex.requested_model or "", user=body.get("user"), headers=request.headers)

    cache = resolution.policy.cache
    key = None
    if cache.enabled and resolution.route is not None:
        scope = f"{resolution.route}#{resolution.variant}" if resolution.variant else resolution.route
        key = cache_key(scope, body)
        if _cache_bypassed(request):
            ex.cache = "bypass"
        else:
            stored = await gateway.cache_get(key)
            if stored is not None:
                ex.cache = "hit"
                return await _serve_cached(request, ex, snap, stored, stream, client_wants_usage, capture, gateway)
            ex.cache = "miss"

    def build(attempt: Attempt, supports_stream_usage: bool) -> UpstreamCall:
        upstream = dict(body)
        upstream["model"] = attempt.model
        if stream and supports_stream_usage and not client_wants_usage:
            upstream["stream_options"] = {**(options or {}), "include_usage": True}
        return UpstreamCall("chat/completions", upstream, stream)

    async def prime(reply: UpstreamReply) -> UpstreamReply:
        return await prime_chat_stream(reply, ex.provider or "?")

    work = gateway.forward(ex, snap, resolution, build, prime if stream else None)
    reply = await forward_keeping_alive(request, ex, work, _failed_after_commit) if stream else await work
    if reply is None:
        return request[COMMITTED]  # failed after keep-alive comments: ended with an error event
    if stream:
        assembler = StreamAssembler() if key is not None else None
        response = await relay_chat_stream(
            request,
            ex,
            reply,
            client_wants_usage=client_wants_usage,
            headers=ex.result_headers(),
            capture=capture,
            on_first_byte=gateway.emit_if_watched,
            assembler=assembler,
        )
        if key is not None and assembler is not None and ex.status == OK and assembler.complete:
            _store(gateway, key, resolution.route or "", ex, assembler.result(), cache)
        return response
    ex.usage = Usage.from_openai(reply.json.get("usage"))
    ex.mark_first_byte()
    if capture and reply.body is not None:
        ex.response_body = REDACTOR.redact(reply.body.decode("utf-8", "replace"))
    if key is not None:
        _store(gateway, key, resolution.route or "", ex, reply.json, cache)
    return web.Response(body=reply.body, content_type="application/json", headers=ex.result_headers())


def _cache_bypassed(request: web.Request) -> bool:
    control = request.headers.get("Cache-Control", "").lower()
    return "no-cache" in control or "no-store" in control or request.headers.get("x-switchboard-cache") == "bypass"


def _store(gateway: Any, key: str, route: str, ex: Exchange, completion: Any, cache: Any) -> None:
    entry = {"provider": ex.provider, "model": ex.upstream_model, "completion": completion}
    gateway.cache_put(key, route, orjson.dumps(entry), cache.ttl, cache.max_entries)


async def _serve_cached(
    request: web.Request,
    ex: Exchange,
    snap: Any,
    stored: bytes,
    stream: bool,
    client_wants_usage: bool,
    capture: bool,
    gateway: Any,
) -> web.StreamResponse:
    """Answer from the cache: the stored completion, or replayed as a stream."""
    entry = orjson.loads(stored)
    completion = entry["completion"]
    ex.provider, ex.upstream_model = entry.get("provider"), entry.get("model")
    if ex.provider and ex.upstream_model:
        ex.price = snap.price_ref(Attempt(ex.provider, ex.upstream_model))
    ex.usage = Usage.from_openai(completion.get("usage"))
    if stream:
        events = [SSEEvent(raw, raw[6:-2]) for raw in completion_to_events(completion, client_wants_usage)]
        reply = UpstreamReply(200, events=_iterate(events))
        return await relay_chat_stream(
            request,
            ex,
            reply,
            client_wants_usage=client_wants_usage,
            headers=ex.result_headers(),
            capture=capture,
            on_first_byte=gateway.emit_if_watched,
        )
    ex.mark_first_byte()
    return web.Response(body=orjson.dumps(completion), content_type="application/json", headers=ex.result_headers())


async def _iterate(events: list[SSEEvent]) -> AsyncIterator[SSEEvent]:
    for event in events:
        yield event


async def embeddings(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    snap = gateway.snapshot
    ex: Exchange = request[EXCHANGE]
    body = await _begin(request, ex)
    check_embeddings(body)
    resolution = gateway.resolve(ex, snap, ex.requested_model or "", user=body.get("user"), headers=request.headers)

    def build(attempt: Attempt, _: bool) -> UpstreamCall:
        return UpstreamCall("embeddings", {**body, "model": attempt.model})

    reply = await gateway.forward(ex, snap, resolution, build)
    ex.usage = Usage.from_openai(reply.json.get("usage"))
    ex.mark_first_byte()
    return web.Response(body=reply.body, content_type="application/json", headers=ex.result_headers())


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
    app.router.add_post("/v1/messages", messages.messages)
    app.router.add_post("/v1/messages/count_tokens", messages.count_tokens)
    app.router.add_post("/v1/responses", responses.responses)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model:.+}", get_model)
    app.router.add_get("/health", health)
    app.router.add_get("/", health)  # clients probe the base URL (Claude Code sends HEAD /)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/switchboard/status", status)
    app.router.add_post("/switchboard/compare", compare)
    for method in ("GET", "POST", "DELETE"):
        app.router.add_route(method, "/switchboard/simulate", simulate)


async def simulate(request: web.Request) -> web.Response:
    """``/switchboard/simulate``: arm (POST ``{"target": "provider/model", "fault": "error"|"429"|
    "timeout"|"cut", "count": N}``), list (GET) or clear (DELETE) simulated failures."""
    gateway = request.app[GATEWAY]
    if request.method == "DELETE":
        gateway.simulator.clear()
    elif request.method == "POST":
        body = await read_json(request, 64 * 1024)
        target, fault, count = body.get("target"), body.get("fault"), body.get("count", 1)
        provider, _, model = target.partition("/") if isinstance(target, str) else ("", "", "")
        if not provider or not model or gateway.snapshot.config.provider(provider) is None:
            raise ApiError(400, "'target' must name a configured provider and model as provider/model.", param="target")
        if not isinstance(count, int) or isinstance(count, bool):
            raise ApiError(400, "'count' must be an integer.", param="count")
        try:
            gateway.simulator.arm(provider, model, str(fault), count)
        except ValueError as exc:
            raise ApiError(400, str(exc), param="fault" if "fault" in str(exc) else "count") from None
    return web.json_response({"pending": gateway.simulator.pending()}, dumps=_dumps)
