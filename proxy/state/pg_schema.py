"""The PostgreSQL schema of team mode, in numbered migrations.

:func:`migrate` runs them once, safely when several replicas start together: every replica takes
the same transaction-scoped advisory lock first, so one applies what is missing and the others
then find nothing to do. ``MIGRATIONS[n]`` takes version n to n+1.
"""

from __future__ import annotations

import asyncpg

LOCK_ID = 0x5B15_0015
"""The advisory lock of schema migrations (one number for every Switchboard)."""

MIGRATIONS: list[str] = [
    # 1: the request log (the columns of RequestRecord, plus the replica that wrote the row) and
    # the replicas' heartbeats.
    """
    CREATE TABLE requests (
        id text PRIMARY KEY,
        started_at double precision NOT NULL,
        surface text NOT NULL,
        status text NOT NULL,
        http_status integer NOT NULL,
        client text, user_agent text, requested_model text, route text, provider text,
        upstream_model text, error text, stream boolean,
        ttfb_ms double precision, latency_ms double precision,
        tokens_in bigint, tokens_out bigint, tokens_cached bigint, tokens_cache_write bigint,
        cost double precision, attempts integer, cache text, variant text, cost_saved double precision,
        attempt_log text, request_body text, response_body text,
        owner text NOT NULL,
        logged_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX requests_started_at ON requests (started_at);
    CREATE INDEX requests_in_progress ON requests (owner) WHERE status = 'in_progress';
    CREATE TABLE replicas (
        owner text PRIMARY KEY,
        name text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat timestamptz NOT NULL DEFAULT now()
    );
    """,
    # 2: access keys (hashes only) and config versions, each change announced with NOTIFY.
    """
    CREATE TABLE access_keys (
        name text PRIMARY KEY,
        hash text NOT NULL,
        created_at double precision NOT NULL,
        revoked_at double precision
    );
    CREATE TABLE config_versions (
        number serial PRIMARY KEY,
        created_at double precision NOT NULL,
        author text NOT NULL,
        summary text,
        sha256 text NOT NULL,
        text text NOT NULL
    );
    """,
    # 3: the calling app as it names itself (OpenRouter's X-Title / HTTP-Referer)
    "ALTER TABLE requests ADD COLUMN app text;",
]


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the missing migrations; returns how many this call applied."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS switchboard_migrations "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = await conn.fetchval("SELECT coalesce(max(version), 0) FROM switchboard_migrations")
        for number in range(done, len(MIGRATIONS)):
            await conn.execute(MIGRATIONS[number])
            await conn.execute("INSERT INTO switchboard_migrations (version) VALUES ($1)", number + 1)
        return len(MIGRATIONS) - int(done)
