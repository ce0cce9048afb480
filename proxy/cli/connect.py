"""``switchboard connect TOOL --print|--diff|--apply|--restore|--check``: the Connect page from the
terminal.

The endpoint is the config's (``server.host``/``server.port``), the key the ``default`` access key
(the keychain, or ``SWITCHBOARD_ACCESS_KEY``), the model the config's default model. ``--apply``
prints the diff it writes; for Claude Code it also adds, when no route takes Claude Code's model
names, a ``claude-*`` route to the default model (``--route NAME`` picks another, ``--no-route``
skips it), saved as a config version. Keys are masked in what is printed unless ``--show-key``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from proxy.config.schema import GatewayConfig, default_config
from proxy.config.store import ConfigStore
from proxy.connect import (
    ConnectError,
    Connection,
    ConnectState,
    apply,
    check,
    claude_route_offer,
    default_model,
    plan,
    restore,
    setups,
)
from proxy.domain.errors import ConfigError
from proxy.storage.access_keys import ACCESS_KEY_ENV, AccessKeyStore
from proxy.storage.keychain import KeychainStore
from proxy.support.paths import Home, resolve_config_path
from proxy.support.redact import mask

ACTIONS = ("print", "diff", "apply", "restore", "check")


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[[argparse.ArgumentParser], None]
) -> None:
    names = ", ".join(t.id for t in setups(Connection("http://127.0.0.1:4141", "", ())))
    parser = sub.add_parser(
        "connect",
        help="set up a tool (Claude Code, Codex, aider, Continue, opencode ...) to use Switchboard",
        description=f"Tools: {names}.",
    )
    common(parser)
    parser.add_argument("tool", help="the tool's id (e.g. claude-code, codex, aider, continue, opencode)")
    group = parser.add_mutually_exclusive_group()
    for action, text in (
        ("print", "print the setup (the default)"),
        ("diff", "show what --apply would change in the tool's config file"),
        ("apply", "write Switchboard's keys into the tool's config file (only those), printing the diff"),
        ("restore", "give the tool's config file back as it was"),
        ("check", "send the tool's own request shape through the running gateway"),
    ):
        group.add_argument(f"--{action}", dest="action", action="store_const", const=action, help=text)
    parser.add_argument("--show-key", action="store_true", help="print the access key instead of masking it")
    parser.add_argument("--route", help="Claude Code: the route its model names go to (default: the default model)")
    parser.add_argument("--no-route", action="store_true", help="Claude Code: do not add a route for its names")


def _access_key(home: Home) -> str:
    value = os.environ.get(ACCESS_KEY_ENV)
    if value:
        return value
    try:
        return AccessKeyStore(home.access_keys_index, KeychainStore()).reveal("default") or ""
    except Exception:  # no keychain: say what is missing, below
        return ""


def _config(store: ConfigStore) -> GatewayConfig:
    return store.load() if store.exists() else default_config()


def run(args: argparse.Namespace, *, home_dir: Path | None = None) -> int:
    """``home_dir`` is where the tools' files live (tests pass a temporary one)."""
    home = Home.resolve(args.home)
    store = ConfigStore(resolve_config_path(home, args.config))
    try:
        config = _config(store)
    except ConfigError as exc:
        print(f"switchboard: the config cannot be read\n{exc}", file=sys.stderr)
        return 2
    host = config.server.host if config.server.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    routes = tuple(r.name for r in config.routes if r.enabled and not r.is_pattern)
    conn = Connection(f"http://{host}:{config.server.port}", _access_key(home), routes, default_model(config))
    by_id = {t.id: t for t in setups(conn, home=home_dir)}
    tool = by_id.get(args.tool)
    if tool is None:
        print(f"switchboard: no tool {args.tool!r}; choose one of: {', '.join(by_id)}", file=sys.stderr)
        return 2
    action = args.action or "print"
    secret = "" if args.show_key else conn.access_key
    state = ConnectState(home.data_dir / "connect.json")
    try:
        if action == "print":
            print(f"# {tool.name}: {tool.instructions}")
            print(tool.snippet.replace(secret, mask(secret)) if secret else tool.snippet)
            if not conn.access_key:
                print(_no_key(), file=sys.stderr)
            return 0
        if action == "check":
            result = check(tool, conn)
            print(result.message, file=sys.stdout if result.ok else sys.stderr)
            return 0 if result.ok else 1
        if action == "restore":
            print(restore(tool, state))
            return 0
        if not conn.access_key and action == "apply":
            print(f"switchboard: {_no_key()}", file=sys.stderr)
            return 1
        found = plan(tool, conn, state)
        if found.changed_since:
            print(f"# {tool.config_path} changed since Switchboard wrote it: your changes are kept.")
        print(found.diff if found.changes else f"# {tool.config_path} is up to date; nothing to change.", end="")
        if action == "diff":
            return 0
        if found.changes:
            print(apply(tool, conn, state, expected=found))
        if tool.id == "claude-code" and not args.no_route:
            return _claude_route(store, config, args.route)
        return 0
    except (ConnectError, OSError) as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1


def _no_key() -> str:
    return (
        "No access key can be shown (none is kept in an OS keychain): make one with "
        f"`switchboard access-key new NAME`, then set {ACCESS_KEY_ENV} to it."
    )


def _claude_route(store: ConfigStore, config: GatewayConfig, target: str | None) -> int:
    try:
        offer = claude_route_offer(config, target)
    except ConnectError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    if offer is None:
        print("Claude Code's model names are answered by your routes already.")
        return 0
    data = config.model_dump(mode="json")
    offer.mutate(data)
    version = store.save(GatewayConfig.model_validate(data), "cli", offer.summary)
    print(f"Added the route {offer.route['name']!r} → {offer.target} (config version {version.number}).")
    return 0
