"""Real engines for team-mode tests: redis-server, PostgreSQL (as its own user) and HAProxy from the
Debian packages, on free loopback ports in temp dirs, stopped by PID (``shared/PLATFORM.md`` T1-T3).
Also a fake OpenAI upstream on its own thread (so tests can script it while replicas call it) and
``switchboard serve`` replicas as processes (so one can be killed)."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import ACCESS_KEY

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_PASSWORD = "s3cret-Pg-pw-4711"
REDIS_PASSWORD = "s3cret-Redis-pw-4711"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.02)


def have_engines() -> str | None:
    """Why the engines cannot run here (``None``: they can)."""
    for binary in ("redis-server", "haproxy"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (bash .ci/setup installs it)"
    if not Path(PG_BIN, "postgres").exists():
        return "PostgreSQL 15 is not installed"
    return None


class Redis:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sb-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                REDIS_PASSWORD,
                "--dir",
                str(self.dir),
                "--daemonize",
                "no",
                "--logfile",
                str(self.dir / "log"),
            ]  # fmt: skip
        )
        wait_port(self.port)

    def flush(self) -> None:
        import redis as redis_py

        client = redis_py.Redis.from_url(self.url)
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="sb-pg-")  # directly under /tmp: the postgres user gets in
        self.port = free_port()
        self.url = f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{self.port}/postgres"
        """The database the tests use (:meth:`fresh_database` moves it to a new one)."""
        self.pre: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.pre = ["runuser", "-u", "postgres", "--"]
        pwfile = Path(self.dir, "pw")
        pwfile.write_text(PG_PASSWORD)
        if self.pre:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self._run(f"{PG_BIN}/initdb", "-D", f"{self.dir}/data", "-A", "scram-sha-256", "-U", "postgres",
                  f"--pwfile={pwfile}", "--no-sync", "--no-instructions")  # fmt: skip

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.pre, *cmd], check=True, cwd=self.dir, capture_output=True)

    def start(self) -> None:
        self._run(f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-t", "30", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-m", mode, "-w", "stop")

    def close(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def fresh_database(self) -> str:
        """A new empty database (one per cluster: the team's config versions name its fakes and ports)."""
        name = f"sb_{os.urandom(4).hex()}"
        self.query(f"CREATE DATABASE {name}")
        self.url = self.url.rsplit("/", 1)[0] + f"/{name}"
        return self.url

    def query(self, sql: str, *args: Any) -> list[Any]:
        import asyncpg

        async def run() -> list[Any]:
            conn = await asyncpg.connect(self.url)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        with ThreadPoolExecutor(1) as pool:  # callable from a test's running loop too
            return pool.submit(asyncio.run, run()).result(30)


HAPROXY_TEMPLATE = Path(__file__).parents[2] / "packaging" / "team" / "haproxy.cfg.template"


def haproxy_config(frontend: int, backends: list[int], *, timeout_server: str = "300s") -> str:
    host = f"127.0.0.1:{frontend}"
    """``packaging/team/haproxy.cfg.template`` filled in (the file the README tells users to deploy)."""
    servers = "\n".join(f"  server r{i + 1} 127.0.0.1:{p} check" for i, p in enumerate(backends))
    text = HAPROXY_TEMPLATE.read_text()
    return (
        text.replace("{{BIND}}", host)
        .replace("{{HOST}}", host)
        .replace("{{SERVERS}}", servers)
        .replace("{{TIMEOUT_SERVER}}", timeout_server)
    )


class HAProxy:
    def __init__(self, port: int, backends: list[int]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sb-haproxy-"))
        self.port = port
        self.cfg = self.dir / "haproxy.cfg"
        self.cfg.write_text(haproxy_config(self.port, backends))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.dir / "log").open("wb")
        self.proc = subprocess.Popen(["haproxy", "-f", str(self.cfg), "-db"], stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # a hard stop (returncode -15)
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class ThreadedUpstream:
    """A :class:`FakeOpenAIUpstream` served by its own loop on its own thread."""

    def __init__(self, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-upstream", daemon=True)
        self.thread.start()
        self.fake = self.call(lambda: FakeOpenAIUpstream(**kwargs))
        self.url = asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)

    def call(self, func: Callable[[], Any]) -> Any:
        done: Future[Any] = Future()

        def run() -> None:
            try:
                done.set_result(func())
            except BaseException as exc:  # pragma: no cover - reported to the caller
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(10)

    def script(self, *behaviours: Any) -> None:
        self.call(lambda: self.fake.script(*behaviours))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Replica:
    home: Path
    config: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    stderr: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        environ = {**os.environ, "SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, **self.env}
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
            environ.pop(name, None)
        self.stderr = self.home / "stderr.log"
        cmd = [sys.executable, "-m", "proxy.cli", "serve", "--home", str(self.home), "--config", str(self.config),
               "--port", str(self.port), "--no-discover"]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self.stderr.open("a"), text=True, env=environ, cwd=self.home
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("Switchboard listening on "):
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"replica did not start: {line!r}\n{self.stderr.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def flush(self) -> None:
        import redis as redis_py

        client = redis_py.Redis.from_url(self.url)
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
