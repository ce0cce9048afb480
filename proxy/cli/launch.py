"""``switchboard launch claude|codex|aider|opencode|gemini [--model NAME] [-- ARGS]``: run a coding
tool with its environment pointed at the running gateway (base URL, an access key, the model),
writing nothing to the tool's own config files (as ``ollama launch`` and ``ccr code`` do).

The gateway must be running (``GET /health`` answers); otherwise it says so and how to start it.
The access key is ``SWITCHBOARD_ACCESS_KEY`` or the ``default`` key from the OS keychain
(``--key NAME`` for another). On POSIX the tool replaces this process (its exit code and signals
are its own).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from proxy.cli.conventions import gateway_url
from proxy.storage.access_keys import ACCESS_KEY_ENV, AccessKeyStore
from proxy.storage.keychain import KeychainStore
from proxy.support.paths import Home


@dataclass(frozen=True)
class Tool:
    command: str
    install: str
    env: Callable[[str, str, str | None], dict[str, str]]
    """(gateway URL, access key, model or None) -> the variables to set."""
    unset: tuple[str, ...] = ()
    """Variables removed so the tool does not prefer them."""
    model_args: Callable[[str], list[str]] | None = None
    """Command-line flags that pick the model (when the tool has no variable for it)."""


def _claude(url: str, key: str, model: str | None) -> dict[str, str]:
    env = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_AUTH_TOKEN": key}
    if model:
        env |= {"ANTHROPIC_MODEL": model, "ANTHROPIC_DEFAULT_HAIKU_MODEL": model, "ANTHROPIC_SMALL_FAST_MODEL": model}
    return env


def _codex(url: str, key: str, model: str | None) -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": key}


def _aider(url: str, key: str, model: str | None) -> dict[str, str]:
    env = {"OPENAI_API_BASE": f"{url}/v1", "OPENAI_API_KEY": key}
    if model:
        env["AIDER_MODEL"] = f"openai/{model}"  # litellm's prefix for an OpenAI-compatible server
    return env


def _opencode(url: str, key: str, model: str | None) -> dict[str, str]:
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "name": "Switchboard",
        "options": {"baseURL": f"{url}/v1", "apiKey": "{env:SWITCHBOARD_ACCESS_KEY}"},
        "models": {model: {"name": model}} if model else {},
    }
    config: dict[str, object] = {"$schema": "https://opencode.ai/config.json", "provider": {"switchboard": provider}}
    if model:
        config["model"] = f"switchboard/{model}"
    return {"OPENCODE_CONFIG_CONTENT": json.dumps(config), ACCESS_KEY_ENV: key}


def _gemini(url: str, key: str, model: str | None) -> dict[str, str]:
    env = {"GOOGLE_GEMINI_BASE_URL": url, "GEMINI_API_KEY": key}
    if model:
        env["GEMINI_MODEL"] = model
    return env


TOOLS: dict[str, Tool] = {
    "claude": Tool("claude", "npm install -g @anthropic-ai/claude-code", _claude, unset=("ANTHROPIC_API_KEY",)),
    "codex": Tool("codex", "npm install -g @openai/codex", _codex, model_args=lambda m: ["--model", m]),
    "aider": Tool("aider", "pipx install aider-chat", _aider),
    "opencode": Tool("opencode", "npm install -g opencode-ai", _opencode),
    "gemini": Tool("gemini", "npm install -g @google/gemini-cli", _gemini, unset=("GOOGLE_API_KEY",)),
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[..., None]) -> None:
    launch = sub.add_parser(
        "launch", help="run a coding tool pointed at the running gateway (writes none of its config)"
    )
    common(launch)
    launch.add_argument("tool", choices=sorted(TOOLS))
    launch.add_argument("--model", help="the model (a route or provider/model) the tool should ask for")
    launch.add_argument("--key", default="default", help="the access key to hand it (default: 'default')")
    launch.add_argument("--url", help="gateway base URL (default: from the config, SWITCHBOARD_HOST/PORT)")
    launch.set_defaults(tool_args=[])  # what follows `--` (split off by split_argv before parsing)


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """``launch TOOL ... -- ARGS``: the switchboard part and the tool's own arguments."""
    if "--" in argv and "launch" in argv[: argv.index("--")]:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def _running(url: str) -> str | None:
    """``None`` when a Switchboard answers at ``url``, else why not."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        return f"something else answers there (HTTP {exc.code})"
    except OSError as exc:
        return str(getattr(exc, "reason", exc))
    return None


def _access_key(home: Home, name: str) -> str | None:
    if value := os.environ.get(ACCESS_KEY_ENV):
        return value
    return AccessKeyStore(home.access_keys_index, KeychainStore()).reveal(name)


def run_launch(args: argparse.Namespace) -> int:
    tool = TOOLS[args.tool]
    url = (args.url or gateway_url(args.home, args.config)).rstrip("/")
    why = _running(url)
    if why is not None:
        print(
            f"switchboard: Switchboard is not running at {url} ({why}).\n"
            f"Start it first: `switchboard` (the tray app) or `switchboard serve` in another terminal, "
            f"then run `switchboard launch {args.tool}` again.",
            file=sys.stderr,
        )
        return 1
    key = _access_key(Home.resolve(args.home), args.key)
    if key is None:
        print(
            f"switchboard: no access key {args.key!r} to hand to {args.tool}: set {ACCESS_KEY_ENV}, or make one "
            "with `switchboard access-key new NAME` and pass --key NAME",
            file=sys.stderr,
        )
        return 1
    executable = shutil.which(tool.command)
    if executable is None:
        print(f"switchboard: {tool.command} is not on PATH; install it with `{tool.install}`", file=sys.stderr)
        return 1
    extra = list(args.tool_args)
    if args.model and tool.model_args is not None:
        extra = [*tool.model_args(args.model), *extra]
    env = {k: v for k, v in os.environ.items() if k not in tool.unset}
    env.update(tool.env(url, key, args.model))
    print(f"switchboard: launching {tool.command} through {url}", file=sys.stderr, flush=True)
    if os.name == "posix":
        os.execve(executable, [tool.command, *extra], env)
    return subprocess.call([executable, *extra], env=env)
