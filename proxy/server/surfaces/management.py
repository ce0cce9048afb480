"""The endpoints that are not model APIs: model listing, health, metrics, status, simulated failures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError
from proxy.engine.hooks import Cache, Limits, Telemetry
from proxy.engine.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from proxy.engine.metrics import Budget, MetricState
from proxy.server.keys import GATEWAY, snapshot_of
from proxy.server.validation import read_json

_CREATED = int(time.time())


async def _model_list(request: web.Request) -> list[dict[str, Any]]:
    snap = snapshot_of(request)
    data = [
        {"id": r.name, "object": "model", "created": _CREATED, "owned_by": "switchboard"} for r in snap.resolver.routes
    ]
    adapters = [a for pid, a in snap.adapters.items() if (p := snap.config.provider(pid)) is not None and p.enabled]
    listed = await asyncio.gather(*(a.list_models() for a in adapters), return_exceptions=True)
    for adapter, models in zip(adapters, listed, strict=True):
        if isinstance(models, BaseException):
            continue
        data += [
            {"id": f"{adapter.id}/{m}", "object": "model", "created": _CREATED, "owned_by": adapter.id} for m in models
        ]
    return data


model_list = _model_list
"""Every route and ``provider/model`` as OpenAI model objects (other surfaces list them in their shapes)."""


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
    """``{"status": "ok"}``. In team mode also each shared engine's state, and ``degraded`` while one
    is unreachable: still 200, since the replica keeps serving (limits per replica, log rows
    spooled) and every replica sees the same engines (failing them all would turn a degraded service
    into an outage); ``?strict=1`` answers 503 then (a readiness probe that wants the engines)."""
    ready, engines = request.app[GATEWAY].readiness()
    if not engines:
        return web.json_response({"status": "ok"})
    strict = request.query.get("strict") in ("1", "true")
    body = {"status": "ok" if ready else "degraded", "state": engines}
    return web.json_response(body, status=503 if strict and not ready else 200, dumps=_dumps)


async def metrics(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    state = await metric_state(request)
    body = gateway.metrics.render(state)
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def metric_state(request: web.Request) -> MetricState:
    """The gateway's state for the gauges: read on the loop (plain reads), the cache's entry count
    on the cache's own thread."""
    gateway = request.app[GATEWAY]
    config = snapshot_of(request).config
    targets = {key: (h.in_flight, h.state) for key, h in list(gateway.health.targets.items())}
    budgets: list[Budget] = []
    entries: int | None = None
    dropped: int | None = None
    for hook in gateway.hooks.all:
        if isinstance(hook, Telemetry) and hook.exporter is not None:
            dropped = hook.dropped
        if isinstance(hook, Limits):
            scoped = [(f"key:{name}", limits) for name, limits in config.key_limits.items()]
            scoped += [(f"route:{r.name}", r.limits) for r in config.routes]
            for scope, limits in scoped:
                for period, usd in (("day", limits.daily_usd), ("month", limits.monthly_usd)):
                    if usd is not None:
                        budgets.append(Budget(scope, period, hook.store.spent(scope, period), usd))
        elif isinstance(hook, Cache) and any(r.cache.enabled for r in config.routes):
            entries = await hook.entries()
    return MetricState(gateway.request_log.dropped, gateway.in_flight, targets, entries, budgets, dropped)


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[GATEWAY].status(), dumps=_dumps)


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
        if not provider or not model or snapshot_of(request).config.provider(provider) is None:
            raise ApiError(400, "'target' must name a configured provider and model as provider/model.", param="target")
        if not isinstance(count, int) or isinstance(count, bool):
            raise ApiError(400, "'count' must be an integer.", param="count")
        try:
            gateway.simulator.arm(provider, model, str(fault), count)
        except ValueError as exc:
            raise ApiError(400, str(exc), param="fault" if "fault" in str(exc) else "count") from None
    return web.json_response({"pending": gateway.simulator.pending()}, dumps=_dumps)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()
