"""Domain records shared across the gateway: one proxied request and its outcome."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# Terminal statuses of a request, as stored in the log.
OK = "ok"
UPSTREAM_ERROR = "upstream_error"
REJECTED = "rejected"
CLIENT_CANCELLED = "client_cancelled"
TIMEOUT = "timeout"
CUT = "cut"
"""A stream failed after content had reached the client; it ended with an in-band error."""
ERROR = "error"
IN_PROGRESS = "in_progress"
"""Not a terminal status: the row a long request gets while it runs (replaced when it ends)."""
INTERRUPTED = "interrupted"
"""The gateway stopped (crash, kill, power loss) while the request was running."""
STATUSES = (OK, UPSTREAM_ERROR, REJECTED, CLIENT_CANCELLED, TIMEOUT, CUT, ERROR, IN_PROGRESS, INTERRUPTED)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as reported by the upstream (None when it did not say)."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_cached: int | None = None
    tokens_cache_write: int | None = None
    """Input tokens written to the provider's prompt cache (Anthropic bills them above plain input)."""

    @classmethod
    def from_openai(cls, usage: object) -> Usage | None:
        if not isinstance(usage, dict):
            return None
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        written = details.get("cache_creation_tokens") if isinstance(details, dict) else None
        return cls(
            _int_or_none(usage.get("prompt_tokens")),
            _int_or_none(usage.get("completion_tokens")),
            _int_or_none(cached),
            _int_or_none(written),
        )


def _int_or_none(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One row of the request log: a request, whatever its outcome."""

    id: str
    started_at: float
    """Unix time (seconds) when the request arrived."""
    surface: str
    """Which API the client spoke: ``chat``, ``embeddings``, ``models``..."""
    status: str
    """Terminal status, one of :data:`STATUSES`."""
    http_status: int
    client: str | None = None
    """Name of the local access key used (``None`` when auth is off or it was missing)."""
    user_agent: str | None = None
    requested_model: str | None = None
    route: str | None = None
    provider: str | None = None
    upstream_model: str | None = None
    error: str | None = None
    stream: bool = False
    ttfb_ms: float | None = None
    latency_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_cached: int | None = None
    tokens_cache_write: int | None = None
    """Of ``tokens_in``, those written to the provider's prompt cache (priced at its cache-write rate)."""
    cost: float | None = None
    """US dollars from genai-prices; ``None`` when the model's price is unknown (never 0 by default)."""
    attempts: int = 0
    cache: str | None = None
    """``hit``, ``miss`` or ``bypass`` when the route caches; ``None`` otherwise."""
    variant: str | None = None
    """The A/B variant that served the request, on routes with a split."""
    cost_saved: float | None = None
    """On a cache hit: what the answer cost when it was first made (the hit itself costs 0)."""
    attempt_log: str | None = None
    """JSON list, one entry per attempt: target, HTTP status (0 = no response), error, milliseconds."""
    request_body: str | None = None
    response_body: str | None = None
    app: str | None = None
    """The calling app as it names itself: OpenRouter's ``X-Title``, else the host of its
    ``HTTP-Referer`` (``None`` when it says nothing)."""

    def replace(self, **changes: object) -> RequestRecord:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]  # field names and types are the caller's

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(RequestRecord))
