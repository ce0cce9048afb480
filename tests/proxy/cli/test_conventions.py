"""CLI conventions: --version, completion scripts, `models`, --json, `config check|edit|schema
--write`, `$schema`, SWITCHBOARD_PORT/HOST and empty lists that say so (the three log exports
agreeing: tests/desktop/test_log_exports_agree.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from proxy.cli.main import main
from tests.helpers import ACCESS_KEY

CONFIG = {
    "$schema": "./config.schema.json",
    "providers": [{"id": "demo", "preset": "demo", "models": ["echo"]}],
    "routes": [
        {"name": "fast", "targets": [{"provider": "demo", "model": "echo"}, {"provider": "demo", "model": "echo2"}]},
        {"name": "claude-*", "targets": [{"provider": "demo", "model": "echo"}]},
    ],
    "default_route": "fast",
}


def cli(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "proxy.cli", *args], capture_output=True, text=True, timeout=60, env=environ, **kw
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def write_config(home: Path, config: dict) -> Path:
    (home / "config").mkdir(exist_ok=True)
    path = home / "config" / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def test_version_comes_from_the_package_metadata(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"switchboard {metadata.version('switchboard')}"


def test_bash_completion_completes_commands_subcommands_and_choices(tmp_path: Path) -> None:
    script = tmp_path / "c.bash"
    script.write_text(cli("completion", "bash").stdout)
    probe = f"""source {script}
complete -p switchboard
COMP_WORDS=(switchboard co); COMP_CWORD=1; _switchboard; echo "1: ${{COMPREPLY[*]}}"
COMP_WORDS=(switchboard -v config c); COMP_CWORD=3; _switchboard; echo "2: ${{COMPREPLY[*]}}"
COMP_WORDS=(switchboard completion ""); COMP_CWORD=2; _switchboard; echo "3: ${{COMPREPLY[*]}}"
COMP_WORDS=(switchboard serve --p); COMP_CWORD=2; _switchboard; echo "4: ${{COMPREPLY[*]}}"
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=10).stdout
    assert "complete -o default -F _switchboard switchboard" in out
    assert "1: config completion" in out
    assert "2: check" in out
    assert "3: bash zsh fish" in out
    assert "4: --port" in out


ZSH_PROBE = """compdef(){}; compadd(){ print -r -- "$@" }; source %s
words=(switchboard -v config ""); CURRENT=4; _switchboard"""
FISH_PROBE = "source %s; complete -C 'switchboard -v config c'; complete -C 'switchboard completion '"


@pytest.mark.parametrize(
    ("shell", "mark", "probe", "expected"),
    [
        ("zsh", "compdef _switchboard switchboard", ZSH_PROBE, "schema check path edit history"),
        ("fish", "complete -c", FISH_PROBE, "check\nbash\nfish\nzsh"),
    ],
)
def test_zsh_and_fish_scripts(shell: str, mark: str, probe: str, expected: str, tmp_path: Path) -> None:
    result = cli("completion", shell)
    assert result.returncode == 0 and mark in result.stdout and "config" in result.stdout
    if shutil.which(shell) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{shell} is missing: .ci/setup --test installs it")
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"c.{shell}"
    script.write_text(result.stdout)
    assert subprocess.run([shell, "-n", str(script)], capture_output=True, timeout=10).returncode == 0
    out = subprocess.run([shell, "-c", probe % script], capture_output=True, text=True, timeout=10).stdout
    assert expected in out


def test_models_lists_every_name_and_where_it_goes(home: Path) -> None:
    write_config(home, CONFIG)
    out = cli("models", "--home", str(home)).stdout.splitlines()
    assert out[0].split() == ["fast", "demo/echo,", "then", "demo/echo2"]
    assert out[1].startswith("demo/MODEL") and "listed: echo" in out[1]
    assert out[2].startswith("claude-*") and "any matching name" in out[2]
    assert out[3].split()[:3] == ["*", "route", "fast"]
    rows = [json.loads(line) for line in cli("models", "--json", "--home", str(home)).stdout.splitlines()]
    assert [r["kind"] for r in rows] == ["route", "provider", "pattern", "default"]


