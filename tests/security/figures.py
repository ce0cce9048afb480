"""The security suite's figures: counters the tests take while they run, for the report.

A test adds what it actually did and saw (``figures.add("bad_inputs", sent)``), *before* it
asserts, so a failing run still reports the count that failed it. At the end of the session
``tests/security/conftest.py`` writes the totals to ``$SWITCHBOARD_REPORT_DIR/figures-<pid>.json``
(only when that variable is set); ``python -m tests.security.report`` runs the suite and prints
them. Every figure is a sum over the tests that recorded it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FIGURES: dict[str, float] = {}
SOURCES: dict[str, list[str]] = {}
"""Which tests contributed to each figure (module names), for the report's footnotes."""

REPORT_DIR_ENV = "SWITCHBOARD_REPORT_DIR"


def add(name: str, value: float = 1, *, source: str | None = None) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + value
    if source is not None and source not in SOURCES.setdefault(name, []):
        SOURCES[name].append(source)


def write(outcomes: dict[str, int]) -> Path | None:
    """Write the figures (and the test outcomes) if a report directory was asked for."""
    directory = os.environ.get(REPORT_DIR_ENV)
    if not directory:
        return None
    path = Path(directory) / f"figures-{os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"figures": FIGURES, "sources": SOURCES, "outcomes": outcomes}, indent=2))
    return path
