"""The state URLs in force (environment first, then the config) and how to show them safely."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from proxy.config.state import StateConfig

REDIS_ENV = "SWITCHBOARD_REDIS_URL"
DATABASE_ENV = "SWITCHBOARD_DATABASE_URL"


@dataclass(frozen=True)
class StateUrls:
    redis: str | None
    database: str | None

    @property
    def any(self) -> bool:
        return bool(self.redis or self.database)


def state_urls(config: StateConfig) -> StateUrls:
    """``SWITCHBOARD_REDIS_URL``/``SWITCHBOARD_DATABASE_URL`` when set (an empty value turns the
    engine off), else ``state.redis_url``/``state.database_url``."""
    redis = os.environ.get(REDIS_ENV)
    database = os.environ.get(DATABASE_ENV)
    return StateUrls(
        (redis if redis is not None else config.redis_url) or None,
        (database if database is not None else config.database_url) or None,
    )


def safe_url(url: str) -> str:
    """``url`` with its password (and any query, which may carry one) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    if parts.username:
        netloc = f"{parts.username}{':***' if parts.password else ''}@{netloc}"
    elif parts.password:
        netloc = f":***@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def scrub(text: str, url: str | None) -> str:
    """``text`` with the password of ``url`` (and the URL itself) masked, for errors and logs."""
    if not url:
        return text
    text = text.replace(url, safe_url(url))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "***")
    return text
