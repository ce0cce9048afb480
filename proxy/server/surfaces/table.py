"""The surface table: every endpoint Switchboard answers, one row each, and the facts about it.

The middlewares ask the row of the route a request matched (:meth:`SurfaceTable.of`) whether it is
logged, needs the access key, pauses, and how its errors look; nothing tests a path prefix. A
request that matched no route (404, 405) gets the row of its path if it names one (a wrong
method), else the row of the nearest endpoint above its path (``/v1/messages/batches`` answers in
Anthropic's shape), as ``other``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from proxy.server.surfaces.base import Handler, Surface
from proxy.server.surfaces.chat import ChatCompletions
from proxy.server.surfaces.compare import compare
from proxy.server.surfaces.completions import Completions
from proxy.server.surfaces.embeddings import Embeddings
from proxy.server.surfaces.gemini import GEMINI_SURFACES, gemini_error, goog_api_key
from proxy.server.surfaces.management import get_model, health, list_models, metrics, simulate, status
from proxy.server.surfaces.messages import Messages, anthropic_error, count_tokens
from proxy.server.surfaces.responses import Responses
from proxy.server.surfaces.serve import serve_model

OPENAI = ("openai-organization",)
ANTHROPIC = ("anthropic-version",)

SURFACES: tuple[Surface, ...] = (
    # Model APIs (under /v1: POSTs wait while paused).
    Surface("chat", (("POST", "/v1/chat/completions"),), ChatCompletions, pausable=True, cors_headers=OPENAI),
    Surface("embeddings", (("POST", "/v1/embeddings"),), Embeddings, pausable=True, cors_headers=OPENAI),
    Surface("completions", (("POST", "/v1/completions"),), Completions, pausable=True, cors_headers=OPENAI),
    Surface(
        "messages",
        (("POST", "/v1/messages"),),
        Messages,
        error_body=anthropic_error,
        pausable=True,
        cors_headers=ANTHROPIC,
    ),
    Surface(
        "count_tokens",
        (("POST", "/v1/messages/count_tokens"),),
        handler=count_tokens,
        error_body=anthropic_error,
        pausable=True,
        cors_headers=ANTHROPIC,
    ),
    Surface("responses", (("POST", "/v1/responses"),), Responses, pausable=True, cors_headers=OPENAI),
    Surface("models", (("GET", "/v1/models"),), handler=list_models, pausable=True),
    Surface("other", (("GET", "/v1/models/{model:.+}"),), handler=get_model, pausable=True),
    # Gemini's API (Gemini CLI, google-genai): its key header or ?key=, Google's error shape.
    *GEMINI_SURFACES,
    # Liveness: clients probe the base URL (Claude Code sends HEAD /); no key, no log row.
    Surface("health", (("GET", "/health"), ("GET", "/")), handler=health, logged=False, authenticated=False),
    # Management.
    # Scrapes and status polls are counted (switchboard_unlogged_requests_total), not logged.
    Surface("metrics", (("GET", "/metrics"),), handler=metrics, logged=False),
    Surface("status", (("GET", "/switchboard/status"),), handler=status, logged=False),
    Surface("compare-batch", (("POST", "/switchboard/compare"),), handler=compare),
    Surface(
        "simulate",
        (("GET", "/switchboard/simulate"), ("POST", "/switchboard/simulate"), ("DELETE", "/switchboard/simulate")),
        handler=simulate,
    ),
)
"""Every endpoint, in registration order."""

OTHER = Surface("other", ())
"""A request for no endpoint at all: logged, authenticated (callers without the key learn nothing
about paths), OpenAI's error shape."""
FAMILIES = {
    "/v1": dataclasses.replace(OTHER, pausable=True),
    "/v1beta": dataclasses.replace(OTHER, pausable=True, error_body=gemini_error, credentials=goog_api_key),
}
"""Unknown endpoints below these paths (``POST /v1/anything`` waits while paused, like the model APIs)."""


class SurfaceTable:
    """The rows of one app's routes, and the rows for requests no route matched."""

    __slots__ = ("by_route", "by_path", "below", "cors_allow_headers")

    def __init__(self, rows: Sequence[Surface], by_route: dict[AbstractRoute, Surface]) -> None:
        self.by_route = by_route
        literal = [(path, row) for row in rows for _, path in row.routes if "{" not in path]
        self.by_path = dict(literal)
        self.below = {
            **FAMILIES,
            **{path: dataclasses.replace(row, name="other", logged=True, authenticated=True) for path, row in literal},
        }
        extra = sorted({header for row in rows for header in row.cors_headers})
        self.cors_allow_headers = ", ".join(["authorization", "content-type", "x-api-key", *extra])
        """What a CORS preflight answer allows a browser to send."""

    def of(self, request: web.Request) -> Surface:
        row = self.by_route.get(request.match_info.route)
        return row if row is not None else self.unmatched(request.path)

    def unmatched(self, path: str) -> Surface:
        row = self.by_path.get(path)  # a known endpoint, a method it does not answer
        if row is not None:
            return row
        while path:
            path = path.rpartition("/")[0]
            row = self.below.get(path)
            if row is not None:
                return row
        return OTHER


TABLE: web.AppKey[SurfaceTable] = web.AppKey("switchboard.surfaces", SurfaceTable)
SURFACE: web.RequestKey[Surface] = web.RequestKey("switchboard.surface", Surface)
"""The row of the request (set by the exchange middleware, read by the guard)."""


def register(app: web.Application, rows: Sequence[Surface] | None = None) -> None:
    """Add every surface's routes (``rows``, by default :data:`SURFACES`) to ``app``, and the table
    the middlewares read."""
    rows = [unprefixed(row) for row in (SURFACES if rows is None else rows)]
    by_route: dict[AbstractRoute, Surface] = {}
    for row in rows:
        handler = _handler(row)
        for method, path in row.routes:
            for each in ("HEAD", "GET") if method == "GET" else (method,):
                by_route[app.router.add_route(each, path, handler)] = row
    app[TABLE] = SurfaceTable(rows, by_route)


def unprefixed(row: Surface) -> Surface:
    """The row with each ``/v1/...`` path also answered without ``/v1`` (for tools that strip it)."""
    extra = tuple((method, path[3:]) for method, path in row.routes if path.startswith("/v1/"))
    return dataclasses.replace(row, routes=row.routes + extra) if extra else row


def _handler(row: Surface) -> Handler:
    if row.handler is not None:
        return row.handler
    assert row.dialect is not None, f"surface {row.name!r} has neither a handler nor a dialect"
    return partial(serve_model, row.dialect)
