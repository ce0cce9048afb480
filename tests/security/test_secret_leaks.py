"""Secrets never leak (RELIABILITY K-01a, K-01d, K-01e).

Canary keys for three providers (OpenAI-compatible, Azure, Gemini) and a canary access key; the
gateway runs as a real ``switchboard serve -vv`` process (debug logging on, body capture on); the
test drives success, stream, every upstream error kind (including an upstream that echoes the key
back in its error), timeouts, a stream cut after content, a refused connection, and bad client
keys; then scans everything the gateway produced: its stdout/stderr, every file in its home
(SQLite database and WAL, config versions), every response body and header it sent, the
``/metrics`` and ``/switchboard/status`` output, and the ``logs --json`` and ``config history``
commands. Each canary must occur zero times, whole or in part.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.fakes.openai_upstream import FakeOpenAIUpstream, Hang, OpenAIError, Stream
from tests.security import figures

CANARIES = {
    "SB_LEAK_OPENAI": "sk-proj-CANARYopenai7Qx2Lr9Vt4Mz8Wn1Kp6Hd3",
    "SB_LEAK_AZURE": "CANARYazure5f0c9e2b7a1d4c8e6b3f9a0d2c5e8b1",
    "SB_LEAK_GEMINI": "AIzaSyCANARYgemini-Uv3Xw5Yz7Ab9Cd1Ef3Gh5",
}
ACCESS_CANARY = "sb-CANARYaccess-4Jf8Kd2Lm6Np0Qr4St8Uv2Wx6"
ALL = [*CANARIES.values(), ACCESS_CANARY]


def fragments(secret: str) -> list[str]:
    """The whole secret and its distinctive middle (a partial leak is a leak)."""
    return [secret, secret[8:-6]]


def scan(text: str, where: str) -> list[str]:
    found = [f"{where}: {frag!r}" for secret in ALL for frag in fragments(secret) if frag in text]
    figures.add("canary_scans", source=__name__)
    figures.add("canary_bytes", len(text))
    figures.add("canary_leaks", len(found))
    return found


async def test_no_canary_anywhere_after_every_code_path(tmp_path: Path) -> None:
    openai_up = FakeOpenAIUpstream(api_key=CANARIES["SB_LEAK_OPENAI"])
    azure_up = FakeOpenAIUpstream(api_key=None)  # the Azure fake checks the api-key header itself
    gemini_up = FakeOpenAIUpstream(api_key=CANARIES["SB_LEAK_GEMINI"])
    async with openai_up, azure_up, gemini_up:
        timeouts = {"connect": 1, "first_token": 1, "idle": 1, "total": 3}
        config = {
            "providers": [
                {"id": "oa", "base_url": openai_up.base_url, "key": {"env": "SB_LEAK_OPENAI"}, "timeouts": timeouts},
                {
                    "id": "az",
                    "preset": "azure",
                    "base_url": azure_up.base_url.removesuffix("/v1"),
                    "key": {"env": "SB_LEAK_AZURE"},
                },
                {
                    "id": "gm",
                    "preset": "gemini-openai",
                    "base_url": gemini_up.base_url,
                    "key": {"env": "SB_LEAK_GEMINI"},
                },
                {"id": "gone", "base_url": "http://127.0.0.1:9/v1", "key": {"env": "SB_LEAK_OPENAI"}},
            ],
            "routes": [
                {"name": "oa", "targets": [{"provider": "oa", "model": "gpt-4o-mini"}], "retries": {"max_retries": 0}},
                {"name": "az", "targets": [{"provider": "az", "model": "gpt-4o-mini"}]},
                {"name": "gm", "targets": [{"provider": "gm", "model": "gpt-4o-mini"}]},
                {"name": "gone", "targets": [{"provider": "gone", "model": "x"}], "retries": {"max_retries": 0}},
            ],
            "logging": {"store_bodies": True},
        }
        home = tmp_path / "home"
        cfg = tmp_path / "config.json"
        cfg.write_text(json.dumps(config))
        env = {**os.environ, **CANARIES, "SWITCHBOARD_ACCESS_KEY": ACCESS_CANARY}
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(name, None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "proxy.cli",
            "serve",
            "-vv",
            "--home",
            str(home),
            "--config",
            str(cfg),
            "--port",
            "0",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        base = first.strip().removeprefix("Switchboard listening on ")
        assert base.startswith("http://127.0.0.1:"), first
        leaks: list[str] = []
        auth = {"Authorization": f"Bearer {ACCESS_CANARY}"}
        try:
            # Upstreams that misbehave, some echoing the key they were sent.
            echo = f"Incorrect API key provided: {CANARIES['SB_LEAK_OPENAI']}"
            openai_up.script(
                OpenAIError(401, echo, code="invalid_api_key"),
                OpenAIError(500, f"internal error while using Authorization: Bearer {CANARIES['SB_LEAK_OPENAI']}"),
                OpenAIError(429, f"key {CANARIES['SB_LEAK_OPENAI']} is rate limited"),
                Hang(),
                Stream(chunks=["leak ", "check"], then="reset"),
                Stream(
                    error={"error": {"message": f"mid-stream, key={CANARIES['SB_LEAK_OPENAI']}", "code": 500}},
                    chunks=["a"],
                    then="error_event",
                ),
            )
            gemini_up.script(OpenAIError(400, f"API key not valid: {CANARIES['SB_LEAK_GEMINI']}"))
            requests = [
                ("oa", False), ("oa", False), ("oa", False), ("oa", False), ("oa", True), ("oa", True),
                ("oa", False), ("oa", True), ("az", False), ("az", True), ("gm", False), ("gm", False),
                ("gone", False), ("nope", False),
            ]  # fmt: skip
            async with aiohttp.ClientSession() as http:
                for model, stream in requests:
                    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
                    async with http.post(f"{base}/v1/chat/completions", json=body, headers=auth) as resp:
                        raw = await resp.read()
                        leaks += scan(raw.decode("utf-8", "replace") + repr(dict(resp.headers)), f"answer {model}")
                for bad in ("Bearer " + ACCESS_CANARY[:-1], "Bearer " + CANARIES["SB_LEAK_OPENAI"]):
                    headers = {"Authorization": bad}
                    async with http.post(f"{base}/v1/chat/completions", json={}, headers=headers) as resp:
                        leaks += scan(await resp.text(), "401 answer")
                for path in ("/metrics", "/switchboard/status", "/v1/models"):
                    async with http.get(f"{base}{path}", headers=auth) as resp:
                        leaks += scan(await resp.text(), path)
            # A header bomb whose oversized line carries the key: aiohttp's parser error quotes the
            # line's start, in its answer (to the sender only) and in the gateway's error log.
            host, port = base.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                f"GET /v1/models HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {ACCESS_CANARY}".encode()
                + b"x" * 20_000
                + b"\r\n\r\n"
            )
            answer = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            assert answer.startswith(b"HTTP/1.0 400 "), answer[:100]
            await asyncio.sleep(0.5)  # let the log writer commit
            for args in (["logs", "--json", "-n", "100"], ["config", "history"]):
                out = subprocess.run(
                    [sys.executable, "-m", "proxy.cli", *args, "--home", str(home), "--config", str(cfg)],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    env=env,
                )
                assert out.returncode == 0, out.stderr
                leaks += scan(out.stdout + out.stderr, " ".join(args))
                if args[0] == "logs":
                    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
                    assert len(rows) >= len(requests) + 2
        finally:
            proc.send_signal(signal.SIGTERM)
            out_rest, err = await asyncio.wait_for(proc.communicate(), 30)
        stdout = first + out_rest.decode("utf-8", "replace")
        stderr = err.decode("utf-8", "replace")
        assert " INFO " in stderr, "logging was on (-vv: debug level)"
        leaks += scan(stdout, "stdout") + scan(stderr, "stderr")
        databases = list(home.rglob("*.db"))
        captured = 0
        for db in databases:
            with contextlib.closing(sqlite3.connect(db)) as conn:
                tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "requests" in tables:
                    captured += conn.execute(
                        "SELECT count(*) FROM requests WHERE response_body IS NOT NULL"
                    ).fetchone()[0]
        assert captured >= 3, "body capture was on"
        for path in home.rglob("*"):
            if path.is_file():
                leaks += scan(path.read_bytes().decode("latin-1"), str(path.relative_to(tmp_path)))
        assert sum(r.headers.get("Authorization", "").endswith(CANARIES["SB_LEAK_OPENAI"]) for r in openai_up.requests)
        assert azure_up.requests and azure_up.requests[0].headers["api-key"] == CANARIES["SB_LEAK_AZURE"]
        assert leaks == []
