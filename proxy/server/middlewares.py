"""Middlewares: one request log row per request, and the security gates.

Installed from one list, outermost first. This order matters:

1. :func:`exchange_middleware` finds the request's row in the surface table and creates its
   :class:`Exchange` first, so every outcome (rejected at a gate, upstream error, client
   cancelled, bug) ends in exactly one log row (on logged surfaces) and an error body in the
   surface's shape.
2. :func:`guard_middleware` runs the gates before the body is read, a key is touched or
   anything is forwarded, in this order: Host (DNS rebinding) -> Origin (cross-site) ->
   local access key (where the surface needs one) -> paused (where the surface pauses) ->
   content type and encoding -> declared body size.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError
from aiohttp.typedefs import Handler

from proxy.domain.errors import ApiError
from proxy.domain.exchange import Exchange
from proxy.domain.records import CLIENT_CANCELLED, ERROR, REJECTED
from proxy.engine.gateway import Gateway
from proxy.server.keys import EXCHANGE, GATES, GATEWAY, ORIGIN
from proxy.server.streaming import COMMITTED
from proxy.server.surfaces.base import Surface
from proxy.server.surfaces.table import SURFACE, TABLE

log = logging.getLogger(__name__)


def error_response(err: ApiError, surface: Surface, extra: dict[str, str] | None = None) -> web.Response:
    """The error in the shape of the API the client speaks (its surface's)."""
    headers = {**(extra or {}), **err.headers}
    body = surface.error_body(err)
    return web.Response(body=body, status=err.status, content_type="application/json", headers=headers)


def _http_exception_error(exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return ApiError(404, "No such endpoint. See GET /v1/models and the Switchboard README.", code="not_found")
    if exc.status == 405:
        return ApiError(405, f"Method {exc.reason!s} is not allowed on this endpoint.", code="method_not_allowed")
    if exc.status == 413:
        return ApiError(413, "The request body is too large.", code="request_too_large")
    return ApiError(exc.status, exc.reason or "HTTP error", code=str(exc.status))


@web.middleware
async def exchange_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    surface = request[SURFACE] = request.app[TABLE].of(request)
    if not surface.logged:
        request.app[GATEWAY].metrics.count_unlogged(surface.name)
        try:
            return await handler(request)
        except ApiError as err:
            return error_response(err, surface)
    gateway: Gateway = request.app[GATEWAY]
    ex = Exchange(surface.name, request.headers.get("User-Agent"))
    ex.app = named_app(request.headers)
    request[EXCHANGE] = ex
    gateway.request_began(ex)
    try:
        return await handler(request)
    except ApiError as err:
        ex.fail(err.outcome, err.status, err.message)
        response = error_response(err, surface, ex.result_headers())
        if request.body_exists and not request.content.at_eof():
            response.force_close()  # never drain (possibly huge) bodies we refused unread
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        refused = _http_exception_error(exc)
        ex.fail(REJECTED, refused.status, refused.message)
        return error_response(refused, surface)
    except asyncio.CancelledError:
        ex.fail(CLIENT_CANCELLED, 499, "the client disconnected")
        raise
    except (ClientConnectionResetError, ConnectionResetError):
        ex.fail(CLIENT_CANCELLED, 499, "the client disconnected")
        raise
    except Exception as exc:
        log.exception("internal error while handling %s %s", request.method, request.path)
        internal = ApiError(500, f"Internal error in Switchboard ({type(exc).__name__}).", "internal_error")
        ex.fail(ERROR, 500, internal.message)
        started: web.StreamResponse | None = request.get(COMMITTED)
        if started is not None:  # status and headers are out: no second response can follow them
            if request.transport is not None:
                request.transport.close()  # the client sees the stream end now, not a silent wait
            return started
        return error_response(internal, surface)
    finally:
        gateway.request_ended(ex)


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    gateway: Gateway = request.app[GATEWAY]
    gates = request.app[GATES].current
    # 1. Host: exactly one header naming this server (defeats DNS rebinding).
    hosts = request.headers.getall("Host", ())
    if len(hosts) != 1 or hosts[0].lower() not in gates.allowed_hosts:
        raise ApiError(
            403,
            "Forbidden host. Switchboard only answers requests addressed to itself "
            "(127.0.0.1, localhost or [::1] with its port, which may be left out on 80 or 443).",
            "permission_error",
            code="forbidden_host",
        )
    # 2. Origin: browsers say where a request comes from; only listed origins may call.
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin.lower() not in gates.allowed_origins:
            raise ApiError(
                403,
                "Cross-origin requests are not allowed from this origin. Add it to server.allowed_origins to allow it.",
                "permission_error",
                code="forbidden_origin",
            )
        request[ORIGIN] = origin
    if request.method == "OPTIONS":
        if origin is None:
            raise ApiError(
                403, "Preflight requests need an allowed Origin.", "permission_error", code="forbidden_origin"
            )
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": request.app[TABLE].cors_allow_headers,
                "Access-Control-Max-Age": "600",
            },
        )
    surface = request[SURFACE]
    # 3. Local access key.
    if gates.access_keys is not None and surface.authenticated:
        presented = surface.credentials(request)
        if presented is None:
            raise ApiError(
                401,
                "Missing access key. Send your Switchboard access key as 'Authorization: Bearer "
                "<key>' or 'x-api-key: <key>' (see `switchboard access-key show`).",
                "authentication_error",
                code="missing_access_key",
            )
        name = gates.access_keys.match(presented)
        if name is None:
            raise ApiError(401, "Invalid access key.", "authentication_error", code="invalid_access_key")
        ex = request.get(EXCHANGE)
        if ex is not None:
            ex.client = name
    # Paused from the tray: model requests wait for "Resume" (management endpoints still answer).
    if gateway.paused and surface.pausable and request.method == "POST":
        raise ApiError(
            503,
            "Switchboard is paused. Resume it from its tray menu (or restart it) to serve requests again.",
            "service_unavailable",
            code="paused",
            headers={"Retry-After": "30"},
        )
    # 4. Bodies: JSON only (no "simple" cross-site form posts), never compressed, bounded.
    if request.method == "POST":
        if request.content_type != "application/json":
            raise ApiError(
                415,
                f"Unsupported content type {request.content_type!r}: send 'Content-Type: application/json'.",
                code="unsupported_media_type",
            )
        encoding = request.headers.get("Content-Encoding")
        if encoding is not None and encoding.lower() != "identity":
            raise ApiError(
                415, "Compressed request bodies are not accepted (Content-Encoding).", code="unsupported_media_type"
            )
        length = request.content_length
        if length is not None and length > gates.max_body_bytes:
            raise ApiError(
                413,
                f"The request body is {length} bytes; the limit is {gates.max_body_bytes}.",
                code="request_too_large",
            )
    return await handler(request)


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: name ourselves plainly, and echo an allowed Origin (never ``*``)."""
    response.headers["Server"] = "Switchboard"
    origin = request.get(ORIGIN)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"


MIDDLEWARES = (exchange_middleware, guard_middleware)


def named_app(headers: Mapping[str, str]) -> str | None:
    """The app a request names itself with, OpenRouter's way: ``X-Title``, else the host of
    ``HTTP-Referer`` (its site). Cleaned and capped: it goes to the log as it is."""
    title = headers.get("X-Title")
    if title:
        cleaned = " ".join(title.split())[:100]
        if cleaned.isprintable() and cleaned:
            return cleaned
    referer = headers.get("HTTP-Referer")
    if referer:
        try:
            host = urlsplit(referer.strip()).hostname
        except ValueError:
            return None
        return host[:100] if host else None
    return None
