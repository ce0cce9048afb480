"""Command-line conventions: ``--version``, ``switchboard completion bash|zsh|fish``,
``switchboard models``, ``SWITCHBOARD_HOST``/``SWITCHBOARD_PORT`` and where the running gateway is.

Output rule for ``--json``: a command that prints a list (``logs``, ``stats``, ``models``,
``config history``, ``access-key list``, ``keys list``) prints one JSON object per line (JSON
Lines; nothing for an empty list); a command that prints one thing (``status``) prints one JSON
document. Without ``--json`` an empty list says so on stderr ("no access keys yet").

Completion scripts are generated from the argparse parser itself (every command, subcommand,
option and fixed choice), so they never drift from the commands. shtab was considered: it has no
fish output, and the parser walk is a few dozen lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from proxy.config.schema import GatewayConfig, RouteConfig, default_config
from proxy.config.store import ConfigStore
from proxy.domain.errors import ConfigError
from proxy.support.paths import Home, resolve_config_path

HOST_ENV = "SWITCHBOARD_HOST"
PORT_ENV = "SWITCHBOARD_PORT"
SHELLS = ("bash", "zsh", "fish")


def version() -> str:
    """The installed package's version (one source: the package metadata)."""
    try:
        return metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def env_host() -> str | None:
    return os.environ.get(HOST_ENV) or None


def env_port() -> int | None:
    """``SWITCHBOARD_PORT``, or ``None``; a value that is not a port is an error (SystemExit 2)."""
    raw = os.environ.get(PORT_ENV)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 65535:
        print(f"switchboard: {PORT_ENV}={raw!r} is not a port number (0-65535)", file=sys.stderr)
        raise SystemExit(2)
    return int(raw)


def config_in_use(home_dir: Path | None, config_path: Path | None) -> tuple[ConfigStore, GatewayConfig | None]:
    """The config store the gateway would use, and its config (``None`` when there is no file:
    the gateway then runs the built-in default). Raises ConfigError for an invalid file."""
    store = ConfigStore(resolve_config_path(Home.resolve(home_dir), config_path))
    return store, store.load() if store.exists() else None


def gateway_url(home_dir: Path | None, config_path: Path | None) -> str:
    """Where a gateway started with these settings listens (``SWITCHBOARD_HOST``/``_PORT`` first)."""
    try:
        _, config = config_in_use(home_dir, config_path)
    except ConfigError:
        config = None
    server = (config or GatewayConfig()).server
    host = env_host() or server.host
    port = env_port()
    port = server.port if port is None else port
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


# -- switchboard models ----------------------------------------------------------------------------


def _targets(route: RouteConfig) -> list[str]:
    return [f"{t.provider}/{t.model}" for t in route.all_targets]


def model_rows(config: GatewayConfig) -> list[dict[str, object]]:
    """Every name a client can ask for, and where it goes (in the order names are resolved)."""
    rows: list[dict[str, object]] = []
    for r in config.routes:
        if r.enabled and not r.is_pattern:
            rows.append({"name": r.name, "kind": "route", "strategy": r.strategy, "targets": _targets(r)})
    for p in config.providers:
        if p.enabled:
            rows.append({"name": f"{p.id}/MODEL", "kind": "provider", "provider": p.id, "models": list(p.models)})
    for r in config.routes:
        if r.enabled and r.is_pattern:
            rows.append({"name": r.name, "kind": "pattern", "strategy": r.strategy, "targets": _targets(r)})
    if config.default_route:
        rows.append({"name": "*", "kind": "default", "route": config.default_route})
    return rows


def _describe(row: dict[str, object]) -> str:
    kind = row["kind"]
    if kind in ("route", "pattern"):
        targets = row["targets"]
        assert isinstance(targets, list)
        joiner = ", then " if row["strategy"] == "fallback" else ", "
        where = joiner.join(targets) + ("" if row["strategy"] == "fallback" else f"  ({row['strategy']})")
        return where if kind == "route" else f"{where}  (any matching name)"
    if kind == "provider":
        models = row["models"]
        assert isinstance(models, list)
        listed = f"; listed: {', '.join(models)}" if models else ""
        return f"provider {row['provider']}, that model as it names it{listed}"
    return f"route {row['route']} (any other name)"


