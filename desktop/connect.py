"""Connect a tool: ready setup for each tool people point at Switchboard, and for the tools that
read a config file, Apply (write it, with a backup) and Restore (put the original back).

No Qt here: the "Connect a tool" page shows :func:`setups` and calls :meth:`ToolSetup.apply` /
:meth:`ToolSetup.restore` on a worker thread (they touch the disk). File paths are parameters, so
tests use temporary directories.

Apply merges instead of overwriting where the format allows it without a new dependency: Claude
Code's ``settings.json`` gets its ``env`` entries set and keeps everything else. For TOML (Codex)
and YAML (Continue, aider), Switchboard owns a delimited block (``# >>> switchboard >>>`` ...
``# <<< switchboard <<<``) and refuses, saying why, when the rest of the file already sets the
same keys. The original file is copied once to ``<file>.switchboard-backup`` before the first
change; Restore puts it back (or removes the file if there was none) and deletes the backup.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BEGIN = "# >>> switchboard >>>"
END = "# <<< switchboard <<<"
BACKUP_SUFFIX = ".switchboard-backup"
NO_FILE_MARK = b"switchboard: there was no file here\n"
"""Backup content meaning "the file did not exist": Restore removes the file."""


class ConnectError(Exception):
    """Apply or Restore could not be done; the message says why, for people."""


@dataclass(frozen=True)
class Connection:
    """What every setup needs: where Switchboard listens, the key, the model names."""

    base_url: str
    """``http://127.0.0.1:PORT`` (no ``/v1``)."""
    access_key: str
    models: tuple[str, ...]

    @property
    def openai_base(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def model(self) -> str:
        return self.models[0] if self.models else "demo"


@dataclass
class ToolSetup:
    id: str
    name: str
    instructions: str
    snippet: str
    language: str
    """For display: ``bash``, ``python``, ``toml``, ``yaml``, ``json`` or ``text``."""
    config_path: Path | None = None
    _apply: Callable[[Path], None] | None = field(default=None, repr=False)

    @property
    def can_apply(self) -> bool:
        return self.config_path is not None and self._apply is not None

    @property
    def backup_path(self) -> Path | None:
        return self.config_path.with_name(self.config_path.name + BACKUP_SUFFIX) if self.config_path else None

    def is_applied(self) -> bool:
        backup = self.backup_path
        return backup is not None and backup.exists()

    def apply(self) -> None:
        """Write the tool's config (blocking: call from a worker thread)."""
        if not self.can_apply:
            raise ConnectError(f"{self.name} has no config file Switchboard can write; follow the steps shown.")
        assert self.config_path is not None and self._apply is not None and self.backup_path is not None
        if not self.backup_path.exists():
            original = self.config_path.read_bytes() if self.config_path.exists() else NO_FILE_MARK
            self.config_path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.backup_path, original)
        self._apply(self.config_path)

    def restore(self) -> None:
        """Put the file back as it was before the first Apply (blocking: call from a worker thread)."""
        backup = self.backup_path
        if backup is None or self.config_path is None or not backup.exists():
            raise ConnectError(f"There is nothing to restore for {self.name}.")
        original = backup.read_bytes()
        if original == NO_FILE_MARK:
            self.config_path.unlink(missing_ok=True)
        else:
            _atomic_write(self.config_path, original)
        backup.unlink()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".switchboard-tmp")
    tmp.write_bytes(data)
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


