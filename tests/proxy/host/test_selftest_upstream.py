"""``switchboard --selftest --upstream URL``: a TLS round trip to an HTTPS fake whose CA only the
OS trust store's own variable (SSL_CERT_FILE) makes trusted; without it the report says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def https_fake(tmp_path: Path):
    ca = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.https_upstream", "--ca-out", str(ca)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("fake upstream listening on https://"), line
        yield line.removeprefix("fake upstream listening on "), ca
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def selftest(url: str, tmp_path: Path, **env: str) -> dict:
    environ = {**os.environ, "SWITCHBOARD_HOME": str(tmp_path / "untouched"), **env}
    environ.pop("SWITCHBOARD_ACCESS_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "proxy.cli", "--selftest", "--upstream", url],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (result.returncode == 0) == report["ok"]
    return report


def test_the_round_trip_passes_when_the_os_trust_store_has_the_ca(https_fake, tmp_path: Path) -> None:
    url, ca = https_fake
    report = selftest(url, tmp_path, SSL_CERT_FILE=str(ca))
    assert report["ok"] and report["upstream"]["ok"] and report["upstream"]["models"] == 2
    assert report["upstream"]["trust"] == "os (truststore)"


def test_an_untrusted_upstream_fails_the_selftest_and_says_why(https_fake, tmp_path: Path) -> None:
    url, _ = https_fake
    report = selftest(url, tmp_path)
    assert not report["ok"] and report["chat"]["ok"]
    assert "signed by 'Switchboard Test CA', which this computer does not trust" in report["upstream"]["error"]
