"""Run the security and reliability suite and print its figures (issue 9, item 8).

    .venv/bin/python -m tests.security.report            # the short suite, as CI runs it (about 2 min)
    .venv/bin/python -m tests.security.report --long     # 30-minute soak, 10x fuzzing, 20 000 faulty requests

The tests count what they do and see (``tests/security/figures.py``) and write the totals to a
JSON file at the end of the session; this command runs pytest on ``tests/security`` in the same
environment as ``.ci/test`` (Qt offscreen, a private D-Bus and keychain), reads the file and
prints one table. Exit status: pytest's, or 1 if a figure that must be zero is not (a leak, a lost
request, a silent truncation, a gateway crash, a 5xx of the gateway's own).
Extra arguments go to pytest (e.g. ``-k soak``); ``--json PATH`` also saves the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SHORT_ENV: dict[str, str] = {}
LONG_ENV = {
    "SWITCHBOARD_SOAK_SECONDS": "1800",  # 30 minutes of mixed traffic
    "SWITCHBOARD_FUZZ_EXAMPLES": "3000",  # hypothesis examples per fuzz test (CI: 300)
    "SWITCHBOARD_SOAK_REQUESTS": "20000",  # requests through the fault proxy (CI: 120)
}
MUST_BE_ZERO = (
    "gateway_crashes",
    "gateway_5xx",
    "requests_lost",
    "silent_truncations",
    "canary_leaks",
    "soak_lost_rows",
    "crash_rows_lost",
    "browser_forwarded",
)


def pytest_command(long: bool, extra: list[str]) -> list[str]:
    """pytest on tests/security, wrapped like ``.ci/test`` in a private D-Bus session with a keychain
    (without its overall time limit, which the long suite would exceed)."""
    timeout = 3600 if long else 120
    cmd = [sys.executable, "-m", "pytest", "-q", "-o", f"faulthandler_timeout={timeout}", "tests/security", *extra]
    if shutil.which("dbus-run-session") and (ROOT / ".ci" / "with-secret-service.sh").exists():
        cmd = ["dbus-run-session", "--", "bash", ".ci/with-secret-service.sh", *cmd]
    return cmd


def merge(directory: Path) -> tuple[dict[str, float], dict[str, int], list[str]]:
    figures: dict[str, float] = {}
    outcomes: dict[str, int] = {}
    failed: list[str] = []
    for path in sorted(directory.glob("figures-*.json")):
        data = json.loads(path.read_text())
        for name, value in data["figures"].items():
            figures[name] = figures.get(name, 0) + value
        for name, value in data["outcomes"].items():
            outcomes[name] = outcomes.get(name, 0) + value
        failed += data["sources"].get("failed_tests", [])
    return figures, outcomes, failed


def _n(value: float | None, unit: str = "", signed: bool = False) -> str:
    if value is None:
        return "not run"
    digits = 0 if float(value).is_integer() else 1
    text = f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"
    return text + unit


def table(figures: dict[str, float]) -> list[tuple[str, str, str]]:
    f = figures.get

    def zero(name: str, ran: str) -> str:
        """A must-be-zero figure, or "not run" when the tests that count it did not run."""
        return _n(f(name, 0)) if f(ran) else "not run"

    def soak_drift(name: str, unit: str) -> str:
        return _n(f(name), unit, signed=True) if f("soak_seconds") else "not run"

    p99 = (
        f"{_n(f('soak_p99_drift_ms'), ' ms', signed=True)} "
        f"({_n(f('soak_p99_first_ms'), ' ms')} -> {_n(f('soak_p99_last_ms'), ' ms')})"
        if f("soak_seconds")
        else "not run"
    )
    return [
        ("Bad input", "inputs tried (fuzzed bodies and hosts, bombs, slow-loris, abuse)",
         _n(f("bad_inputs"))),
        ("", "gateway crashes", zero("gateway_crashes", "bad_inputs")),
        ("", "5xx from the gateway itself", zero("gateway_5xx", "bad_inputs")),
        ("Upstream faults", "faults injected (reset, truncate, garbage, stall, latency)",
         _n(f("faults_injected"))),
        ("", "requests sent through faults", _n(f("fault_requests"))),
        ("", "requests lost (no terminal log row)", zero("requests_lost", "fault_requests")),
        ("", "silent truncations (cut without an error event)", zero("silent_truncations", "fault_requests")),
        ("Secrets", "canary scans (files, output streams, answers, commands)", _n(f("canary_scans"))),
        ("", "canary bytes scanned", _n(f("canary_bytes"))),
        ("", "canary leaks", zero("canary_leaks", "canary_scans")),
        ("Soak", "duration", f"{_n(f('soak_seconds'), ' s')} ({_n(f('soak_requests'))} requests)"
         if f("soak_seconds") else "not run"),
        ("", "RSS drift (last third - first third)", soak_drift("soak_rss_drift_mib", " MiB")),
        ("", "open FDs (after - before)", soak_drift("soak_fd_drift", "")),
        ("", "p99 latency drift (last third vs first)", p99),
        ("", "lost log rows", _n(f("soak_lost_rows")) if f("soak_seconds") else "not run"),
        ("Crash", "kill -9 runs / integrity_check ok",
         f"{_n(f('crash_kills'))} / {_n(f('crash_integrity_ok'))}"),
        ("", "finished requests lost", zero("crash_rows_lost", "crash_kills")),
        ("Browser", "attack attempts (Chromium) / forwarded upstream",
         f"{_n(f('browser_attempts'))} / {zero('browser_forwarded', 'browser_attempts')}"),
    ]  # fmt: skip


def render(figures: dict[str, float], outcomes: dict[str, int], failed: list[str], title: str) -> str:
    rows = table(figures)
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    tests = ", ".join(f"{v} {k}" for k, v in sorted(outcomes.items())) or "none ran"
    lines = [title, f"tests: {tests}", ""]
    for area, what, value in rows:
        lines.append(f"{area:<{width[0]}}  {what:<{width[1]}}  {value:>{width[2]}}")
    bad = [name for name in MUST_BE_ZERO if figures.get(name, 0)]
    lines.append("")
    lines.append("verdict: " + ("FAIL (" + ", ".join(bad) + ")" if bad else "zero on every must-be-zero figure"))
    lines += [f"failed: {node}" for node in failed]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.security.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--long", action="store_true", help="30-minute soak, more fuzzing, 20 000 faulty requests")
    parser.add_argument("--json", type=Path, help="also write the merged figures to this file")
    args, extra = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="switchboard-report-") as directory:
        env = {**os.environ, **(LONG_ENV if args.long else SHORT_ENV)}
        env.update(SWITCHBOARD_REPORT_DIR=directory, QT_QPA_PLATFORM="offscreen", SWITCHBOARD_PRIVATE_DBUS="1")
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(name, None)
        started = time.monotonic()
        rc = subprocess.call(pytest_command(args.long, extra), cwd=ROOT, env=env)
        elapsed = time.monotonic() - started
        figures, outcomes, failed = merge(Path(directory))
    title = (
        f"Switchboard security and reliability figures ({'long' if args.long else 'short'} suite, "
        f"{time.strftime('%Y-%m-%d')}, {elapsed:.0f} s)"
    )
    print()
    print(render(figures, outcomes, failed, title))
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "outcomes": outcomes, "failed": failed}, indent=2))
    if rc != 0:
        return rc
    return 1 if any(figures.get(name, 0) for name in MUST_BE_ZERO) or not figures else 0


if __name__ == "__main__":
    sys.exit(main())
