"""Fixtures of the team-mode tests: the engines once per session, one cluster of three replicas
behind HAProxy once per module (PLATFORM.md T0-T3 for the recipes and traps)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.team.engines import HAProxy, Postgres, Redis, Replica, ThreadedUpstream, free_port, have_engines

pytest.importorskip("redis")
pytest.importorskip("asyncpg")
_WHY = have_engines()
if _WHY is not None:
    pytest.skip(_WHY, allow_module_level=True)

BUDGET_USD = 0.0003


def cluster_config(fake: str, fake2: str, lb_port: int = 0) -> dict[str, object]:
    target = [{"provider": "fake", "model": "gpt-4o-mini"}]
    return {
        "providers": [
            {"id": "fake", "preset": "openai", "base_url": fake, "key": {"env": "SB_TEAM_FAKE_KEY"}},
            {"id": "rl-a", "preset": "openai", "base_url": fake, "key": {"env": "SB_TEAM_FAKE_KEY"}},
            {"id": "rl-b", "preset": "openai", "base_url": fake2, "key": {"env": "SB_TEAM_FAKE_KEY"}},
        ],
        "routes": [
            {"name": "plain", "targets": target},
            {"name": "rpm", "targets": target, "limits": {"requests_per_minute": 60}},
            {"name": "budget", "targets": target, "limits": {"daily_usd": BUDGET_USD}},
            {"name": "cached", "targets": target, "cache": {"enabled": True}},
            {
                "name": "rl429",
                "targets": [{"provider": "rl-a", "model": "gpt-4o-mini"}, {"provider": "rl-b", "model": "gpt-4o-mini"}],
                "retries": {"max_retries": 0},
                "cooldown": {"on_rate_limit": True, "seconds": 30},
            },
            {
                "name": "busy",
                "targets": target,
                "limits": {"requests_per_minute": 1_000_000},
                "cache": {"enabled": True},
            },
        ],
        "server": {"require_auth": True, "allowed_hosts": [f"127.0.0.1:{lb_port}"]},
    }


@dataclass
class Cluster:
    redis: Redis
    pg: Postgres
    fake: ThreadedUpstream
    fake2: ThreadedUpstream
    replicas: list[Replica]
    haproxy: HAProxy

    @property
    def url(self) -> str:
        return self.haproxy.url

    def wait_routable(self, timeout: float = 10.0) -> None:
        """Until HAProxy routes (its checks: inter 500ms, rise 2), then long enough for every replica."""
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    break
            except OSError:  # HTTPError too: 503 until a replica is up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        time.sleep(1.2)


@pytest.fixture(scope="session")
def engines() -> Iterator[tuple[Redis, Postgres]]:
    redis, pg = Redis(), Postgres()
    try:
        redis.start()
        pg.start()
        yield redis, pg
    finally:
        redis.close()
        pg.close()


@pytest.fixture(scope="module")
def cluster(engines: tuple[Redis, Postgres]) -> Iterator[Cluster]:
    redis, pg = engines
    redis.flush()
    pg.fresh_database()
    fake, fake2 = ThreadedUpstream(record=True, chunks=3), ThreadedUpstream(record=True, chunks=3)
    root = Path(tempfile.mkdtemp(prefix="sb-team-"))
    config = root / "config.json"
    lb_port = free_port()
    config.write_text(json.dumps(cluster_config(fake.url, fake2.url, lb_port)))
    env = {
        "SWITCHBOARD_REDIS_URL": redis.url,
        "SWITCHBOARD_DATABASE_URL": pg.url,
        "SB_TEAM_FAKE_KEY": "sk-fake-upstream",
    }
    replicas = [Replica(root / f"r{i}", root / f"r{i}" / "config.json", env) for i in range(3)]
    haproxy: HAProxy | None = None
    try:
        for replica in replicas:  # each its own config file: the team's versions travel by PostgreSQL
            replica.home.mkdir()
            shutil.copy(config, replica.config)
            replica.start()
        haproxy = HAProxy(lb_port, [r.port for r in replicas])
        haproxy.start()
        c = Cluster(redis, pg, fake, fake2, replicas, haproxy)
        c.wait_routable()
        yield c
    finally:
        if haproxy is not None:
            haproxy.close()
        for replica in replicas:
            replica.stop()
        fake.close()
        fake2.close()
        shutil.rmtree(root, ignore_errors=True)
