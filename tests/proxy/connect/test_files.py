"""Connect never clobbers: realistic config files of each tool, with the user's own settings,
comments and key order; Apply changes only Switchboard's keys, Restore gives the file back byte
for byte, and a file changed since Apply is merged, never overwritten by an old snapshot."""

from __future__ import annotations

import json
import tomllib

import pytest
from ruamel.yaml import YAML

from proxy.connect import ConnectError, Connection, ConnectState, apply, is_applied, plan, restore, setups

KEY = "sb-local-connect-key-0123456789abcdef"
CONN = Connection("http://127.0.0.1:4242", KEY, ("fast", "smart"), default_model="smart")

CLAUDE = """{
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "model": "opus",
    "permissions": {
        "allow": ["Bash(npm run lint)", "Read(~/.zshrc)"],
        "deny": ["Read(./.env)"]
    },
    "env": {
        "EDITOR": "vim",
        "DISABLE_TELEMETRY": "1"
    },
    "hooks": {},
    "includeCoAuthoredBy": false
}
"""

CODEX = """# Codex settings: edited by hand, keep my comments
model = "o3"  # my usual model
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]

# profiles I switch between
[profiles.deep]
model = "o3"
model_reasoning_effort = "high"
"""

AIDER = """##########################################################
# Sample .aider.conf.yml
##########################################################
dark-mode: true   # easier on the eyes
model: gpt-4o
auto-commits: false
read:
  - CONVENTIONS.md
  - docs/style.md
"""

CONTINUE = """name: My assistant  # the name Continue shows
version: 0.0.1
schema: v1
models:
  - name: GPT-4o
    provider: openai
    model: gpt-4o
    apiKey: ${{ secrets.OPENAI_API_KEY }}
    roles:
      - chat
      - edit
context:
  - provider: code
  - provider: docs
"""

OPENCODE = """{
  "$schema": "https://opencode.ai/config.json",
  "theme": "tokyonight",
  "model": "anthropic/claude-sonnet-4-5",
  "autoupdate": false,
  "provider": {
    "ollama": {
      "npm": "@ai-sdk/openai-compatible",
      "options": {"baseURL": "http://localhost:11434/v1"},
      "models": {"llama3": {}}
    }
  }
}
"""

FILES = {"claude-code": CLAUDE, "codex": CODEX, "aider": AIDER, "continue": CONTINUE, "opencode": OPENCODE}


def tools(tmp_path, conn=CONN):
    return {t.id: t for t in setups(conn, home=tmp_path / "home", env={})}


@pytest.fixture
def state(tmp_path):
    return ConnectState(tmp_path / "data" / "connect.json")


def load(tool_id, text):
    if tool_id == "codex":
        return tomllib.loads(text)
    if tool_id in ("aider", "continue"):
        return YAML(typ="safe").load(text)
    return json.loads(text)


def write(tool, text):
    tool.config_path.parent.mkdir(parents=True, exist_ok=True)
    tool.config_path.write_text(text)


@pytest.mark.parametrize("tool_id", list(FILES))
def test_apply_changes_only_switchboards_keys_and_restore_is_byte_for_byte(tmp_path, state, tool_id):
    tool = tools(tmp_path)[tool_id]
    original = FILES[tool_id]
    write(tool, original)
    shown = plan(tool, CONN, state)
    assert shown.changes and not shown.changed_since and KEY not in shown.diff  # the key is masked in the diff
    assert f"+++ {tool.config_path} (after Apply)" in shown.diff
    apply(tool, CONN, state, expected=shown)
    after = tool.config_path.read_text()
    assert after == shown.after  # what the diff showed is what was written
    before, now = load(tool_id, original), load(tool_id, after)
    owned_tops = {o.path[0] for o in tool.owned}
    for key, value in before.items():  # every setting of the user's that Switchboard does not own is untouched
        if key not in owned_tops:
            assert now[key] == value, key
    assert [k for k in now if k in before] == [k for k in before if k in now]  # the user's key order is kept
    if tool_id in ("codex", "aider", "continue"):
        comments = [line.split("#", 1)[1] for line in original.splitlines() if "#" in line and "${{" not in line]
        assert all(c in after for c in comments)
    assert state.get(tool_id) is not None and is_applied(tool)
    assert not plan(tool, CONN, state).changes  # applying twice changes nothing
    restore(tool, state)
    assert tool.config_path.read_text() == original
    assert not is_applied(tool) and state.get(tool_id) is None


