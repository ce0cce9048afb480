"""Every tool people point at Switchboard: its ready setup (a snippet), and for the tools that read a
config file, the keys Switchboard owns there (see :mod:`proxy.connect.files` for Apply/Restore).

File paths are parameters (``home``, ``env``), so tests use temporary directories.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from proxy.connect.docs import Format, Owned, OwnedEntries, Ownership, render

CheckKind = Literal["messages", "chat", "responses"]
KEY_PLACEHOLDER = "<your access key>"

CLAUDE_CODE_MODELS = (
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-3-5-haiku-20241022",
    "claude-haiku-4-5-20251001",
)
"""Model names Claude Code really sends: its main model (sonnet/opus) and its background
(small, fast) model (haiku). Routes for it match by family prefix."""
CLAUDE_CODE_FAMILIES = ("claude-opus-*", "claude-sonnet-*", "claude-*haiku*")


@dataclass(frozen=True)
class Connection:
    """What every setup needs: where Switchboard listens, the key, the model names."""

    base_url: str
    """``http://127.0.0.1:PORT`` (no ``/v1``)."""
    access_key: str
    """``""`` when none can be shown (then snippets say :data:`KEY_PLACEHOLDER` and Apply refuses)."""
    models: tuple[str, ...]
    """Route names a tool can ask for, the user's default model first."""
    default_model: str | None = None
    """The user's default model (the config's ``default_route`` or the wizard's choice)."""

    @property
    def openai_base(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def model(self) -> str:
        if self.default_model:
            return self.default_model
        return self.models[0] if self.models else "demo"

    @property
    def key(self) -> str:
        return self.access_key or KEY_PLACEHOLDER

    @property
    def all_models(self) -> tuple[str, ...]:
        """The default model first, then the other route names."""
        return (self.model, *(m for m in self.models if m != self.model))


@dataclass(frozen=True)
class ToolSetup:
    id: str
    name: str
    instructions: str
    snippet: str
    language: str
    """For display: ``bash``, ``python``, ``toml``, ``yaml``, ``json`` or ``text``."""
    check: CheckKind = "chat"
    """The request shape this tool sends (what "Check" sends through the gateway)."""
    check_models: tuple[str, ...] = ()
    """The model names this tool asks for (what "Check" sends)."""
    config_path: Path | None = None
    fmt: Format | None = None
    owned: tuple[Ownership, ...] = field(default=(), repr=False)

    @property
    def can_apply(self) -> bool:
        return self.config_path is not None and self.fmt is not None and bool(self.owned)


def _claude_env(conn: Connection) -> dict[str, str]:
    return {
        "ANTHROPIC_BASE_URL": conn.base_url,
        "ANTHROPIC_AUTH_TOKEN": conn.key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def _file_tool(
    id: str, name: str, instructions: str, fmt: Format, path: Path, owned: list[Ownership], **kw: object
) -> ToolSetup:
    snippet = render(fmt, "", owned, id)
    return ToolSetup(id, name, instructions, snippet, fmt, config_path=path, fmt=fmt, owned=tuple(owned), **kw)  # type: ignore[arg-type]


def config_home(home: Path, environ: Mapping[str, str]) -> Path:
    return Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else home / ".config"


def setups(conn: Connection, home: Path | None = None, env: Mapping[str, str] | None = None) -> list[ToolSetup]:
    """Every tool's setup, filled in. ``home``/``env`` say where config files live (tests pass
    temporary ones)."""
    home = home or Path.home()
    environ: Mapping[str, str] = os.environ if env is None else env
    codex_home = Path(environ["CODEX_HOME"]) if environ.get("CODEX_HOME") else home / ".codex"
    key, base, v1, model = conn.key, conn.base_url, conn.openai_base, conn.model
    q = shlex.quote
    claude = _claude_env(conn)
    return [
        ToolSetup(
            "curl",
            "curl",
            "Send one request from a terminal.",
            f"curl -s {v1}/chat/completions \\\n  -H {q('Authorization: Bearer ' + key)} \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {q(json.dumps({'model': model, 'messages': [{'role': 'user', 'content': 'Hello!'}]}))}",
            "bash",
            check_models=(model,),
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
            check_models=(model,),
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
            check="messages",
            check_models=(model,),
        ),
        ToolSetup(
            "claude-code",
            "Claude Code",
            "Apply sets these variables in ~/.claude/settings.json (only these; the rest of the file is kept), and "
            f"offers a route that sends Claude Code's model names (opus, sonnet, haiku) to {model}. Or set them "
            "in your shell.",
            "\n".join(f"export {k}={q(v)}" for k, v in claude.items()),
            "bash",
            check="messages",
            check_models=CLAUDE_CODE_MODELS[::2],
            config_path=home / ".claude" / "settings.json",
            fmt="json",
            owned=tuple(Owned(("env", k), v) for k, v in claude.items()),
        ),
        _file_tool(
            "codex",
            "Codex CLI",
            "Apply sets these keys in ~/.codex/config.toml (only these; your comments and other settings stay).",
            "toml",
            codex_home / "config.toml",
            [
                Owned(("model",), model),
                Owned(("model_provider",), "switchboard"),
                Owned(
                    ("model_providers", "switchboard"),
                    {
                        "name": "Switchboard",
                        "base_url": v1,
                        "wire_api": "responses",
                        "experimental_bearer_token": key,
                    },
                ),
            ],
            check="responses",
            check_models=(model,),
        ),
        ToolSetup(
            "cursor",
            "Cursor",
            "Cursor is set up in its window: Settings → Models → OpenAI API Key: paste the key and turn on "
            "'Override OpenAI Base URL' with the URL below; then add the model names.",
            f"Base URL: {v1}\nAPI key:  {key}\nModels:   {', '.join(conn.all_models)}",
            "text",
            check_models=(model,),
        ),
        _file_tool(
            "continue",
            "Continue",
            "Apply adds these models to ~/.continue/config.yaml (your own models and comments stay).",
            "yaml",
            home / ".continue" / "config.yaml",
            [
                Owned(("name",), "Local config", only_if_missing=True),
                Owned(("version",), "1.0.0", only_if_missing=True),
                Owned(("schema",), "v1", only_if_missing=True),
                OwnedEntries(
                    ("models",),
                    tuple(
                        {
                            "name": f"{m} (Switchboard)",
                            "provider": "openai",
                            "model": m,
                            "apiBase": v1,
                            "apiKey": key,
                        }
                        for m in conn.all_models
                    ),
                ),
            ],
            check_models=(model,),
        ),
        _file_tool(
            "aider",
            "aider",
            "Apply sets these keys in ~/.aider.conf.yml (only these; your comments and other settings stay).",
            "yaml",
            home / ".aider.conf.yml",
            [
                Owned(("openai-api-base",), v1),
                Owned(("openai-api-key",), key),
                Owned(("model",), f"openai/{model}"),
            ],
            check_models=(model,),
        ),
        _file_tool(
            "opencode",
            "opencode",
            "Apply adds a Switchboard provider to ~/.config/opencode/opencode.json and makes it the model.",
            "json",
            config_home(home, environ) / "opencode" / "opencode.json",
            [
                Owned(("$schema",), "https://opencode.ai/config.json", only_if_missing=True),
                Owned(
                    ("provider", "switchboard"),
                    {
                        "npm": "@ai-sdk/openai-compatible",
                        "name": "Switchboard",
                        "options": {"baseURL": v1, "apiKey": key},
                        "models": {m: {"name": m} for m in conn.all_models},
                    },
                ),
                Owned(("model",), f"switchboard/{model}"),
            ],
            check_models=(model,),
        ),
        ToolSetup(
            "generic",
            "Any OpenAI-compatible app",
            "Wherever the app asks for an OpenAI base URL and key:",
            f"Base URL: {v1}\nAPI key:  {key}\nModel:    {model}",
            "text",
            check_models=(model,),
        ),
    ]
