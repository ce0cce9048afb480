"""The ``switchboard`` command.

``switchboard`` alone starts the tray app when a display and Qt are usable, otherwise the
gateway headless (and says so). ``switchboard serve`` always runs headless.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from proxy.cli import config_cmds, conventions
from proxy.cli import connect as cli_connect
from proxy.cli import importers as cli_import
from proxy.cli import keys as cli_keys
from proxy.cli import launch as cli_launch
from proxy.config.schema import GatewayConfig
from proxy.config.store import ConfigStore
from proxy.domain.errors import ConfigError, GatewayStartError
from proxy.domain.records import RequestRecord
from proxy.engine.gateway import GatewayOptions
from proxy.host.runner import new_event_loop
from proxy.server.app import new_gateway
from proxy.state import cli_team as team
from proxy.storage import stats
from proxy.storage.request_log import LIGHT_FIELDS, last_rowid, read_recent, read_since
from proxy.support.paths import Home, resolve_config_path
from proxy.support.redact import install_log_redaction


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--home",
        type=Path,
        default=default,
        help="keep all state (config, database, keys) under DIR; also SWITCHBOARD_HOME",
    )
    parser.add_argument("--config", type=Path, default=default, help="config file to use instead of the default")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more logging on stderr (-vv for debug)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description="Your own AI model gateway on localhost.")
    _common(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"switchboard {conventions.version()}")
    parser.add_argument("--host", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--selftest", action="store_true", help="check this installation end to end in a temporary home, then exit"
    )
    parser.add_argument("--port", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", metavar="URL", help="with --selftest: also a TLS round trip to URL/models")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the gateway headless")
    _common(serve, suppress=True)
    serve.add_argument("--host", default=argparse.SUPPRESS, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=argparse.SUPPRESS, help="port (default 4141; 0 = any free port)")
    serve.add_argument("--no-discover", action="store_true", help="do not probe for Ollama / LM Studio")

    config = sub.add_parser("config", help="inspect and validate the config")
    _common(config, suppress=True)
    config_sub = config.add_subparsers(dest="config_command", required=True)
    schema = config_sub.add_parser("schema", help="print the config JSON Schema (--write: to where $schema points)")
    _common(schema, suppress=True)
    schema.add_argument("--write", nargs="?", const="", default=None, metavar="PATH", help="write it to a file")
    check = config_sub.add_parser("check", help="validate a config file (default: the one in use)")
    _common(check, suppress=True)
    check.add_argument("path", type=Path, nargs="?")
    _common(config_sub.add_parser("path", help="print where the config file is"), suppress=True)
    _common(config_sub.add_parser("edit", help="edit the config in $EDITOR; saved only if valid"), suppress=True)
    history = config_sub.add_parser("history", help="list saved config versions")
    _common(history, suppress=True)
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    diff = config_sub.add_parser("diff", help="show what changed between two versions (default: to now)")
    _common(diff, suppress=True)
    diff.add_argument("a", type=int)
    diff.add_argument("b", type=int, nargs="?")
    rollback = config_sub.add_parser("rollback", help="make an earlier version the config in force")
    _common(rollback, suppress=True)
    rollback.add_argument("version", type=int, nargs="?", help="version number (default: the one before)")

    logs = sub.add_parser("logs", help="show recent requests")
    _common(logs, suppress=True)
    logs.add_argument("-n", "--limit", type=int, default=20, help="how many rows (default 20)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new requests as they come")
    logs.add_argument("--json", action="store_true", help="one JSON object per line")

    logs.add_argument("--csv", action="store_true", help="CSV with a header row (for spreadsheets)")

    stats = sub.add_parser("stats", help="requests, errors, latency, tokens and cost over a window")
    _common(stats, suppress=True)
    stats.add_argument("--since", default="24h", help="window: 1h, 24h, 30d ... (default 24h)")
    stats.add_argument("--by", choices=("route", "provider", "none"), default="route", help="group rows by")
    stats.add_argument("--json", action="store_true")

    ab = sub.add_parser("ab", help="A/B splits: promote a variant (undo with `config rollback`)")
    _common(ab, suppress=True)
    ab_sub = ab.add_subparsers(dest="ab_command", required=True)
    promote = ab_sub.add_parser("promote", help="make one variant the route's only targets")
    _common(promote, suppress=True)
    promote.add_argument("route")
    promote.add_argument("variant")
    status = sub.add_parser("status", help="ask the running gateway how it and its targets are doing")
    _common(status, suppress=True)
    status.add_argument("--url", help="gateway base URL (default: from the config)")
    status.add_argument("--json", action="store_true")
    cli_keys.add_parsers(sub, lambda p: _common(p, suppress=True))
    conventions.add_parsers(sub, lambda p: _common(p, suppress=True))
    cli_launch.add_parser(sub, lambda p: _common(p, suppress=True))
    cli_import.add_parser(sub, lambda p: _common(p, suppress=True))
    cli_connect.add_parsers(sub, lambda p: _common(p, suppress=True))
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()


Tray = Callable[[GatewayOptions], "int | str"]


def main(
    argv: Sequence[str] | None = None,
    *,
    tray: Tray | None = None,
    selftest_extra: Callable[[], dict[str, Any]] | None = None,
) -> int:
    """Run a command. Without one, ``tray`` (given by the desktop launcher) starts the tray app, or
    returns why it cannot run here; then the gateway runs headless. ``selftest_extra`` is the
    launcher's Qt check for ``--selftest``."""
    parser = build_parser()
    argv, tool_args = cli_launch.split_argv(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if tool_args:
        args.tool_args = tool_args
    _setup_logging(args.verbose)
    if args.selftest:
        from proxy.host.selftest import run_selftest

        return run_selftest(selftest_extra, args.upstream)
    if args.command is None:
        return _run_default(args, tray)
    if args.command == "serve":
        return _serve(args)
    if args.command == "config":
        return _config(args)
    if args.command == "logs":
        return _logs(args)
    if args.command == "access-key":
        return cli_keys.run_access_key(args)
    if args.command == "keys":
        return cli_keys.run_keys(args)
    if args.command == "status":
        return _status(args)
    if args.command == "ab":
        return _ab_promote(args)
    if args.command == "stats":
        return _stats(args)
    if args.command == "completion":
        return conventions.run_completion(args, parser)
    if args.command == "models":
        return conventions.run_models(args)
    if args.command == "launch":
        return cli_launch.run_launch(args)
    if args.command == "import":
        return cli_import.run_import(args)
    if args.command == "connect":
        return cli_connect.run(args)
    return 2


def _options(args: argparse.Namespace) -> GatewayOptions:
    return GatewayOptions(
        home=args.home,
        config_path=args.config,
        host=getattr(args, "host", None) or conventions.env_host(),
        port=port if (port := getattr(args, "port", None)) is not None else conventions.env_port(),
        discover_local=not getattr(args, "no_discover", False),
        own_process=True,
    )


def _run_default(args: argparse.Namespace, tray: Tray | None) -> int:
    outcome = tray(_options(args)) if tray is not None else "the tray app is not part of this command"
    if isinstance(outcome, int):
        return outcome
    print(f"Switchboard: {outcome}; running the gateway headless (Ctrl+C to stop).", flush=True)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    loop = new_event_loop()
    try:
        return loop.run_until_complete(_serve_async(_options(args)))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _serve_async(options: GatewayOptions) -> int:
    gateway = new_gateway(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before we announce ourselves: a stop may follow at once
        loop.add_signal_handler(sig, stop.set)
    try:
        url = await gateway.start()
    except ConfigError as exc:
        print(f"switchboard: invalid config\n{exc}", file=sys.stderr)
        return 2
    except GatewayStartError as exc:
        hint = " Stop that program or choose another port with --port." if exc.port_in_use is not None else ""
        print(f"switchboard: {exc}{hint}", file=sys.stderr)
        return 1
    print(f"Switchboard listening on {url}", flush=True)
    if gateway.created_access_key is not None:
        value, kept = gateway.created_access_key
        if kept:
            print("Created your local access key; see it with `switchboard access-key show`.", file=sys.stderr)
        else:
            print(
                f"Created your local access key (no OS keychain to keep it, so it is shown only now): {value}",
                file=sys.stderr,
            )
    await stop.wait()
    await gateway.stop()
    return 0


def _config(args: argparse.Namespace) -> int:
    if args.config_command == "history" and (url := _team_url(args)) is not None:
        return _team(lambda: [print(line) for line in team.history_lines(url)])  # every replica's versions
    handler = {"schema": config_cmds.schema, "check": config_cmds.check, "edit": config_cmds.edit}.get(
        args.config_command, config_cmds.history if args.config_command == "history" else None
    )
    if handler is not None:
        return handler(args)
    store = ConfigStore(resolve_config_path(Home.resolve(args.home), args.config))
    if args.config_command == "path":
        print(store.path)
        return 0
    try:
        if args.config_command == "diff":
            print(store.diff(args.a, args.b), end="")
            return 0
        if args.config_command == "rollback":
            version = store.rollback(args.version)
            print(f"Config version {version.number}: {version.summary}. A running gateway applies it within a second.")
            return 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 2


def _ab_promote(args: argparse.Namespace) -> int:
    store = ConfigStore(resolve_config_path(Home.resolve(args.home), args.config))
    try:
        config = store.load()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    route = next((r for r in config.routes if r.name == args.route), None)
    variant = next((v for v in route.variants if v.name == args.variant), None) if route else None
    if route is None or variant is None:
        known = ", ".join(v.name for v in route.variants) if route else "no such route"
        print(f"switchboard: route {args.route!r} has no variant {args.variant!r} ({known})", file=sys.stderr)
        return 1
    promoted = route.model_copy(update={"targets": variant.targets, "variants": []})
    routes = [promoted if r.name == route.name else r for r in config.routes]
    updated = GatewayConfig.model_validate(config.model_copy(update={"routes": routes}).model_dump())
    version = store.save(updated, "cli", f"promote variant {variant.name} of route {route.name}")
    print(f"Config version {version.number}: {version.summary}. Undo with `switchboard config rollback`.")
    return 0


def _status(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    home = Home.resolve(args.home)
    url = args.url or conventions.gateway_url(args.home, args.config)
    key = os.environ.get("SWITCHBOARD_ACCESS_KEY") or cli_keys.default_access_key(home)
    request = urllib.request.Request(f"{url.rstrip('/')}/switchboard/status")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        print(
            f"switchboard: the gateway at {url} answered {exc.code}: {exc.read().decode(errors='replace')}",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(f"switchboard: no gateway answers at {url} ({getattr(exc, 'reason', exc)})", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(
        f"Switchboard at {data['base_url']}: up {data['uptime_s']:.0f} s, {data['in_flight']} in flight, "
        f"config version {data['config_version']}, log rows {data['log']['written']} "
        f"(dropped {data['log']['dropped']})"
    )
    for target, h in sorted(data["targets"].items()):
        ttft = f"{h['ttft_ms']:.0f} ms" if h["ttft_ms"] is not None else "-"
        error = f"  last error: {h['last_error']}" if h["last_error"] else ""
        print(f"  {target:40} {h['state']:8} in flight {h['in_flight']:<3} ttfb {ttft:>8}{error}")
    if not data["targets"]:
        print("  (no upstream used yet)")
    return 0


_COLUMNS = ("time", "status", "code", "model", "served by", "ttfb", "total", "tokens", "cost")


def _row(r: RequestRecord) -> tuple[str, ...]:
    served = f"{r.provider}/{r.upstream_model}" if r.provider else "-"
    tokens = f"{r.tokens_in or 0}/{r.tokens_out or 0}" if r.tokens_in is not None or r.tokens_out is not None else "-"
    return (
        datetime.fromtimestamp(r.started_at).strftime("%H:%M:%S"),
        r.status,
        str(r.http_status),
        (r.requested_model or "-")[:40],
        served[:48],
        f"{r.ttfb_ms:.0f}ms" if r.ttfb_ms is not None else "-",
        f"{r.latency_ms:.0f}ms" if r.latency_ms is not None else "-",
        tokens,
        "-" if r.cost is None else f"${r.cost:.6f}",
    )


def _print_rows(rows: list[RequestRecord], as_json: bool, header: bool) -> None:
    if as_json:
        for r in rows:
            data = r.as_dict()
            data.pop("request_body")
            data.pop("response_body")
            print(json.dumps(data), flush=True)
        return
    widths = (8, 16, 4, 24, 32, 7, 8, 11, 10)
    if header:
        print("  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(_row(r), widths, strict=True)).rstrip(), flush=True)


def _stats(args: argparse.Namespace) -> int:
    m = re.fullmatch(r"(\d+)([hdm])", args.since)
    if not m:
        print("switchboard: --since takes a number and h, d or m (minutes), e.g. 24h", file=sys.stderr)
        return 2
    seconds = int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if (url := _team_url(args)) is not None:  # team mode: the shared log in PostgreSQL
        found: list[stats.Bucket] = []
        if _team(lambda: found.extend(team.totals(url, time.time() - seconds, args.by))):
            return 1
        groups = found
    else:
        groups = stats.totals(Home.resolve(args.home).log_db, time.time() - seconds, args.by)
    if args.json:
        for g in groups:
            print(json.dumps(g.as_dict()))
        return 0
    print(
        f"{'group':24} {'requests':>8} {'errors':>7} {'fallbacks':>9} {'cache hits':>10} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'tokens':>12} {'cost':>10}"
    )
    for g in groups:
        d = g.as_dict()
        p50 = f"{d['p50_ms']:.0f}" if d["p50_ms"] is not None else "-"
        p95 = f"{d['p95_ms']:.0f}" if d["p95_ms"] is not None else "-"
        print(
            f"{(g.group or '-')[:24]:24} {g.requests:8} {g.errors:7} {g.fallbacks:9} {g.cache_hits:10} {p50:>8} "
            f"{p95:>8} {g.tokens_in + g.tokens_out:12} ${g.cost:9.4f}"
        )
    if not groups:
        print(f"(no requests in the last {args.since})", file=sys.stderr)
    return 0


def _logs(args: argparse.Namespace) -> int:
    db = Home.resolve(args.home).log_db
    url = _team_url(args)
    if url is not None and args.follow:
        print("(--follow reads this replica's own log; without it, logs shows the whole team's)", file=sys.stderr)
        url = None
    found: list[RequestRecord] = []
    if url is not None and _team(lambda: found.extend(team.recent(url, args.limit))):
        return 1
    rows = found if url is not None else read_recent(db, args.limit)
    if args.csv:
        writer = csv.writer(sys.stdout)  # the columns and empty fields of the log page's CSV export
        writer.writerow(LIGHT_FIELDS)
        writer.writerows(["" if (v := getattr(r, f)) is None else v for f in LIGHT_FIELDS] for r in rows)
        return 0
    _print_rows(rows, args.json, header=True)
    if not args.follow:
        if not rows and not args.json:
            print("(no requests logged yet)", file=sys.stderr)
        return 0
    cursor = last_rowid(db)
    try:
        while True:
            time.sleep(0.5)
            new, cursor = read_since(db, cursor)
            _print_rows(new, args.json, header=False)
    except KeyboardInterrupt:
        return 0


def _team_url(args: argparse.Namespace) -> str | None:
    """Team mode's database URL (``SWITCHBOARD_DATABASE_URL`` or ``state.database_url``), or ``None``."""
    return team.database_url(resolve_config_path(Home.resolve(args.home), getattr(args, "config", None)))


def _team(work: Callable[[], object]) -> int:
    """Run a team-mode read; 1 (with the error, password masked) when the database cannot be used."""
    try:
        work()
    except team.TeamUnavailable as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
