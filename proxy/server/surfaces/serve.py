"""The one handler of every model API: a request, through its surface's dialect, to the engine and back.

Read and check the body (the dialect), note it in the request's ``Exchange``, let the engine answer
it (``Gateway.serve``: resolve, hooks, the attempt loop), then answer the client: a JSON body, or
the stream, relayed with keep-alive comments while the first content is slow.
"""

from __future__ import annotations

import orjson
from aiohttp import web

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
    call = dialect(ex, body, request)
    ex.stream = call.stream
    capture = call.captured and snap.config.logging.store_bodies
    if capture:
        ex.request_body = REDACTOR.redact(orjson.dumps(body).decode())
    work = gateway.serve(ex, snap, call)
    if not call.stream:
        payload = call.answer(await work)
        ex.mark_first_byte()
        if capture:
            ex.response_body = REDACTOR.redact(payload.decode("utf-8", "replace"))
        return web.Response(body=payload, content_type="application/json", headers=ex.result_headers())
    reply = await forward_keeping_alive(request, ex, work, call.failed_after_commit)
    if reply is None:
        return request[COMMITTED]  # failed after keep-alive comments: ended with an error event
    return await call.relay(request, reply, capture=capture, on_first_byte=gateway.emit_if_watched)