def _replace_block(text: str, block: str, conflicts: list[str], what: str) -> str:
    """``text`` with Switchboard's delimited block set to ``block`` (added at the end the first time).
    Raises ConnectError when the rest of the file already sets one of ``conflicts``."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)
    outside = pattern.sub("", text)
    for key in conflicts:
        if re.search(rf"(?m)^\s*{re.escape(key)}\s*[:=]", outside):
            raise ConnectError(
                f"{what} already sets {key!r} outside Switchboard's section; remove that line (or use the snippet "
                "by hand) and try again."
            )
    section = f"{BEGIN}\n{block.rstrip()}\n{END}\n"
    if pattern.search(text):
        return pattern.sub(section, text, count=1)
    return (text.rstrip("\n") + "\n\n" if text.strip() else "") + section


def _apply_claude(conn: Connection) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except json.JSONDecodeError as exc:
            raise ConnectError(f"{path} is not valid JSON ({exc}); fix it or use the snippet by hand.") from None
        if not isinstance(data, dict) or not isinstance(data.get("env", {}), dict):
            raise ConnectError(f"{path} does not look like Claude Code settings; use the snippet by hand.")
        data.setdefault("env", {}).update(_claude_env(conn))
        _atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())

    return apply


def _claude_env(conn: Connection) -> dict[str, str]:
    return {
        "ANTHROPIC_BASE_URL": conn.base_url,
        "ANTHROPIC_AUTH_TOKEN": conn.access_key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def _codex_top(conn: Connection) -> str:
    return f'model = "{conn.model}"\nmodel_provider = "switchboard"\n'


def _codex_table(conn: Connection) -> str:
    return (
        "[model_providers.switchboard]\n"
        'name = "Switchboard"\n'
        f'base_url = "{conn.openai_base}"\n'
        'env_key = "SWITCHBOARD_API_KEY"\n'
        'wire_api = "responses"\n'
    )


def _codex_block(conn: Connection) -> str:
    return _codex_top(conn) + "\n" + _codex_table(conn)


TABLE_BEGIN = "# >>> switchboard provider >>>"
TABLE_END = "# <<< switchboard provider <<<"


def _apply_codex(conn: Connection) -> Callable[[Path], None]:
    """TOML: top-level keys must come before any table, so Switchboard keeps two delimited
    sections, its top-level keys first in the file and its provider table last."""

    def apply(path: Path) -> None:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        rest = text
        for begin, end in ((BEGIN, END), (TABLE_BEGIN, TABLE_END)):
            rest = re.sub(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", "", rest, flags=re.S)
        head = rest.split("\n[", 1)[0] if not rest.startswith("[") else ""
        for key in ("model", "model_provider"):
            if re.search(rf"(?m)^\s*{key}\s*=", head):
                raise ConnectError(
                    f"{path} already sets {key!r}; remove that line (or use the snippet by hand) and try again."
                )
        if "[model_providers.switchboard]" in rest:
            raise ConnectError(f"{path} already has a [model_providers.switchboard] table; remove it and try again.")
        top = f"{BEGIN}\n{_codex_top(conn).rstrip()}\n{END}\n"
        bottom = f"{TABLE_BEGIN}\n{_codex_table(conn).rstrip()}\n{TABLE_END}\n"
        middle = rest.strip("\n")
        _atomic_write(path, (top + ("\n" + middle + "\n" if middle else "") + "\n" + bottom).encode())

    return apply


def _continue_block(conn: Connection) -> str:
    lines = ["models:"]
    for model in conn.models or ("demo",):
        lines += [
            f"  - name: {model} (Switchboard)",
            "    provider: openai",
            f"    model: {model}",
            f"    apiBase: {conn.openai_base}",
            f"    apiKey: {conn.access_key}",
        ]
    return "\n".join(lines)


def _apply_yaml(conn: Connection, block: Callable[[Connection], str], keys: list[str]) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        _atomic_write(path, _replace_block(text, block(conn), keys, str(path)).encode())

    return apply


def _aider_block(conn: Connection) -> str:
    return f"openai-api-base: {conn.openai_base}\nopenai-api-key: {conn.access_key}\nmodel: openai/{conn.model}"


def setups(conn: Connection, home: Path | None = None, env: Mapping[str, str] | None = None) -> list[ToolSetup]:
    """Every tool's setup, filled in. ``home``/``env`` say where config files live (tests pass
    temporary ones)."""
    home = home or Path.home()
    environ: Mapping[str, str] = os.environ if env is None else env
    codex_home = Path(environ["CODEX_HOME"]) if environ.get("CODEX_HOME") else home / ".codex"
    key, base, v1, model = conn.access_key, conn.base_url, conn.openai_base, conn.model
    q = shlex.quote
    return [
        ToolSetup(
            "curl",
            "curl",
            "Send one request from a terminal.",
            f"curl -s {v1}/chat/completions \\\n  -H {q('Authorization: Bearer ' + key)} \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {q(json.dumps({'model': model, 'messages': [{'role': 'user', 'content': 'Hello!'}]}))}",
            "bash",
        ),
        ToolSetup(
            "openai-python",
            "Python (openai SDK)",
            "pip install openai, then:",
            "from openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{v1}", api_key="{key}")\n'
            f'reply = client.chat.completions.create(model="{model}", '
            'messages=[{"role": "user", "content": "Hello!"}])\n'
            "print(reply.choices[0].message.content)",
            "python",
        ),
        ToolSetup(
            "anthropic-python",
            "Python (anthropic SDK)",
            "pip install anthropic, then (any route name works as the model):",
            "import anthropic\n\n"
            f'client = anthropic.Anthropic(base_url="{base}", api_key="{key}")\n'
            f'message = client.messages.create(model="{model}", max_tokens=1024, '
            'messages=[{"role": "user", "content": "Hello!"}])\n'
            "print(message.content[0].text)",
            "python",
        ),
        ToolSetup(
            "claude-code",
            "Claude Code",
            "Apply writes these variables into ~/.claude/settings.json (the rest of the file is kept). Or set them "
            "in your shell. Make a route (or a glob such as claude-*) take Claude Code's model names.",
            "\n".join(f"export {k}={q(v)}" for k, v in _claude_env(conn).items()),
            "bash",
            home / ".claude" / "settings.json",
            _apply_claude(conn),
        ),
        ToolSetup(
            "codex",
            "Codex CLI",
            "Apply adds this to ~/.codex/config.toml; then run codex with SWITCHBOARD_API_KEY set to your key.",
            _codex_block(conn) + f"\n# in your shell:\n# export SWITCHBOARD_API_KEY={key}",
            "toml",
            codex_home / "config.toml",
            _apply_codex(conn),
        ),
        ToolSetup(
            "cursor",
            "Cursor",
            "Cursor is set up in its window: Settings → Models → OpenAI API Key: paste the key and turn on "
            "'Override OpenAI Base URL' with the URL below; then add the model names.",
            f"Base URL: {v1}\nAPI key:  {key}\nModels:   {', '.join(conn.models) or model}",
            "text",
        ),
        ToolSetup(
            "continue",
            "Continue",
            "Apply adds these models to ~/.continue/config.yaml.",
            _continue_block(conn),
            "yaml",
            home / ".continue" / "config.yaml",
            _apply_yaml(conn, _continue_block, ["models"]),
        ),
        ToolSetup(
            "aider",
            "aider",
            "Apply writes these settings to ~/.aider.conf.yml.",
            _aider_block(conn),
            "yaml",
            home / ".aider.conf.yml",
            _apply_yaml(conn, _aider_block, ["openai-api-base", "openai-api-key", "model"]),
        ),
        ToolSetup(
            "generic",
            "Any OpenAI-compatible app",
            "Wherever the app asks for an OpenAI base URL and key:",
            f"Base URL: {v1}\nAPI key:  {key}\nModel:    {model}",
            "text",
        ),
    ]
