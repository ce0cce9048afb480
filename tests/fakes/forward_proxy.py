"""A real forward proxy for tests: Debian's ``tinyproxy``, started on a free loopback port.

``hosts`` gives the proxy its own ``/etc/hosts`` (a private mount namespace through ``unshare``),
so a test can use a provider name that is not local to Switchboard (``upstream.corp.test``) and
still have the proxy reach a fake upstream on 127.0.0.1: that is how an environment proxy is
proven to carry a request and ``NO_PROXY`` to bypass it. Stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing: .ci/setup --test installs it")
        pytest.skip(f"{tool} is not installed (apt-get install {tool})")
    return path


class Tinyproxy:
    """One running tinyproxy; :meth:`connects` lists the CONNECT targets it saw."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def connects(self) -> list[str]:
        return re.findall(r"Request \(file descriptor \d+\): CONNECT (\S+) HTTP", self.log())


@contextlib.contextmanager
def tinyproxy(
    tmp: Path,
    *,
    hosts: Mapping[str, str] | None = None,
    connect_ports: Sequence[int] = (),
    basic_auth: tuple[str, str] | None = None,
) -> Iterator[Tinyproxy]:
    """Run tinyproxy until the block ends. ``connect_ports`` limits CONNECT to those ports (others
    get 403); ``basic_auth`` requires that user and password (else 407)."""
    binary = _need("tinyproxy")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [f"Port {port}", "Listen 127.0.0.1", "Timeout 30", "Allow 127.0.0.1", "LogLevel Connect"]
    lines += [f"ConnectPort {p}" for p in connect_ports]
    if basic_auth is not None:
        lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
    cfg = tmp / "tinyproxy.conf"
    cfg.write_text("\n".join(lines) + "\n")
    command = [binary, "-d", "-c", str(cfg)]
    if hosts:
        unshare = _need("unshare")
        hosts_file = tmp / "hosts"
        hosts_file.write_text("127.0.0.1 localhost\n" + "".join(f"{ip} {name}\n" for name, ip in hosts.items()))
        script = f'mount --bind "{hosts_file}" /etc/hosts && exec "$@"'
        command = [unshare, "--mount", "sh", "-c", script, "sh", *command]
    log = tmp / "tinyproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                text = log.read_text(errors="replace")
                if hosts and "mount" in text:
                    pytest.skip(f"no private mount namespace here for the proxy's hosts file: {text.strip()}")
                raise AssertionError(f"tinyproxy did not start: {text}")
            time.sleep(0.01)
        yield Tinyproxy(proc, port, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