def run_models(args: argparse.Namespace) -> int:
    try:
        _, config = config_in_use(args.home, args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    rows = model_rows(config or default_config())
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print("no model names yet: add a provider or a route (see `switchboard config path`)", file=sys.stderr)
        return 0
    width = max(len(str(r["name"])) for r in rows) + 2
    for row in rows:
        print(f"{str(row['name']):{width}}{_describe(row)}")
    return 0


# -- switchboard completion ------------------------------------------------------------------------


@dataclass
class _Node:
    words: list[str] = field(default_factory=list)
    children: dict[str, _Node] = field(default_factory=dict)


def _walk(parser: argparse.ArgumentParser) -> _Node:
    node = _Node()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                node.children[name] = _walk(sub)
                node.words.append(name)
        elif action.option_strings:
            if action.help != argparse.SUPPRESS:
                node.words.extend(o for o in action.option_strings if o.startswith("--"))
        elif action.choices:
            node.words.extend(str(c) for c in action.choices)
    return node


def _paths(node: _Node, prefix: str) -> list[tuple[str, list[str]]]:
    out = [(prefix, node.words)]
    for name, child in node.children.items():
        out += _paths(child, f"{prefix} {name}")
    return out


def _bash(table: list[tuple[str, list[str]]]) -> str:
    entries = "\n".join(f'  ["{path}"]="{" ".join(words)}"' for path, words in table)
    return f"""# switchboard completion for bash: source <(switchboard completion bash)
_switchboard() {{
  local -A table=(
{entries}
  )
  local path=switchboard i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${{COMP_WORDS[i]}}
    [[ $w == -* ]] && continue
    [[ -n ${{table["$path $w"]+x}} ]] && path="$path $w"
  done
  local cur=${{COMP_WORDS[COMP_CWORD]}} offer=""
  for w in ${{table[$path]}}; do  # options only once a dash is typed
    if [[ $cur == -* ]]; then [[ $w == -* ]] && offer+=" $w"; else [[ $w != -* ]] && offer+=" $w"; fi
  done
  COMPREPLY=($(compgen -W "$offer" -- "$cur"))
}}
complete -o default -F _switchboard switchboard
"""


def _zsh(table: list[tuple[str, list[str]]]) -> str:
    entries = "\n".join(f"    {json.dumps(path)} {json.dumps(' '.join(words))}" for path, words in table)
    return f"""#compdef switchboard
# switchboard completion for zsh: switchboard completion zsh > "${{fpath[1]}}/_switchboard"
_switchboard() {{
  local -A table
  table=(
{entries}
  )
  local path_=switchboard w
  for w in ${{words[2,CURRENT-1]}}; do
    [[ $w == -* ]] && continue
    (( ${{+table[$path_ $w]}} )) && path_="$path_ $w"
  done
  compadd -- ${{=table[$path_]}}
}}
compdef _switchboard switchboard
"""


def _fish(node: _Node) -> str:
    lines = ["# switchboard completion for fish: switchboard completion fish | source", "complete -c switchboard -f"]

    def visit(n: _Node, chain: list[str]) -> None:
        names = " ".join(n.children)
        if not chain:
            cond = "__fish_use_subcommand"
        else:
            cond = " ; and ".join(f"__fish_seen_subcommand_from {c}" for c in chain)
            if names:
                cond += f" ; and not __fish_seen_subcommand_from {names}"
        options = [w[2:] for w in n.words if w.startswith("--")]
        plain = [w for w in n.words if not w.startswith("-")]
        if plain:
            lines.append(f"complete -c switchboard -n '{cond}' -a '{' '.join(plain)}'")
        for option in options:
            lines.append(f"complete -c switchboard -n '{cond}' -l {option}")
        for name, child in n.children.items():
            visit(child, [*chain, name])

    visit(node, [])
    return "\n".join(lines) + "\n"


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    root = _walk(parser)
    if shell == "fish":
        return _fish(root)
    table = _paths(root, "switchboard")
    return _bash(table) if shell == "bash" else _zsh(table)


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[[argparse.ArgumentParser], None]
) -> None:
    completion = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    completion.add_argument("shell", choices=SHELLS)
    models = sub.add_parser("models", help="every model name a tool can ask for, and where it goes")
    common(models)
    models.add_argument("--json", action="store_true", help="one JSON object per line")


def run_completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    print(completion_script(parser, args.shell), end="")
    return 0
