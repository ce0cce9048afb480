"""Connect a tool: the snippets carry the real endpoint, key and models; Apply writes each tool's
config without losing the user's own settings, and Restore puts the original back exactly."""

from __future__ import annotations

import json
import subprocess
import tomllib

import pytest

from desktop.connect import ConnectError, Connection, setups

CONN = Connection("http://127.0.0.1:4242", "sb-local-connect-key-0123456789abcdef", ("fast", "claude-*"))


def by_id(tmp_path):
    return {s.id: s for s in setups(CONN, home=tmp_path, env={})}


def test_every_tool_is_there_with_the_real_endpoint_key_and_model(tmp_path):
    tools = by_id(tmp_path)
    assert list(tools) == [
        "curl", "openai-python", "anthropic-python", "claude-code", "codex", "cursor", "continue", "aider", "generic",
    ]  # fmt: skip
    for tool in tools.values():
        assert "127.0.0.1:4242" in tool.snippet and CONN.access_key in tool.snippet, tool.id
    assert "http://127.0.0.1:4242/v1" in tools["openai-python"].snippet
    assert 'base_url="http://127.0.0.1:4242"' in tools["anthropic-python"].snippet  # no /v1 for Anthropic SDKs
    assert {t.id for t in tools.values() if t.can_apply} == {"claude-code", "codex", "continue", "aider"}


def test_the_curl_snippet_really_works_as_shell(tmp_path):
    snippet = by_id(tmp_path)["curl"].snippet
    out = subprocess.run(["bash", "-n", "-c", snippet], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_claude_code_settings_are_merged_and_restored_exactly(tmp_path):
    tool = by_id(tmp_path)["claude-code"]
    path = tool.config_path
    path.parent.mkdir(parents=True)
    original = '{\n  "theme": "dark",\n  "env": {"EDITOR": "vim"}\n}\n'
    path.write_text(original)
    tool.apply()
    data = json.loads(path.read_text())
    assert data["theme"] == "dark" and data["env"]["EDITOR"] == "vim"
    assert data["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4242"
    assert data["env"]["ANTHROPIC_AUTH_TOKEN"] == CONN.access_key
    tool.apply()  # twice is fine; the backup keeps the very first original
    assert tool.is_applied()
    tool.restore()
    assert path.read_text() == original and not tool.is_applied()


def test_codex_config_gets_a_provider_and_stays_valid_toml(tmp_path):
    tool = by_id(tmp_path)["codex"]
    path = tool.config_path
    path.parent.mkdir(parents=True)
    original = 'approval_policy = "on-request"\n\n[mcp_servers.docs]\ncommand = "docs-server"\n'
    path.write_text(original)
    tool.apply()
    data = tomllib.loads(path.read_text())
    assert data["model_provider"] == "switchboard" and data["model"] == "fast"
    assert data["model_providers"]["switchboard"]["base_url"] == "http://127.0.0.1:4242/v1"
    assert data["model_providers"]["switchboard"]["wire_api"] == "responses"
    assert data["approval_policy"] == "on-request" and data["mcp_servers"]["docs"]["command"] == "docs-server"
    tool.apply()
    assert tomllib.loads(path.read_text())["model_provider"] == "switchboard"
    tool.restore()
    assert path.read_text() == original


def test_codex_refuses_to_fight_the_users_own_model_setting(tmp_path):
    tool = by_id(tmp_path)["codex"]
    tool.config_path.parent.mkdir(parents=True)
    tool.config_path.write_text('model = "o3"\n')
    with pytest.raises(ConnectError, match="already sets 'model'"):
        tool.apply()
    tool.restore()  # the backup made before the refusal restores the file as it was
    assert tool.config_path.read_text() == 'model = "o3"\n'


@pytest.mark.parametrize("tool_id", ["continue", "aider"])
def test_yaml_tools_get_a_delimited_block_and_restore_removes_a_new_file(tmp_path, tool_id):
    tool = by_id(tmp_path)[tool_id]
    assert not tool.config_path.exists()
    tool.apply()
    text = tool.config_path.read_text()
    assert text.startswith("# >>> switchboard >>>") and CONN.access_key in text
    tool.restore()
    assert not tool.config_path.exists() and not tool.is_applied()


def test_aider_keeps_other_settings_and_refuses_conflicts(tmp_path):
    tool = by_id(tmp_path)["aider"]
    tool.config_path.write_text("dark-mode: true\n")
    tool.apply()
    assert tool.config_path.read_text().startswith("dark-mode: true\n")
    tool.restore()
    tool.config_path.write_text("model: gpt-4o\n")
    with pytest.raises(ConnectError, match="already sets 'model'"):
        tool.apply()


def test_tools_without_a_file_cannot_apply(tmp_path):
    with pytest.raises(ConnectError):
        by_id(tmp_path)["cursor"].apply()
    with pytest.raises(ConnectError):
        by_id(tmp_path)["cursor"].restore()
