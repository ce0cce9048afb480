"""Property: for any settings a user has in a tool's file, Apply keeps every one of them that
Switchboard does not own, and Restore gives back the very bytes."""

from __future__ import annotations

import io
import json
import tempfile
import tomllib
from pathlib import Path

import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from proxy.connect import Connection, ConnectState, apply, restore, setups

CONN = Connection("http://127.0.0.1:4242", "sb-local-roundtrip-0123456789abcdef", ("fast",))
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in ("model", "env", "name"))
scalars = st.one_of(st.booleans(), st.integers(-1000, 1000), st.text("abc xyz-_.", max_size=12))
user = st.dictionaries(names, st.one_of(scalars, st.dictionaries(names, scalars, max_size=3)), max_size=6)


def dump(fmt: str, data: dict) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "toml":
        return tomlkit.dumps(data)
    out = io.StringIO()
    YAML().dump(data, out)
    return out.getvalue() if data else ""


def load(fmt: str, text: str) -> dict:
    if fmt == "json":
        return json.loads(text)
    if fmt == "toml":
        return tomllib.loads(text)
    return YAML(typ="safe").load(text) or {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=user, tool_id=st.sampled_from(["claude-code", "codex", "aider", "opencode"]))
def test_apply_keeps_the_users_settings_and_restore_gives_back_the_bytes(data, tool_id):
    with tempfile.TemporaryDirectory() as tmp:
        tool = {t.id: t for t in setups(CONN, home=Path(tmp), env={})}[tool_id]
        assert tool.fmt is not None and tool.config_path is not None
        original = dump(tool.fmt, data)
        tool.config_path.parent.mkdir(parents=True, exist_ok=True)
        tool.config_path.write_text(original)
        state = ConnectState(Path(tmp) / "connect.json")
        apply(tool, CONN, state)
        after = load(tool.fmt, tool.config_path.read_text())
        owned = {o.path[0] for o in tool.owned}
        assert {k: v for k, v in after.items() if k not in owned} == {k: v for k, v in data.items() if k not in owned}
        restore(tool, state)
        assert tool.config_path.read_bytes() == original.encode()
