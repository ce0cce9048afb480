"""Access keys and config versions across three replicas, through PostgreSQL LISTEN/NOTIFY: a key
revoked with the CLI on replica A is refused by all three within a second; a config edit and a
``config rollback`` on A are served by all three within a second."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers import ACCESS_KEY
from tests.team.conftest import Cluster

pytestmark = pytest.mark.timeout(120)


def cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    a = cluster.replicas[0]
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": cluster.pg.url}
    env.pop("SWITCHBOARD_ACCESS_KEY", None)
    cmd = [sys.executable, "-m", "proxy.cli", *args, "--home", str(a.home), "--config", str(a.config)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def status(url: str, key: str, path: str = "/v1/models") -> int:
    request = urllib.request.Request(f"{url}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def models(url: str) -> set[str]:
    request = urllib.request.Request(f"{url}/v1/models", headers={"Authorization": f"Bearer {ACCESS_KEY}"})
    with urllib.request.urlopen(request, timeout=5) as reply:
        return {m["id"] for m in json.loads(reply.read())["data"]}


def seconds_until(check, timeout: float = 5.0) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            return float("inf")
        time.sleep(0.02)
    return time.monotonic() - start


def test_access_key_revoked_on_a_is_refused_by_all_within_a_second(cluster: Cluster) -> None:
    created = cli(cluster, "access-key", "new", "teamkey")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    urls = [r.url for r in cluster.replicas]
    joined = seconds_until(lambda: all(status(u, key) == 200 for u in urls))
    listed = cli(cluster, "access-key", "list")
    assert "teamkey" in listed.stdout and "active" in listed.stdout
    revoked = cli(cluster, "access-key", "revoke", "teamkey")
    assert revoked.returncode == 0, revoked.stderr
    refused = seconds_until(lambda: all(status(u, key) == 401 for u in urls))
    print(f"\naccess key: usable on all 3 after {joined:.3f} s, refused by all 3 {refused:.3f} s after the revoke")
    assert joined < 1.0
    assert refused < 1.0
    assert all(status(u, ACCESS_KEY) == 200 for u in urls)  # the others still work
    assert "revoked" in cli(cluster, "access-key", "list").stdout


def test_config_edit_and_rollback_on_a_served_by_all_within_a_second(cluster: Cluster) -> None:
    a = cluster.replicas[0]
    urls = [r.url for r in cluster.replicas]
    config = json.loads(a.config.read_text())
    config["routes"].append({"name": "v2", "targets": [{"provider": "fake", "model": "gpt-4o-mini"}]})
    a.config.write_text(json.dumps(config, indent=2))
    edited = seconds_until(lambda: all("v2" in models(u) for u in urls))
    rollback = cli(cluster, "config", "rollback")
    assert rollback.returncode == 0, rollback.stderr
    rolled = seconds_until(lambda: all("v2" not in models(u) for u in urls))
    print(f"\nconfig: an edit on A served by all 3 after {edited:.3f} s, a rollback after {rolled:.3f} s")
    assert edited < 1.0
    assert rolled < 1.0
    versions = cluster.pg.query("SELECT number, author FROM config_versions ORDER BY number")
    assert len(versions) >= 3  # the first, the edit, the rollback


def test_cli_logs_stats_and_history_read_the_team(cluster: Cluster) -> None:
    """``logs``, ``stats`` and ``config history`` on A show what B and C served and saved."""
    for replica in cluster.replicas[1:]:
        request = urllib.request.Request(
            f"{replica.url}/v1/chat/completions",
            data=json.dumps({"model": "plain", "messages": [{"role": "user", "content": "cli"}]}).encode(),
            headers={"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
    time.sleep(0.6)  # the shippers' next batch
    logs = cli(cluster, "logs", "-n", "50", "--json")
    assert logs.returncode == 0, logs.stderr
    owners = {r["route"] for r in map(json.loads, logs.stdout.splitlines())}
    assert "plain" in owners
    stats = cli(cluster, "stats", "--json", "--by", "route")
    assert stats.returncode == 0, stats.stderr
    assert any(json.loads(line)["group"] == "plain" for line in stats.stdout.splitlines())
    history = cli(cluster, "config", "history")
    assert history.returncode == 0 and "initial" in history.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "proxy.cli", "logs", "--home", str(cluster.replicas[0].home)],
        env={**os.environ, "SWITCHBOARD_DATABASE_URL": cluster.pg.url.replace("s3cret", "nope")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 1 and "state.database_url (SWITCHBOARD_DATABASE_URL)" in wrong.stderr
    assert "nope" not in wrong.stderr and "Traceback" not in wrong.stderr
