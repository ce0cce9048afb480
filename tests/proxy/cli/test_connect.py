"""``switchboard connect``: over real files in a temporary HOME, and end to end: after ``--apply``
for Claude Code, a Claude Code-shaped Messages request with its own model name is answered by a
running ``switchboard serve``."""

from __future__ import annotations

import json
import socket
import time

import anthropic

from tests.helpers import ACCESS_KEY
from tests.proxy.cli.test_main import Server, cli

AIDER = "# mine\ndark-mode: true  # keep\nmodel: gpt-4o\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(tmp_path, port: int = 4242, default_route: str | None = None):
    home = tmp_path / "user"
    home.mkdir()
    config = {
        "server": {"port": port},
        "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
        "routes": [
            {"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]},
            {"name": "mine", "targets": [{"provider": "demo", "model": "echo"}]},
        ],
    }
    if default_route:
        config["default_route"] = default_route
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {"HOME": str(home), "SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, "XDG_CONFIG_HOME": str(home / ".config")}
    args = ["--home", str(tmp_path / "sb"), "--config", str(path)]
    return home, path, env, args


def test_print_diff_apply_restore_over_a_real_file(tmp_path):
    home, _, env, args = setup(tmp_path, default_route="mine")
    aider = home / ".aider.conf.yml"
    aider.write_text(AIDER)

    printed = cli("connect", "aider", "--print", *args, env=env)
    assert printed.returncode == 0, printed.stderr
    assert "openai-api-base: http://127.0.0.1:4242/v1" in printed.stdout and "model: openai/mine" in printed.stdout
    assert ACCESS_KEY not in printed.stdout  # masked unless --show-key
    assert ACCESS_KEY in cli("connect", "aider", "--show-key", *args, env=env).stdout

    diff = cli("connect", "aider", "--diff", *args, env=env)
    assert diff.returncode == 0 and "-model: gpt-4o" in diff.stdout and "+model: openai/mine" in diff.stdout
    assert aider.read_text() == AIDER  # --diff writes nothing

    applied = cli("connect", "aider", "--apply", *args, env=env)
    assert applied.returncode == 0, applied.stderr
    assert "+model: openai/mine" in applied.stdout and "Wrote" in applied.stdout  # --apply prints the diff
    text = aider.read_text()
    assert text.startswith("# mine\ndark-mode: true  # keep\n") and f"openai-api-key: {ACCESS_KEY}" in text
    assert ACCESS_KEY not in applied.stdout + applied.stderr
    again = cli("connect", "aider", "--apply", *args, env=env)
    assert "up to date" in again.stdout

    restored = cli("connect", "aider", "--restore", *args, env=env)
    assert restored.returncode == 0, restored.stderr
    assert aider.read_bytes() == AIDER.encode()
    assert "nothing to restore" in cli("connect", "aider", "--restore", *args, env=env).stderr


def test_unknown_tool_and_no_key_are_clear(tmp_path):
    _, _, env, args = setup(tmp_path)
    unknown = cli("connect", "notepad", *args, env=env)
    assert unknown.returncode == 2 and "claude-code" in unknown.stderr
    env["SWITCHBOARD_ACCESS_KEY"] = ""
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"  # no keychain either
    nokey = cli("connect", "codex", "--apply", *args, env=env)
    assert nokey.returncode == 1 and "access-key new" in nokey.stderr


def test_apply_for_claude_code_makes_its_model_names_answer(tmp_path):
    port = free_port()
    home, config_path, env, args = setup(tmp_path, port=port)
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{\n  "theme": "dark",\n  "env": {"EDITOR": "vim"}\n}\n')
    server = Server(["serve", *args], env=env)
    try:
        assert server.url == f"http://127.0.0.1:{port}", server.first_line
        applied = cli("connect", "claude-code", "--apply", *args, env=env)
        assert applied.returncode == 0, applied.stderr
        assert "Added the route 'claude-*' → demo" in applied.stdout
        routes = json.loads(config_path.read_text())["routes"]
        assert routes[-1]["name"] == "claude-*" and routes[-1]["targets"] == [{"provider": "demo", "model": "echo"}]
        written = json.loads(settings.read_text())
        assert written["theme"] == "dark" and written["env"]["EDITOR"] == "vim"
        # Claude Code reads these two from its settings and sends its own model names
        client = anthropic.Anthropic(
            base_url=written["env"]["ANTHROPIC_BASE_URL"], auth_token=written["env"]["ANTHROPIC_AUTH_TOKEN"]
        )
        deadline = time.monotonic() + 10  # the running gateway takes the new config version from the file
        while True:
            try:
                reply = client.messages.create(
                    model="claude-sonnet-4-5-20250929",
                    max_tokens=64,
                    system=[{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."}],
                    messages=[{"role": "user", "content": "hello from claude code"}],
                )
                break
            except anthropic.NotFoundError:
                assert time.monotonic() < deadline, "the claude-* route never took effect"
                time.sleep(0.2)
        assert "hello from claude code" in reply.content[0].text
        check = cli("connect", "claude-code", "--check", *args, env=env)
        assert check.returncode == 0 and "✓ Claude Code works" in check.stdout, check.stdout + check.stderr
        assert "already" in cli("connect", "claude-code", "--apply", *args, env=env).stdout
    finally:
        code, out, err = server.stop()
    assert ACCESS_KEY not in out + err
