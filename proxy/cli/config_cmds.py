"""``switchboard config check [PATH]`` (no path: the config in use), ``config edit`` ($EDITOR on a
copy, validated before it is saved as a new version), ``config schema --write [PATH]`` (the JSON
Schema where the file's ``$schema`` key points) and ``config history --json``."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from proxy.cli.conventions import config_in_use
from proxy.config.schema import config_json_schema, default_config, parse_config
from proxy.config.store import ConfigStore, atomic_write, config_text
from proxy.domain.errors import ConfigError
from proxy.support.paths import Home, resolve_config_path

SCHEMA_FILE = "config.schema.json"


def _store(args: argparse.Namespace) -> ConfigStore:
    return ConfigStore(resolve_config_path(Home.resolve(args.home), args.config))


def check(args: argparse.Namespace) -> int:
    """Validate ``args.path``, or the config file in use."""
    path: Path = args.path if args.path is not None else _store(args).path
    if args.path is None and not path.exists():
        print(f"{path}: no config file; Switchboard runs its built-in default (the demo provider)")
        return 0
    try:
        config = parse_config(path.read_bytes(), str(path))
    except OSError as exc:
        print(f"{path}: cannot read the file: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{path}: OK ({len(config.providers)} providers, {len(config.routes)} routes)")
    return 0


def history(args: argparse.Namespace) -> int:
    versions = _store(args).history()
    if args.json:
        for v in versions:
            print(json.dumps({"version": v.number, "time": v.time, "author": v.author, "summary": v.summary}))
        return 0
    if not versions:
        print("no saved config versions yet", file=sys.stderr)
    for v in versions:
        when = datetime.fromtimestamp(v.time).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{v.number:>4}  {when}  {v.author:10}  {v.summary}")
    return 0


def edit(args: argparse.Namespace) -> int:
    """Open a copy of the config in ``$VISUAL``/``$EDITOR``; save it only when it is valid (on a
    terminal, an invalid edit can be reopened), as a new version."""
    store = _store(args)
    try:
        _, config = config_in_use(args.home, args.config)
    except ConfigError as exc:
        print(f"{exc}\n(editing the file as it is)", file=sys.stderr)
        text = store.path.read_text(encoding="utf-8")
    else:
        text = store.path.read_text(encoding="utf-8") if config is not None else config_text(default_config())
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        print("switchboard: set $EDITOR (or $VISUAL) to the editor to use, e.g. EDITOR=nano", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="switchboard-edit-") as tmp:
        draft = Path(tmp) / "config.json"
        draft.write_text(text, encoding="utf-8")
        while True:
            try:
                result = subprocess.run([*shlex.split(editor), str(draft)], check=False)
            except OSError as exc:
                print(f"switchboard: cannot start the editor {editor!r}: {exc}", file=sys.stderr)
                return 1
            if result.returncode != 0:
                print(f"switchboard: the editor exited with {result.returncode}; nothing saved", file=sys.stderr)
                return 1
            edited = draft.read_text(encoding="utf-8")
            if edited == text:
                print("No changes; nothing saved.")
                return 0
            try:
                new = parse_config(edited, str(store.path))
            except ConfigError as exc:
                print(exc, file=sys.stderr)
                if sys.stdin.isatty() and input("Edit again? [Y/n] ").strip().lower() in ("", "y", "yes"):
                    continue
                print("switchboard: invalid, nothing saved", file=sys.stderr)
                return 1
            version = store.save(new, "cli", "edit with $EDITOR")
            print(f"Config version {version.number}: {version.summary}. A running gateway applies it within a second.")
            return 0


def schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema, or (``--write``) write it where the config's ``$schema`` points."""
    text = json.dumps(config_json_schema(), indent=2) + "\n"
    if args.write is None:
        print(text, end="")
        return 0
    store = _store(args)
    target: Path | None = None if args.write == "" else Path(args.write)
    pointer = None
    if target is None:
        try:
            _, config = config_in_use(args.home, args.config)
        except ConfigError:
            config = None
        pointer = config.schema_uri if config is not None else None
        if pointer and "://" in pointer and not pointer.startswith("file://"):
            print(f"switchboard: $schema points at {pointer}, not a file; give a path: --write PATH", file=sys.stderr)
            return 2
        where = pointer.removeprefix("file://") if pointer else f"./{SCHEMA_FILE}"
        target = Path(where).expanduser()
        if not target.is_absolute():
            target = store.path.parent / target
    atomic_write(target, text, mode=0o644)
    print(f"Wrote the config schema to {target}")
    if pointer is None and args.write == "":
        print(f'Point your config at it: add "$schema": "./{SCHEMA_FILE}" to {store.path}')
    return 0
