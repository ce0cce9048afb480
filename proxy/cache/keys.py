"""Cache keys: a hash of the normalized request.

What counts: the route (so every target of a route shares entries), the messages, tools and tool
choice, the response format and the sampling parameters. What does not: ``stream`` and
``stream_options`` (a streamed and a plain request share an entry), ``user`` and ``metadata``
(who asks does not change the answer), and key order (the JSON is canonicalised).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

IGNORED = frozenset({"model", "stream", "stream_options", "user", "metadata", "store", "service_tier"})


def cache_key(route: str, body: dict[str, Any]) -> str:
    normalized = {k: v for k, v in body.items() if k not in IGNORED}
    canonical = orjson.dumps({"route": route, "request": normalized}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()
