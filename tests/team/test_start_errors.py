"""A wrong state URL or password at start: a precise error naming the setting, exit 1, no
traceback, and the password nowhere in the output; a password in the config file is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from proxy.config.schema import parse_config
from proxy.domain.errors import ConfigError
from tests.helpers import DEMO_CONFIG
from tests.team.engines import PG_PASSWORD, REDIS_PASSWORD, Postgres, Redis, free_port

WRONG = "Wr0ng-pass-998877"


def serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(DEMO_CONFIG))
    environ = {**os.environ, "SWITCHBOARD_ACCESS_KEY": "sb-local-test-access-key-0123456789abcdef", **env}
    cmd = [sys.executable, "-m", "proxy.cli", "serve", "--home", str(tmp_path), "--config", str(config), "--port", "0"]
    return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("which", "setting"),
    [
        ("redis-password", "state.redis_url (SWITCHBOARD_REDIS_URL)"),
        ("redis-port", "state.redis_url (SWITCHBOARD_REDIS_URL)"),
        ("pg-password", "state.database_url (SWITCHBOARD_DATABASE_URL)"),
        ("pg-port", "state.database_url (SWITCHBOARD_DATABASE_URL)"),
    ],
)
def test_wrong_url_or_password_is_a_precise_error(
    tmp_path: Path, engines: tuple[Redis, Postgres], which: str, setting: str
) -> None:
    redis, pg = engines
    env = {"SWITCHBOARD_REDIS_URL": redis.url, "SWITCHBOARD_DATABASE_URL": pg.url}
    if which == "redis-password":
        env["SWITCHBOARD_REDIS_URL"] = redis.url.replace(REDIS_PASSWORD, WRONG)
    elif which == "redis-port":
        env["SWITCHBOARD_REDIS_URL"] = f"redis://:{WRONG}@127.0.0.1:{free_port()}/0"
    elif which == "pg-password":
        env["SWITCHBOARD_DATABASE_URL"] = pg.url.replace(PG_PASSWORD, WRONG)
    else:
        env["SWITCHBOARD_DATABASE_URL"] = f"postgresql://postgres:{WRONG}@127.0.0.1:{free_port()}/postgres"
    done = serve(tmp_path, env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"switchboard: cannot use {setting}" in done.stderr
    assert ":***@127.0.0.1" in done.stderr
    assert "Traceback" not in out
    for password in (WRONG, REDIS_PASSWORD, PG_PASSWORD):
        assert password not in out


def test_a_password_in_the_config_file_is_refused() -> None:
    config = {**DEMO_CONFIG, "state": {"redis_url": "redis://:hunter2-secret@10.0.0.5:6379/0"}}
    with pytest.raises(ConfigError) as caught:
        parse_config(json.dumps(config))
    text = str(caught.value)
    assert "set the whole URL in SWITCHBOARD_REDIS_URL" in text
    assert "hunter2-secret" not in text
    ok = parse_config(json.dumps({**DEMO_CONFIG, "state": {"database_url": "postgresql://sb@10.0.0.6/sb"}}))
    assert ok.state.database_url == "postgresql://sb@10.0.0.6/sb"
