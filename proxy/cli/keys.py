"""``switchboard keys ...`` (provider keys in the OS keychain) and ``switchboard access-key ...``.

Secrets are read from a hidden prompt or from standard input, never from the command line
(where other users could see them in the process list and shells keep history).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import time
from collections.abc import Callable

from proxy.config.schema import GatewayConfig, ProviderConfig, SecretRef, default_config
from proxy.config.store import ConfigStore
from proxy.domain.errors import ConfigError
from proxy.domain.presets import PRESETS
from proxy.providers.keytest import test_key
from proxy.state import cli_team as team
from proxy.storage.access_keys import ACCESS_KEY_ENV, AccessKeyStore
from proxy.storage.keychain import KeychainStore, no_keychain_help
from proxy.storage.secrets import SecretResolver, SecretStoreUnavailable, SecretUnavailable
from proxy.support.paths import Home, resolve_config_path, touch
from proxy.support.redact import mask


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[[argparse.ArgumentParser], None]
) -> None:
    keys = sub.add_parser("keys", help="provider API keys in the OS keychain")
    common(keys)
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, text in (
        ("set", "store a provider's key (prompted, or read from stdin)"),
        ("delete", "remove a provider's key from the keychain"),
        ("test", "check a provider's key against the provider"),
    ):
        p = keys_sub.add_parser(name, help=text)
        common(p)
        p.add_argument("provider", help="provider id (or a preset name such as openai, to add it)")
    keys_list = keys_sub.add_parser("list", help="where each provider's key lives (values masked)")
    common(keys_list)
    keys_list.add_argument("--json", action="store_true", help="one JSON object per line")

    access = sub.add_parser("access-key", help="the local access keys clients send")
    common(access)
    access_sub = access.add_subparsers(dest="access_command", required=True)
    show = access_sub.add_parser("show", help="print an access key (default: 'default')")
    common(show)
    show.add_argument("name", nargs="?", default="default")
    new = access_sub.add_parser("new", help="create an access key (shown once)")
    common(new)
    new.add_argument("name")
    revoke = access_sub.add_parser("revoke", help="revoke an access key at once")
    common(revoke)
    revoke.add_argument("name")
    access_list = access_sub.add_parser("list", help="list access keys (masked)")
    common(access_list)
    access_list.add_argument("--json", action="store_true", help="one JSON object per line")


def _paths(args: argparse.Namespace) -> tuple[Home, ConfigStore]:
    home = Home.resolve(args.home)
    return home, ConfigStore(resolve_config_path(home, args.config))


def _current_config(store: ConfigStore) -> GatewayConfig:
    return store.load() if store.exists() else default_config()


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        value = getpass.getpass(prompt)
    else:
        value = sys.stdin.readline()
    return value.strip()


def run_keys(args: argparse.Namespace) -> int:
    home, store = _paths(args)
    keychain = KeychainStore()
    try:
        config = _current_config(store)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.keys_command == "list":
        return _keys_list(config, keychain, args.json)
    provider = config.provider(args.provider)
    if args.keys_command == "set":
        return _keys_set(args.provider, provider, config, store, keychain, home)
    if provider is None:
        print(f"switchboard: no provider {args.provider!r} in {store.path}", file=sys.stderr)
        return 1
    if args.keys_command == "delete":
        entry = provider.key.keychain if provider.key and provider.key.keychain else provider.id
        try:
            deleted = keychain.delete(entry)
        except SecretStoreUnavailable as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 1
        home.ensure()
        touch(home.keys_epoch_file)
        print(
            f"Deleted the key of {provider.id!r} from the OS keychain."
            if deleted
            else f"{provider.id!r} had no key in the OS keychain."
        )
        return 0
    return asyncio.run(_keys_test(provider, keychain))


def _keys_set(
    pid: str,
    provider: ProviderConfig | None,
    config: GatewayConfig,
    store: ConfigStore,
    keychain: KeychainStore,
    home: Home,
) -> int:
    if provider is None and pid not in PRESETS:
        print(
            f"switchboard: no provider {pid!r}; add it to the config, or use a preset name "
            f"({', '.join(p for p in PRESETS if p != 'demo')})",
            file=sys.stderr,
        )
        return 1
    if provider is not None and provider.key is not None and provider.key.env:
        print(f"Note: {pid!r} took its key from ${provider.key.env}; it will use the keychain from now on.")
    entry = provider.key.keychain if provider and provider.key and provider.key.keychain else pid
    if not keychain.available:
        print(f"switchboard: {no_keychain_help()}", file=sys.stderr)
        return 1
    value = _read_secret(f"API key for {pid} (input hidden): ")
    if not value:
        print("switchboard: no key given; nothing changed", file=sys.stderr)
        return 1
    try:
        keychain.set(entry, value)
    except SecretStoreUnavailable as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    ref = SecretRef(keychain=entry)
    if provider is None:
        new = ProviderConfig.model_validate({"id": pid, "preset": pid, "key": ref})  # the preset name is checked here
        updated = config.model_copy(update={"providers": [*config.providers, new]})
    else:
        providers = [p.model_copy(update={"key": ref}) if p.id == pid else p for p in config.providers]
        updated = config.model_copy(update={"providers": providers})
    updated = GatewayConfig.model_validate(updated.model_dump())
    if updated != config or not store.exists():
        store.save(updated, "cli")
    home.ensure()
    touch(home.keys_epoch_file)
    print(f"Stored the key for {pid!r} in the OS keychain ({mask(value)}).")
    return 0


def _keys_list(config: GatewayConfig, keychain: KeychainStore, as_json: bool = False) -> int:
    resolver = SecretResolver(keychain=keychain)
    if not as_json:
        if not config.providers:
            print("no providers yet: add one with `switchboard keys set PRESET`", file=sys.stderr)
            return 0
        print(f"{'provider':16}  {'source':34}  key")
    for p in config.providers:
        if p.key is None:
            source, shown = "none", "(no key needed)" if not PRESETS[p.preset].needs_key else "(missing)"
        else:
            source = f"env ${p.key.env}" if p.key.env else f"keychain {p.key.keychain!r}"
            try:
                shown = mask(resolver.resolve(p.key))
            except SecretUnavailable as exc:
                shown = f"(unavailable: {exc})"
        if as_json:
            print(json.dumps({"provider": p.id, "source": source, "key": shown}))
            continue
        print(f"{p.id:16}  {source:34}  {shown}")
    return 0


async def _keys_test(provider: ProviderConfig, keychain: KeychainStore) -> int:
    key = None
    if provider.key is not None and PRESETS[provider.preset].kind != "demo":
        try:
            key = await asyncio.to_thread(SecretResolver(keychain=keychain).resolve, provider.key)
        except SecretUnavailable as exc:
            print(f"{provider.id}: no key: {exc}")
            return 1
    proxy_password = None
    if provider.proxy_password is not None:  # an authenticated forward proxy (issue 17)
        try:
            proxy_password = await asyncio.to_thread(SecretResolver(keychain=keychain).resolve, provider.proxy_password)
        except SecretUnavailable as exc:
            print(f"{provider.id}: the proxy password cannot be read: {exc}")
    result = await test_key(provider, key, proxy_password)
    print(f"{provider.id}: {result.message}")
    return 0 if result.ok else 1


def _run_team_access_key(args: argparse.Namespace, keys: AccessKeyStore, url: str) -> int:
    if args.access_command == "list":
        for line in team.key_lines(url):
            print(line)
        return 0
    if args.access_command == "new":
        try:
            new_value, kept = keys.create(args.name)
        except ValueError as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 1
        team.publish_keys(url, [k for k in keys.infos() if k.name == args.name])
        print(new_value)
        print(f"Created access key {args.name!r} for every replica of the team.", file=sys.stderr)
        return 0
    local = keys.revoke(args.name)
    if not team.revoke(url, args.name) and not local:
        print(f"switchboard: no access key named {args.name!r}", file=sys.stderr)
        return 1
    print(f"Revoked access key {args.name!r}; every replica refuses it within a second.")
    return 0


def run_access_key(args: argparse.Namespace) -> int:
    home = Home.resolve(args.home)
    home.ensure()
    keys = AccessKeyStore(home.access_keys_index, KeychainStore())
    team_url = team.database_url(resolve_config_path(home, args.config))  # team mode: keys live in PostgreSQL
    if team_url is not None and args.access_command in ("list", "new", "revoke"):
        try:
            return _run_team_access_key(args, keys, team_url)
        except team.TeamUnavailable as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 1
    if args.access_command == "list":
        if os.environ.get(ACCESS_KEY_ENV):
            print(f"(this run uses {ACCESS_KEY_ENV} instead of the keys below)", file=sys.stderr)
        infos = keys.infos()
        if args.json:
            for info in infos:
                print(json.dumps({"name": info.name, "hint": info.hint, "created": info.created}))
            return 0
        if not infos:
            print(
                "no access keys yet: Switchboard makes one named 'default' when it first starts, "
                "or run `switchboard access-key new NAME`",
                file=sys.stderr,
            )
        for info in infos:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created))
            print(f"{info.name:16}  {info.hint:20}  created {when}")
        return 0
    if args.access_command == "new":
        try:
            new_value, kept = keys.create(args.name)
        except ValueError as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 1
        print(new_value)
        where = "also kept in your OS keychain" if kept else "shown only now: no OS keychain to keep it"
        print(f"Created access key {args.name!r} ({where}).", file=sys.stderr)
        return 0
    if args.access_command == "revoke":
        if not keys.revoke(args.name):
            print(f"switchboard: no access key named {args.name!r}", file=sys.stderr)
            return 1
        print(f"Revoked access key {args.name!r}; a running gateway refuses it within a second.")
        return 0
    if os.environ.get(ACCESS_KEY_ENV):
        print(f"The access key for this run comes from {ACCESS_KEY_ENV}.", file=sys.stderr)
        return 0
    created = keys.ensure_default() if args.name == "default" else None
    value: str | None = created[0] if created else keys.reveal(args.name)
    if value is None:
        known = [k.name for k in keys.infos()]
        if args.name not in known:
            print(
                f"switchboard: no access key named {args.name!r} (have: {', '.join(known) or 'none'})", file=sys.stderr
            )
        else:
            print(
                f"switchboard: access key {args.name!r} is not kept in an OS keychain, so it cannot be shown "
                "again; create a new one with `switchboard access-key new NAME`",
                file=sys.stderr,
            )
        return 1
    print(f"{args.name}\t{value}")
    return 0


def default_access_key(home: Home) -> str | None:
    """The ``default`` access key from the keychain (for commands that call the gateway)."""
    return AccessKeyStore(home.access_keys_index, KeychainStore()).reveal("default")
