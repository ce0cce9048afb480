"""The switchboard command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from tests.helpers import ACCESS_KEY

DEMO = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}


def cli(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


class Server:
    """``switchboard serve`` in the background; the listening line gives the URL."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, module: str = "proxy.cli") -> None:
        cmd = [sys.executable, "-m", module, *args]
        full_env = {**os.environ, "SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, **(env or {})}
        full_env.pop("DISPLAY", None)
        full_env.pop("WAYLAND_DISPLAY", None)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
        self.first_line = self.proc.stdout.readline().strip()

    @property
    def url(self) -> str:
        prefix = "Switchboard listening on "
        line = self.first_line.split(": running the gateway headless")[0]
        assert self.first_line.startswith(prefix) or "headless" in line, self.first_line + self.proc.stderr.read()
        return self.first_line.removeprefix(prefix)

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err


def write_config(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(data))
    return path


def test_serve_config_port_0_with_openai_sdk(tmp_path):
    server = Server(
        ["serve", "--home", str(tmp_path / "home"), "--config", str(write_config(tmp_path, DEMO)), "--port", "0"]
    )
    try:
        assert server.first_line.startswith("Switchboard listening on http://127.0.0.1:")
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=ACCESS_KEY, max_retries=0)
        reply = client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "cli"}])
        assert "cli" in reply.choices[0].message.content
        assert [m.id for m in client.models.list()] == ["demo", "demo/echo", "demo/embed"]
    finally:
        code, out, err = server.stop()
    assert code == 0, err
    assert ACCESS_KEY not in out + err

    logs = cli("logs", "--json", "--home", str(tmp_path / "home"))
    rows = [json.loads(line) for line in logs.stdout.splitlines()]
    assert [(r["surface"], r["status"]) for r in rows] == [("chat", "ok"), ("models", "ok")]
    table = cli("logs", "--home", str(tmp_path / "home")).stdout
    assert table.splitlines()[0].split()[:3] == ["time", "status", "code"] and "demo/echo" in table


def test_python_m_proxy_runs_headless(tmp_path):
    server = Server(
        ["--home", str(tmp_path), "--config", str(write_config(tmp_path, DEMO)), "--port", "0"], module="proxy"
    )
    try:
        assert server.first_line.startswith("Switchboard listening on http://127.0.0.1:")
    finally:
        assert server.stop()[0] == 0


def test_plain_switchboard_without_display_says_headless(tmp_path):
    server = Server(
        ["--home", str(tmp_path), "--config", str(write_config(tmp_path, DEMO)), "--port", "0"],
        module="desktop.launcher",
    )
    try:
        assert server.first_line == (
            "Switchboard: no display (DISPLAY/WAYLAND_DISPLAY unset); running the gateway headless (Ctrl+C to stop)."
        )
        assert server.proc.stdout.readline().startswith("Switchboard listening on http://127.0.0.1:")
    finally:
        assert server.stop()[0] == 0


def test_zero_config_default_serves_demo(tmp_path):
    server = Server(["serve", "--home", str(tmp_path), "--port", "0", "--no-discover"])
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=ACCESS_KEY, max_retries=0)
        assert client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}]).choices
    finally:
        assert server.stop()[0] == 0


def _env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


def _show(home: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy.cli", "access-key", *extra, "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_access_keys_live_in_the_keychain_and_only_hashes_on_disk(tmp_path, secret_service):
    env = _env_without("SWITCHBOARD_ACCESS_KEY")
    first = _show(tmp_path, env, "show")
    name, key = first.stdout.strip().split("\t")
    assert name == "default" and key.startswith("sb-local-") and len(key) > 40
    assert _show(tmp_path, env, "show").stdout == first.stdout, "shown again from the keychain"
    index = tmp_path / "data" / "access-keys.json"
    assert index.stat().st_mode & 0o077 == 0
    assert key not in "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())

    created = _show(tmp_path, env, "new", "laptop-script")
    laptop = created.stdout.strip()
    assert laptop.startswith("sb-local-") and "also kept in your OS keychain" in created.stderr
    listing = _show(tmp_path, env, "list").stdout
    assert "default" in listing and "laptop-script" in listing and laptop not in listing
    assert "Revoked" in _show(tmp_path, env, "revoke", "laptop-script").stdout
    assert "laptop-script" not in _show(tmp_path, env, "list").stdout
    assert _show(tmp_path, env, "revoke", "laptop-script").returncode == 1


def test_access_key_without_a_keychain_is_shown_once(tmp_path):
    env = _env_without("SWITCHBOARD_ACCESS_KEY", "DBUS_SESSION_BUS_ADDRESS")
    first = _show(tmp_path, env, "show")
    assert first.returncode == 0 and first.stdout.startswith("default\tsb-local-")
    again = _show(tmp_path, env, "show")
    assert again.returncode == 1 and "cannot be shown again" in again.stderr
    key = first.stdout.strip().split("\t")[1]
    assert key not in "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = cli(
            "serve",
            "--home",
            str(tmp_path),
            "--config",
            str(write_config(tmp_path, DEMO)),
            "--port",
            str(port),
            env={"SWITCHBOARD_ACCESS_KEY": ACCESS_KEY},
        )
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr


