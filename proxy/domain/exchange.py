"""Exchange: the mutable state of one request while it runs, turned into a log record at the end.

The attempt loop reports to it through ``proxy.routing.attempts.AttemptReport`` (:meth:`attempt_began`,
:meth:`attempted` with an :class:`AttemptRecord`, :meth:`hold`, :meth:`let_go`); it knows nothing of HTTP."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from proxy.domain.pricing import PriceRef
from proxy.domain.records import OK, RequestRecord, Usage
from proxy.support.redact import REDACTOR

# Request ids: the process start time (ns) then a counter, in hex. Unique, and increasing both
# within a run and across restarts, so log rows append to the end of the primary-key index.
_ID_PREFIX = f"{time.time_ns():x}"
_ID_COUNTER = itertools.count()


RESPONSE_HEADERS = (
    "content-type",
    "x-request-id",
    "request-id",
    "openai-processing-ms",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-tokens-remaining",
    "retry-after",
    "cf-ray",
)
"""Upstream response headers worth keeping with an attempt (ids to quote to a provider, rate-limit
headroom); a short list, so a log row stays small and carries nothing identifying beyond them."""


HEADER_VALUE_KEPT = 200
"""Characters of a kept header value (an upstream may send anything)."""


def clean_text(text: str) -> str:
    """``text`` as valid UTF-8: bytes an upstream sent that were not UTF-8 (kept by aiohttp as
    surrogate escapes) become U+FFFD, so the log row can always be encoded."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def useful_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The :data:`RESPONSE_HEADERS` present in ``headers`` (any case), values redacted."""
    found = {}
    for name in RESPONSE_HEADERS:
        value = headers.get(name)
        if value is not None:
            found[name] = REDACTOR.redact(clean_text(value[:HEADER_VALUE_KEPT]))
    return found


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """How one try against one target ended, as the attempt loop reports it."""

    provider: str
    model: str
    status: int
    """The upstream's HTTP status (0: no answer, e.g. cancelled or skipped)."""
    error: str | None
    """What went wrong (``None``: it answered)."""
    ms: float
    response_headers: Mapping[str, str] | None = None


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


class Exchange:
    """Everything the request log needs to know about one request, filled in as it runs."""

    __slots__ = (
        "id",
        "started_at",
        "started_mono",
        "surface",
        "client",
        "user_agent",
        "requested_model",
        "route",
        "provider",
        "upstream_model",
        "status",
        "http_status",
        "error",
        "stream",
        "ttfb_ms",
        "attempts",
        "attempt_log",
        "cache",
        "variant",
        "on_end",
        "usage",
        "price",
        "request_body",
        "response_body",
        "finished",
        "notes",
        "app",
    )

    def __init__(self, surface: str, user_agent: str | None) -> None:
        self.id = new_request_id()
        self.started_at = time.time()
        self.started_mono = time.monotonic()
        self.surface = surface
        self.user_agent = user_agent
        self.app: str | None = None
        """The calling app as it names itself (see ``RequestRecord.app``)."""
        self.client: str | None = None
        self.requested_model: str | None = None
        self.route: str | None = None
        self.provider: str | None = None
        self.upstream_model: str | None = None
        self.status = OK
        self.http_status = 200
        self.error: str | None = None
        self.stream = False
        self.ttfb_ms: float | None = None
        self.attempts = 0
        self.attempt_log: list[dict[str, object]] = []
        self.cache: str | None = None
        self.variant: str | None = None
        self.on_end: list[Callable[[], None]] = []
        """Run when the request is over (e.g. give back a concurrency slot held by a stream)."""
        self.usage: Usage | None = None
        self.price: PriceRef | None = None
        self.request_body: str | None = None
        self.response_body: str | None = None
        self.finished = False
        self.notes: dict[str, Any] | None = None
        """What feature hooks keep about this request between their hook points (the cache key of a
        miss, to store the answer under), made by the first hook that needs it."""

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started_mono) * 1000

    def mark_first_byte(self) -> float:
        if self.ttfb_ms is None:
            self.ttfb_ms = self.elapsed_ms()
        return self.ttfb_ms

    def result_headers(self) -> dict[str, str]:
        """Tell the client what happened: request id, and once routed, route, provider, upstream
        model, attempts, cache and A/B variant."""
        headers = {"x-request-id": self.id}
        if self.route is None and not self.attempts:
            return headers
        headers["x-switchboard-attempts"] = str(self.attempts)
        if self.route:
            headers["x-switchboard-route"] = self.route
        if self.provider:
            headers["x-switchboard-provider"] = self.provider
        if self.upstream_model:
            headers["x-switchboard-model"] = self.upstream_model
        headers["x-switchboard-cache"] = self.cache or "off"
        if self.variant:
            headers["x-switchboard-variant"] = self.variant
        return headers

    def attempt_began(self, provider: str, model: str) -> None:
        self.attempts += 1
        self.provider, self.upstream_model = provider, model

    def hold(self, release: Callable[[], None]) -> None:
        self.on_end.append(release)

    def let_go(self, release: Callable[[], None]) -> None:
        self.on_end.remove(release)
        release()

    def attempted(self, attempt: AttemptRecord) -> None:
        """Record one attempt; of its response headers, only :data:`RESPONSE_HEADERS` are kept."""
        error = attempt.error
        if error is not None:
            error = clean_text(error)
        entry: dict[str, object] = {
            "target": f"{attempt.provider}/{attempt.model}",
            "status": attempt.status,
            "error": error,
            "ms": round(attempt.ms, 2),
        }
        if attempt.response_headers and (kept := useful_headers(attempt.response_headers)):
            entry["response_headers"] = kept
        self.attempt_log.append(entry)

    def note_attempt(
        self,
        provider: str,
        model: str,
        status: int,
        error: str | None,
        ms: float,
        response_headers: Mapping[str, str] | None = None,
    ) -> None:
        """:meth:`attempted`, spelt out (an attempt made outside the attempt loop)."""
        self.attempted(AttemptRecord(provider, model, status, error, ms, response_headers))

    def fail(self, status: str, http_status: int, error: str) -> None:
        self.status = status
        self.http_status = http_status
        self.error = clean_text(error)

    def record(self) -> RequestRecord:
        usage = self.usage or Usage()
        return RequestRecord(
            id=self.id,
            started_at=self.started_at,
            surface=self.surface,
            status=self.status,
            http_status=self.http_status,
            client=self.client,
            user_agent=self.user_agent,
            requested_model=self.requested_model,
            route=self.route,
            provider=self.provider,
            upstream_model=self.upstream_model,
            error=self.error,
            stream=self.stream,
            ttfb_ms=self.ttfb_ms,
            latency_ms=self.elapsed_ms(),
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            tokens_cached=usage.tokens_cached,
            tokens_cache_write=usage.tokens_cache_write,
            attempts=self.attempts,
            cache=self.cache,
            variant=self.variant,
            attempt_log=orjson.dumps(self.attempt_log).decode() if self.attempt_log else None,
            request_body=self.request_body,
            response_body=self.response_body,
            app=self.app,
        )
