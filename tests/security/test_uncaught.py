"""Uncaught exceptions go through the redacting log handler, never raw to stderr (RELIABILITY K-01).

A bug that lets an exception escape a thread (or the main thread) with a provider key in its
message or locals used to print Python's default traceback, key included, to stderr, which ends
up in terminals, journald and bug reports.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

CANARY = "sk-proj-UNCAUGHTcanary0123456789abcdefghijklmnop"

SCRIPT = textwrap.dedent(
    f"""
    import logging, sys, threading
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from proxy.support.redact import install_log_redaction
    install_log_redaction()

    def worker():
        raise RuntimeError("upstream refused key {CANARY}")

    t = threading.Thread(target=worker, name="leaky-worker")
    t.start()
    t.join()
    raise ValueError("main thread also saw {CANARY}")
    """
)


def test_uncaught_exceptions_are_logged_redacted():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert CANARY not in done.stderr and CANARY not in done.stdout
    assert "uncaught exception in thread leaky-worker" in done.stderr
    assert "RuntimeError: upstream refused key" in done.stderr  # the traceback is still there
    assert "ValueError: main thread also saw" in done.stderr