def test_broken_config_is_refused_with_the_path(tmp_path):
    path = write_config(tmp_path, {"server": {"port": "many"}})
    result = cli("serve", "--home", str(tmp_path), "--config", str(path))
    assert result.returncode == 2
    assert f"{path}: server.port: Input should be a valid integer" in result.stderr


def test_config_check_and_schema(tmp_path):
    good = write_config(tmp_path, DEMO)
    result = cli("config", "check", str(good))
    assert result.returncode == 0 and "OK (1 providers, 1 routes)" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"providers": [{"id": "o", "preset": "openai", "timeouts": {"connect": 0}}]}))
    result = cli("config", "check", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert f"{bad}: providers[0].timeouts.connect: Input should be greater than 0" in lines
    bad.write_text(json.dumps({"providers": [{"id": "o", "preset": "openai"}]}))
    result = cli("config", "check", str(bad))
    assert result.stderr.startswith(f"{bad}: providers[0]: preset 'openai' needs an API key"), result.stderr
    schema = json.loads(cli("config", "schema").stdout)
    assert schema["title"] == "Switchboard gateway config" and "providers" in schema["properties"]
    assert cli("config", "path", "--home", str(tmp_path)).stdout.strip() == str(tmp_path / "config" / "config.json")


@pytest.mark.parametrize("args", [["logs"], ["logs", "--json"]])
def test_logs_with_no_database(tmp_path, args):
    result = cli(*args, "--home", str(tmp_path))
    assert result.returncode == 0


def test_logs_follow_prints_new_requests(tmp_path):
    home = tmp_path / "home"
    server = Server(["serve", "--home", str(home), "--config", str(write_config(tmp_path, DEMO)), "--port", "0"])
    follower = subprocess.Popen(
        [sys.executable, "-m", "proxy.cli", "logs", "--follow", "--json", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=ACCESS_KEY, max_retries=0)
        client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "follow me"}])
        line = follower.stdout.readline()
        assert json.loads(line)["requested_model"] == "demo"
    finally:
        follower.send_signal(signal.SIGINT)
        follower.communicate(timeout=10)
        server.stop()


def test_config_rollback_is_served_without_a_restart(tmp_path):
    home = tmp_path / "home"
    config = home / "config" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps(DEMO))
    server = Server(["serve", "--home", str(home), "--port", "0"])
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=ACCESS_KEY, max_retries=0)
        renamed = {**DEMO, "routes": [{"name": "renamed", "targets": [{"provider": "demo", "model": "echo"}]}]}
        config.write_text(json.dumps(renamed))
        _eventually(
            lambda: client.chat.completions.create(model="renamed", messages=[{"role": "user", "content": "x"}])
        )
        history = cli("config", "history", "--home", str(home)).stdout.splitlines()
        assert [line.split()[3] for line in history] == ["initial", "file"]
        diff = cli("config", "diff", "1", "2", "--home", str(home)).stdout
        assert '-      "name": "demo",' in diff and '+      "name": "renamed",' in diff
        rolled = cli("config", "rollback", "--home", str(home))
        assert rolled.returncode == 0 and "rollback to version 1" in rolled.stdout
        _eventually(lambda: client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}]))
        assert "rollback to version 1" in cli("config", "history", "--home", str(home)).stdout
    finally:
        assert server.stop()[0] == 0


def _eventually(call, attempts: int = 40):
    import time

    for i in range(attempts):
        try:
            return call()
        except openai.APIStatusError:
            if i == attempts - 1:
                raise
            time.sleep(0.1)


def test_revoked_access_key_is_refused_by_a_running_gateway(tmp_path, secret_service):
    home = tmp_path / "home"
    env = _env_without("SWITCHBOARD_ACCESS_KEY")
    cfg = write_config(tmp_path, DEMO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxy.cli", "serve", "--home", str(home), "--config", str(cfg), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip().removeprefix("Switchboard listening on ")
        key = _show(home, env, "new", "tool").stdout.strip()
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
        _eventually(lambda: client.models.list())
        _show(home, env, "revoke", "tool")
        import time

        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                client.models.list()
                time.sleep(0.1)
            except openai.AuthenticationError:
                break
        else:
            raise AssertionError("revoked key still accepted after 3 s")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert "Created your local access key; see it with `switchboard access-key show`." in err


def test_selftest_passes_in_a_temporary_home_and_touches_nothing_else(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "SWITCHBOARD_HOME": str(tmp_path / "untouched"), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("SWITCHBOARD_ACCESS_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "desktop.launcher", "--selftest"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["chat"]["ok"] and report["stream"]["ok"] and report["log"]["rows"] == 2
    assert report["qt"]["ok"] and report["qt"]["platform"] == "offscreen"
    assert "backend" in report["keychain"]
    assert not (tmp_path / "untouched").exists(), "the selftest must not use the user's state"
