"""Team mode: state shared by several replicas, on Redis (hot: limits, breakers, cache) and
PostgreSQL (durable: the request log, access keys, config versions). Off unless
``state.redis_url`` / ``state.database_url`` (or ``SWITCHBOARD_REDIS_URL`` /
``SWITCHBOARD_DATABASE_URL``) are set; then :class:`proxy.state.team.TeamState` is what the engine
starts. Needs the ``team`` extra (``pip install .[team]``: redis with hiredis, asyncpg).

Layer: between the engine and routing (it implements routing's ``LimitStore``/``HealthStore`` and
the cache's ``CacheStore`` over the shared engines)."""
