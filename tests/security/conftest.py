"""Collects the suite's figures (see ``figures.py``) and its test outcomes for the report."""

from __future__ import annotations

import pytest

from tests.security import figures

_outcomes: dict[str, int] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/security/" not in report.nodeid.replace("\\", "/"):
        return  # hooks of a sub-directory conftest see the whole session once loaded
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _outcomes[report.outcome] = _outcomes.get(report.outcome, 0) + 1
        if report.outcome == "failed":
            figures.SOURCES.setdefault("failed_tests", []).append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    figures.write(_outcomes)
