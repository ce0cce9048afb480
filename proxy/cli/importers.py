"""``switchboard import litellm config.yaml`` and ``switchboard import claude-code-router
config.json``: their settings as a new Switchboard config version (the one before stays in the
history: ``switchboard config rollback`` undoes it), and every setting without an equivalent printed.
Keys written in the file go into the OS keychain with ``--keychain``, else become environment
variable references (named in the output)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from proxy.config.importers import Imported, from_claude_code_router, from_litellm
from proxy.config.store import ConfigStore, config_text
from proxy.domain.errors import ConfigError
from proxy.storage.keychain import KeychainStore, no_keychain_help
from proxy.support.paths import Home, resolve_config_path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[..., None]) -> None:
    imp = sub.add_parser("import", help="make a config from LiteLLM's config.yaml or claude-code-router's config.json")
    common(imp)
    imp.add_argument("source", choices=("litellm", "claude-code-router"))
    imp.add_argument("file", type=Path)
    imp.add_argument("--keychain", action="store_true", help="move keys written in the file into the OS keychain")
    imp.add_argument("--dry-run", action="store_true", help="print the config instead of saving it")


def _read(source: str, path: Path, keychain: bool) -> Imported:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        data = YAML(typ="safe", pure=True).load(text) if source == "litellm" else json.loads(text)
    except (YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(str(path), [f"not valid {'YAML' if source == 'litellm' else 'JSON'}: {exc}"]) from None
    convert = from_litellm if source == "litellm" else from_claude_code_router
    return convert(data, keychain=keychain)


def run_import(args: argparse.Namespace) -> int:
    try:
        imported = _read(args.source, args.file, args.keychain)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    config = imported.config
    if args.dry_run:
        print(config_text(config), end="")
    else:
        if imported.keychain:
            keychain = KeychainStore()
            if not keychain.available:
                print(f"switchboard: --keychain: {no_keychain_help()}", file=sys.stderr)
                return 1
            for name, value in imported.keychain.items():
                keychain.set(name, value)
        store = ConfigStore(resolve_config_path(Home.resolve(args.home), args.config))
        version = store.save(config, "import", f"import from {args.source} {args.file.name}")
        print(
            f"Config version {version.number}: {len(config.providers)} providers and {len(config.routes)} routes "
            f"from {args.file}. Undo with `switchboard config rollback`."
        )
        if imported.keychain:
            print(f"Moved {len(imported.keychain)} key(s) into the OS keychain: {', '.join(imported.keychain)}.")
    envs = sorted({p.key.env for p in config.providers if p.key is not None and p.key.env})
    if envs:
        print(f"Keys come from these environment variables: {', '.join(envs)}.", file=sys.stderr)
    if imported.notes:
        print(f"{len(imported.notes)} setting(s) have no equivalent or changed meaning:", file=sys.stderr)
        for note in imported.notes:
            print(f"  - {note}", file=sys.stderr)
    return 0
