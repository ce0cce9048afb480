"""What the CLI does in team mode: ``access-key new/revoke/list`` on the team's table in
PostgreSQL (every replica hears of it by NOTIFY), ``logs`` from the shared log. The database URL
is ``SWITCHBOARD_DATABASE_URL``, else ``state.database_url`` of the config file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from proxy.config.schema import load_config
from proxy.config.state import StateConfig
from proxy.domain.errors import ConfigError
from proxy.domain.records import RequestRecord
from proxy.state.urls import safe_url, scrub, state_urls
from proxy.storage.access_keys import AccessKeyInfo


class TeamUnavailable(Exception):
    """The team database cannot be used (the message names the setting, never a password)."""


def database_url(config_path: Path | None) -> str | None:
    state = StateConfig()
    if config_path is not None and config_path.exists():
        try:
            state = load_config(config_path).state
        except ConfigError:
            pass
    return state_urls(state).database


def _run(url: str, work: Any) -> Any:
    async def go() -> Any:
        import asyncpg

        from proxy.state.pg_schema import migrate

        try:
            conn = await asyncio.wait_for(asyncpg.connect(url), 10)
        except Exception as exc:  # asyncpg raises many kinds; all mean "cannot use it"
            raise TeamUnavailable(
                f"cannot use state.database_url (SWITCHBOARD_DATABASE_URL) {safe_url(url)}: "
                + scrub(f"{type(exc).__name__}: {exc}", url)
            ) from None
        try:
            await migrate(conn)
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def publish_keys(url: str, infos: list[AccessKeyInfo]) -> None:
    from proxy.state.pg_team import upsert_keys

    _run(url, lambda conn: upsert_keys(conn, infos))


def revoke(url: str, name: str) -> bool:
    from proxy.state.pg_team import revoke_key

    return bool(_run(url, lambda conn: revoke_key(conn, name)))


def key_lines(url: str) -> list[str]:
    async def work(conn: Any) -> list[str]:
        rows = await conn.fetch("SELECT name, created_at, revoked_at FROM access_keys ORDER BY name")
        out = []
        for r in rows:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"]))
            state = (
                "revoked " + time.strftime("%Y-%m-%d %H:%M", time.localtime(r["revoked_at"]))
                if r["revoked_at"]
                else "active"
            )
            out.append(f"{r['name']:16}  created {when}  {state}")
        return out

    return list(_run(url, work))


def recent(url: str, limit: int) -> list[RequestRecord]:
    """The newest ``limit`` rows of the team's log, oldest first."""
    from proxy.state.pg_log import record_from_row

    async def work(conn: Any) -> list[RequestRecord]:
        rows = await conn.fetch("SELECT * FROM requests ORDER BY started_at DESC, id DESC LIMIT $1", limit)
        return [record_from_row(r) for r in reversed(rows)]

    return list(_run(url, work))


def totals(url: str, since: float, group_by: str) -> list[Any]:
    """``switchboard stats`` over the team's log (as ``proxy.storage.stats.totals``)."""
    from proxy.storage.stats import aggregate

    column = {"route": "route", "provider": "provider", "none": "''"}[group_by]

    async def work(conn: Any) -> list[Any]:
        rows = await conn.fetch(
            f"SELECT started_at, {column}, status, attempts, cache, tokens_in, tokens_out, cost, cost_saved, "
            "latency_ms FROM requests WHERE started_at >= $1 AND status != 'in_progress' ORDER BY started_at",
            since,
        )
        return sorted(aggregate([tuple(r) for r in rows], since, 10.0**12), key=lambda b: (-b.requests, b.group))

    return list(_run(url, work))


def history_lines(url: str) -> list[str]:
    """``switchboard config history`` of the team (every replica's saves and rollbacks)."""

    async def work(conn: Any) -> list[str]:
        rows = await conn.fetch("SELECT number, created_at, author, summary FROM config_versions ORDER BY number")
        return [
            f"{r['number']:>4}  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(r['created_at']))}  "
            f"{r['author']:10}  {r['summary'] or ''}"
            for r in rows
        ]

    return list(_run(url, work))
