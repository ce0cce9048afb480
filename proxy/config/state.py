"""Team mode's settings (the config's ``state`` section): where replicas share their state.

The engines themselves are in ``proxy/state/``; this is only what the config file says.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_password(url: str | None, env: str) -> str | None:
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.password:
        raise ValueError(f"a password does not belong in the config file; set the whole URL in {env} instead")
    return url


class StateConfig(_Model):
    """Team mode: replicas share limits, breakers and the cache in Redis, and one request log,
    the access keys and the config versions in PostgreSQL. Unset (the default): all state stays
    in this process and its SQLite files. ``SWITCHBOARD_REDIS_URL`` / ``SWITCHBOARD_DATABASE_URL``
    override these (and may carry a password; the config file may not)."""

    redis_url: str | None = Field(
        default=None, description="Redis 7 or Valkey, e.g. redis://10.0.0.5:6379/0 (no password here)."
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL 15+, e.g. postgresql://switchboard@10.0.0.6/switchboard (no password)."
    )
    on_redis_down: Literal["fail_open", "fail_closed"] = Field(
        default="fail_open",
        description="Redis unreachable: 'fail_open' enforces limits per replica and serves; 'fail_closed' "
        "refuses requests that have limits (503) until Redis is back.",
    )
    key_prefix: str = Field(
        default="switchboard", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Prefix of every Redis key."
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("expected a redis:// or rediss:// URL (for Valkey too)")
        return _no_password(v, "SWITCHBOARD_REDIS_URL")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("postgres", "postgresql"):
            raise ValueError("expected a postgresql:// URL")
        return _no_password(v, "SWITCHBOARD_DATABASE_URL")