def test_what_each_tool_gets(tmp_path, state):
    by_id = tools(tmp_path)
    for tool_id, text in FILES.items():
        write(by_id[tool_id], text)
        apply(by_id[tool_id], CONN, state)
    read = {i: load(i, by_id[i].config_path.read_text()) for i in FILES}
    claude = read["claude-code"]
    assert claude["env"] == {
        "EDITOR": "vim",
        "DISABLE_TELEMETRY": "1",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:4242",
        "ANTHROPIC_AUTH_TOKEN": KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    assert by_id["claude-code"].config_path.read_text().startswith('{\n    "$schema"')  # its 4-space indent kept
    codex = read["codex"]
    assert codex["model"] == "smart" and codex["model_provider"] == "switchboard"  # the default model, not demo
    assert codex["model_providers"]["switchboard"]["base_url"] == "http://127.0.0.1:4242/v1"
    assert codex["model_providers"]["switchboard"]["wire_api"] == "responses"
    assert codex["profiles"]["deep"]["model"] == "o3" and codex["mcp_servers"]["docs"]["command"] == "npx"
    assert read["aider"]["model"] == "openai/smart" and read["aider"]["openai-api-base"] == "http://127.0.0.1:4242/v1"
    models = read["continue"]["models"]
    assert models[0]["name"] == "GPT-4o" and [m["model"] for m in models[1:]] == ["smart", "fast"]
    assert read["continue"]["name"] == "My assistant"  # a user's value of an only-if-missing key stays
    opencode = read["opencode"]
    assert opencode["model"] == "switchboard/smart" and "ollama" in opencode["provider"]
    assert opencode["provider"]["switchboard"]["options"]["baseURL"] == "http://127.0.0.1:4242/v1"


def test_a_file_changed_since_apply_is_merged_on_restore(tmp_path, state):
    tool = tools(tmp_path)["aider"]
    write(tool, AIDER)
    apply(tool, CONN, state)
    edited = tool.config_path.read_text().replace("auto-commits: false", "auto-commits: true  # changed my mind")
    tool.config_path.write_text(edited + "lint-cmd: ruff check\n")
    assert plan(tool, CONN, state).changed_since
    message = restore(tool, state)
    assert "your changes are kept" in message
    text = tool.config_path.read_text()
    assert "auto-commits: true  # changed my mind" in text and "lint-cmd: ruff check" in text  # the user's edits
    assert "model: gpt-4o" in text and "openai-api-base" not in text and KEY not in text  # Switchboard's are out
    assert "# easier on the eyes" in text


def test_apply_over_a_changed_file_keeps_the_edits_and_a_later_restore_does_not_undo_them(tmp_path, state):
    tool = tools(tmp_path)["codex"]
    write(tool, CODEX)
    apply(tool, CONN, state)
    tool.config_path.write_text(tool.config_path.read_text() + '\n[profiles.quick]\nmodel = "o4-mini"\n')
    moved = Connection("http://127.0.0.1:5151", KEY, ("fast", "smart"), default_model="smart")
    message = apply(tools(tmp_path, moved)[tool.id], moved, state)
    assert "your changes are kept" in message
    data = tomllib.loads(tool.config_path.read_text())
    assert data["profiles"]["quick"]["model"] == "o4-mini"
    assert data["model_providers"]["switchboard"]["base_url"] == "http://127.0.0.1:5151/v1"
    restore(tool, state)
    restored = tomllib.loads(tool.config_path.read_text())
    assert restored["profiles"]["quick"]["model"] == "o4-mini" and restored["model"] == "o3"
    assert "model_providers" not in restored and "model_provider" not in restored
    assert "# my usual model" in tool.config_path.read_text()


def test_no_file_before_means_no_file_after_restore(tmp_path, state):
    for tool in tools(tmp_path).values():
        if not tool.can_apply:
            continue
        assert not tool.config_path.exists()
        apply(tool, CONN, state)
        assert load(tool.id, tool.config_path.read_text())
        restore(tool, state)
        assert not tool.config_path.exists(), tool.id


def test_a_new_continue_file_is_a_valid_assistant(tmp_path, state):
    tool = tools(tmp_path)["continue"]
    apply(tool, CONN, state)
    data = load("continue", tool.config_path.read_text())
    assert data["schema"] == "v1" and data["name"] and data["version"]
    assert data["models"][0] == {
        "name": "smart (Switchboard)",
        "provider": "openai",
        "model": "smart",
        "apiBase": "http://127.0.0.1:4242/v1",
        "apiKey": KEY,
    }


def test_out_of_date_after_a_port_or_key_change(tmp_path, state):
    tool = tools(tmp_path)["claude-code"]
    apply(tool, CONN, state)
    entry = state.get(tool.id)
    assert entry is not None and entry.out_of_date(CONN) == []
    assert KEY not in state.path.read_text()  # only a fingerprint of the key is remembered
    moved = Connection("http://127.0.0.1:5151", KEY, CONN.models, CONN.default_model)
    assert "moved from http://127.0.0.1:4242 to http://127.0.0.1:5151" in entry.out_of_date(moved)[0]
    rekeyed = Connection(CONN.base_url, "sb-local-another-key-fedcba9876543210", CONN.models, CONN.default_model)
    assert entry.out_of_date(rekeyed) == ["the access key changed"]


def test_broken_files_and_missing_keys_are_refused_with_reasons(tmp_path, state):
    by_id = tools(tmp_path)
    write(by_id["claude-code"], '{"env": {"A": 1},')
    with pytest.raises(ConnectError, match="not valid JSON"):
        plan(by_id["claude-code"], CONN, state)
    assert by_id["claude-code"].config_path.read_text() == '{"env": {"A": 1},'
    with pytest.raises(ConnectError, match="Settings → New key"):
        nokey = Connection(CONN.base_url, "", CONN.models)
        apply(tools(tmp_path, nokey)["aider"], nokey, state)
    with pytest.raises(ConnectError, match="no config file"):
        apply(by_id["cursor"], CONN, state)
    with pytest.raises(ConnectError, match="nothing to restore"):
        restore(by_id["aider"], state)


def test_a_file_that_changed_while_the_diff_was_shown_is_not_written(tmp_path, state):
    tool = tools(tmp_path)["aider"]
    write(tool, AIDER)
    shown = plan(tool, CONN, state)
    tool.config_path.write_text(AIDER + "pretty: false\n")
    with pytest.raises(ConnectError, match="changed while the diff was shown"):
        apply(tool, CONN, state, expected=shown)
    assert tool.config_path.read_text() == AIDER + "pretty: false\n"


def test_a_file_applied_by_an_earlier_version_is_cleaned_up(tmp_path, state):
    """Earlier versions wrote a delimited section and kept a backup but no state: Restore takes the
    section out and keeps the rest; Apply replaces it by Switchboard's keys."""
    tool = tools(tmp_path)["aider"]
    old = (
        "dark-mode: true\n\n# >>> switchboard >>>\nopenai-api-base: http://127.0.0.1:4141/v1\n"
        "model: openai/demo\n# <<< switchboard <<<\n"
    )
    write(tool, old)
    tool.config_path.with_name(".aider.conf.yml.switchboard-backup").write_text("dark-mode: true\n")
    shown = plan(tool, CONN, state)
    assert shown.changed_since and ">>> switchboard" not in shown.after and "openai/smart" in shown.after
    restore(tool, state)
    assert tool.config_path.read_text() == "dark-mode: true\n"