def test_empty_lists_say_so_and_json_lists_are_json_lines(home: Path) -> None:
    env = {"SWITCHBOARD_ACCESS_KEY": ""}
    listed = cli("access-key", "list", "--home", str(home), env=env)
    assert listed.stdout == "" and "no access keys yet" in listed.stderr
    assert cli("access-key", "list", "--json", "--home", str(home), env=env).stdout == ""
    assert "no saved config versions yet" in cli("config", "history", "--home", str(home)).stderr
    write_config(home, CONFIG)
    keys = cli("keys", "list", "--json", "--home", str(home)).stdout.splitlines()
    assert [json.loads(k)["provider"] for k in keys] == ["demo"]


def test_config_check_without_a_path_checks_the_config_in_use(home: Path) -> None:
    assert "no config file" in cli("config", "check", "--home", str(home)).stdout
    path = write_config(home, CONFIG)
    assert cli("config", "check", "--home", str(home)).stdout.strip() == f"{path}: OK (1 providers, 2 routes)"
    write_config(home, {"providers": [{"id": "x", "preset": "custom"}]})
    bad = cli("config", "check", "--home", str(home))
    assert bad.returncode == 1 and "providers[0]" in bad.stderr and "base_url" in bad.stderr


def test_config_edit_saves_a_valid_edit_as_a_version_and_refuses_an_invalid_one(home: Path, tmp_path: Path) -> None:
    path = write_config(home, CONFIG)
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import json, sys, os\n"
        "p = sys.argv[1]; c = json.load(open(p))\n"
        "c['routes'][0]['name'] = c['default_route'] = os.environ['NEW_NAME']\n"
        "json.dump(c, open(p, 'w'))\n"
    )
    env = {"EDITOR": f"{sys.executable} {editor}", "NEW_NAME": "quick"}
    done = cli("config", "edit", "--home", str(home), env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and "Config version 1" in done.stdout
    saved = json.loads(path.read_text())
    assert saved["routes"][0]["name"] == "quick" and saved["$schema"] == "./config.schema.json"
    refused = cli("config", "edit", "--home", str(home), env={**env, "NEW_NAME": "has space"}, stdin=subprocess.DEVNULL)
    assert refused.returncode == 1 and "routes[0].name" in refused.stderr and "nothing saved" in refused.stderr
    assert json.loads(path.read_text())["routes"][0]["name"] == "quick"
    assert "EDITOR" in cli("config", "edit", "--home", str(home), env={"EDITOR": "", "VISUAL": ""}).stderr


def test_schema_key_is_accepted_and_schema_write_puts_the_schema_where_it_points(home: Path) -> None:
    write_config(home, CONFIG)
    done = cli("config", "schema", "--write", "--home", str(home))
    assert done.returncode == 0
    written = json.loads((home / "config" / "config.schema.json").read_text())
    assert written["title"] == "Switchboard gateway config" and "$schema" in written["properties"]
    other = home / "elsewhere.json"
    assert cli("config", "schema", "--write", str(other), "--home", str(home)).returncode == 0 and other.exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_switchboard_port_and_host_choose_where_serve_listens(home: Path) -> None:
    port = free_port()
    env = {**os.environ, "SWITCHBOARD_PORT": str(port), "SWITCHBOARD_HOST": "127.0.0.1"}
    env["SWITCHBOARD_ACCESS_KEY"] = ACCESS_KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxy.cli", "serve", "--no-discover", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"Switchboard listening on http://127.0.0.1:{port}"
        status_env = {"SWITCHBOARD_PORT": str(port)}
        status = cli("status", "--home", str(home), env={**status_env, "SWITCHBOARD_ACCESS_KEY": ACCESS_KEY})
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    bad = cli("serve", "--home", str(home), env={"SWITCHBOARD_PORT": "eighty"})
    assert bad.returncode == 2 and "SWITCHBOARD_PORT='eighty' is not a port number" in bad.stderr
