"""``switchboard keys`` against a real Secret Service: a canary key set through the CLI is used by a
running gateway for a real request, and is found in no file, log or output afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import openai
from aiohttp import web

from tests.helpers import ACCESS_KEY
from tests.proxy.cli.test_main import Server

CANARY = "sk-canary-KEYCHAIN-0123456789abcdefXYZ"


class RecordingUpstream:
    """A minimal OpenAI-style upstream on its own thread that records the Authorization it gets."""

    def __init__(self, status: int = 200) -> None:
        self.auth: list[str] = []
        self.status = status
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()

        async def models(request: web.Request) -> web.Response:
            self.auth.append(request.headers.get("Authorization", ""))
            if self.status != 200:
                return web.json_response(
                    {
                        "error": {
                            "message": "Incorrect API key provided",
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "invalid_api_key",
                        }
                    },
                    status=self.status,
                )
            return web.json_response(
                {"object": "list", "data": [{"id": "m1", "object": "model", "created": 0, "owned_by": "x"}]}
            )

        async def chat(request: web.Request) -> web.Response:
            self.auth.append(request.headers.get("Authorization", ""))
            body = await request.json()
            return web.json_response(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        app.router.add_get("/v1/models", models)
        app.router.add_post("/v1/chat/completions", chat)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        self.ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        async def stop() -> None:
            await self.runner.cleanup()
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(stop(), self.loop)
        self.thread.join(5)


def keys(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SWITCHBOARD_ACCESS_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "proxy.cli", "keys", *args, "--home", str(home)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_key_set_through_cli_is_used_and_appears_nowhere(tmp_path, secret_service):
    upstream = RecordingUpstream()
    home = tmp_path / "home"
    config = home / "config" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        '{"providers": [{"id": "up", "preset": "custom", "base_url": "http://127.0.0.1:%d/v1"}],'
        ' "routes": [{"name": "r", "targets": [{"provider": "up", "model": "m"}]}]}' % upstream.port
    )
    outputs = []
    server = Server(["serve", "--home", str(home), "--port", "0"])
    try:
        result = keys(home, "set", "up", stdin=CANARY + "\n")
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, result.stderr
        assert "Stored the key for 'up' in the OS keychain (sk-…fXYZ)" in result.stdout
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=ACCESS_KEY, max_retries=0)
        for _ in range(40):  # the running gateway picks up the new config and key within a second
            client.chat.completions.create(model="r", messages=[{"role": "user", "content": "x"}])
            if upstream.auth[-1] == f"Bearer {CANARY}":
                break
            time.sleep(0.1)
        assert upstream.auth[-1] == f"Bearer {CANARY}"

        listing = keys(home, "list")
        outputs.append(listing.stdout + listing.stderr)
        assert "keychain 'up'" in listing.stdout and "sk-…fXYZ" in listing.stdout
        tested = keys(home, "test", "up")
        outputs.append(tested.stdout + tested.stderr)
        assert tested.returncode == 0 and "up: key accepted" in tested.stdout
        history = subprocess.run(
            [sys.executable, "-m", "proxy.cli", "config", "history", "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "cli" in history.stdout and "providers: ~up" in history.stdout
    finally:
        outputs.append("".join(server.stop()[1:]))
    # after a restart the key comes back from the keychain
    server = Server(["serve", "--home", str(home), "--port", "0"])
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=ACCESS_KEY, max_retries=0)
        upstream.auth.clear()
        assert client.chat.completions.create(model="r", messages=[{"role": "user", "content": "x"}]).choices
        assert upstream.auth == [f"Bearer {CANARY}"]
    finally:
        outputs.append("".join(server.stop()[1:]))
        upstream.close()
    for text in outputs:
        assert CANARY not in text
    for path in home.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_keys_test_reports_rejection_and_unreachable(tmp_path, secret_service):
    upstream = RecordingUpstream(status=401)
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.json").write_text(
        '{"providers": [{"id": "up", "preset": "custom", "base_url": "http://127.0.0.1:%d/v1"},'
        ' {"id": "dead", "preset": "custom", "base_url": "http://127.0.0.1:9/v1"}]}' % upstream.port
    )
    try:
        assert keys(home, "set", "up", stdin=CANARY).returncode == 0
        rejected = keys(home, "test", "up")
        assert rejected.returncode == 1 and "up: key rejected (401): " in rejected.stdout
        assert "Incorrect API key provided" in rejected.stdout and CANARY not in rejected.stdout
        dead = keys(home, "test", "dead")
        assert dead.returncode == 1 and "dead: unreachable" in dead.stdout
        deleted = keys(home, "delete", "up")
        assert "Deleted the key of 'up'" in deleted.stdout
        assert "(unavailable: keychain entry 'up' does not exist)" in keys(home, "list").stdout
    finally:
        upstream.close()


def test_keys_set_adds_a_preset_provider(tmp_path, secret_service):
    home = tmp_path / "home"
    result = keys(home, "set", "openai", stdin="sk-test-preset-0000000000000000\n")
    assert result.returncode == 0, result.stderr
    text = (home / "config" / "config.json").read_text()
    assert '"preset": "openai"' in text and '"keychain": "openai"' in text and "sk-test-preset" not in text
    assert keys(home, "set", "nonsense").returncode == 1
