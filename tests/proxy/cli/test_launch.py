"""``switchboard launch TOOL``: fake tool executables on PATH print the environment and arguments
they were started with (the Claude one also asks the gateway through them), against a real
``switchboard serve``; nothing is written to the tools' config (HOME stays empty)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ACCESS_KEY, serve_subprocess

CONFIG = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}
PREFIXES = ("ANTHROPIC", "OPENAI", "AIDER", "OPENCODE", "GEMINI", "GOOGLE", "SWITCHBOARD_ACCESS")

FAKE_TOOL = f"""#!{sys.executable}
import json, os, sys, urllib.request
env = {{k: v for k, v in os.environ.items() if k.startswith({PREFIXES!r})}}
out = {{"tool": os.path.basename(sys.argv[0]), "argv": sys.argv[1:], "env": env}}
if out["tool"] == "claude":  # talk to the gateway the way Claude Code does
    body = {{"model": env["ANTHROPIC_MODEL"], "max_tokens": 20, "messages": [{{"role": "user", "content": "hi"}}]}}
    req = urllib.request.Request(env["ANTHROPIC_BASE_URL"] + "/v1/messages", data=json.dumps(body).encode(),
        headers={{"Authorization": "Bearer " + env["ANTHROPIC_AUTH_TOKEN"], "content-type": "application/json",
                 "anthropic-version": "2023-06-01"}})
    out["answer"] = json.load(urllib.request.urlopen(req, timeout=20))["content"][0]["text"]
print(json.dumps(out))
sys.exit(7)
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    home = tmp_path_factory.mktemp("launch-home")
    config = home / "config.json"
    config.write_text(json.dumps(CONFIG))
    proc, url = serve_subprocess(home, config)
    try:
        yield home, url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "codex", "aider", "opencode", "gemini"):
        path = bin_dir / name
        path.write_text(FAKE_TOOL)
        path.chmod(0o755)
    return bin_dir


def launch(tool: str, url: str, tools: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    user_home = tmp_path / "user-home"
    user_home.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "HOME": str(user_home)}
    env |= {"SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, "ANTHROPIC_API_KEY": "sk-ant-should-be-removed"}
    command = [sys.executable, "-m", "proxy.cli", "launch", tool, "--url", url, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_claude_answers_through_the_gateway(gateway, tools, tmp_path) -> None:
    _, url = gateway
    result = launch("claude", url, tools, tmp_path, "--model", "demo", "--", "-p", "--verbose")
    assert result.returncode == 7, result.stderr  # the tool's own exit code
    out = json.loads(result.stdout)
    assert out["argv"] == ["-p", "--verbose"]
    assert out["env"]["ANTHROPIC_BASE_URL"] == url and out["env"]["ANTHROPIC_AUTH_TOKEN"] == ACCESS_KEY
    assert "ANTHROPIC_API_KEY" not in out["env"]
    assert "hi" in out["answer"]
    assert list((tmp_path / "user-home").iterdir()) == []  # nothing written to the tool's config


@pytest.mark.parametrize(
    ("tool", "expected", "argv"),
    [
        ("codex", {"OPENAI_BASE_URL": "{url}/v1", "OPENAI_API_KEY": ACCESS_KEY}, ["--model", "demo"]),
        ("aider", {"OPENAI_API_BASE": "{url}/v1", "OPENAI_API_KEY": ACCESS_KEY, "AIDER_MODEL": "openai/demo"}, []),
        ("gemini", {"GOOGLE_GEMINI_BASE_URL": "{url}", "GEMINI_API_KEY": ACCESS_KEY, "GEMINI_MODEL": "demo"}, []),
    ],
)
def test_each_tool_gets_its_own_variables(gateway, tools, tmp_path, tool, expected, argv) -> None:
    _, url = gateway
    out = json.loads(launch(tool, url, tools, tmp_path, "--model", "demo").stdout)
    for name, value in expected.items():
        assert out["env"][name] == value.format(url=url)
    assert out["argv"] == argv


def test_opencode_gets_an_inline_config_with_the_key_by_reference(gateway, tools, tmp_path) -> None:
    _, url = gateway
    out = json.loads(launch("opencode", url, tools, tmp_path, "--model", "demo").stdout)
    config = json.loads(out["env"]["OPENCODE_CONFIG_CONTENT"])
    assert config["model"] == "switchboard/demo"
    options = config["provider"]["switchboard"]["options"]
    assert options == {"baseURL": f"{url}/v1", "apiKey": "{env:SWITCHBOARD_ACCESS_KEY}"}
    assert ACCESS_KEY not in out["env"]["OPENCODE_CONFIG_CONTENT"]


def test_a_gateway_that_is_not_running_is_said_with_how_to_start_it(tools, tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = launch("claude", f"http://127.0.0.1:{port}", tools, tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert f"Switchboard is not running at http://127.0.0.1:{port}" in result.stderr
    assert "`switchboard serve`" in result.stderr


def test_a_missing_tool_says_how_to_install_it(gateway, tmp_path) -> None:
    _, url = gateway
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "SWITCHBOARD_ACCESS_KEY": ACCESS_KEY}
    result = subprocess.run(
        [sys.executable, "-m", "proxy.cli", "launch", "codex", "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1 and "npm install -g @openai/codex" in result.stderr


def test_claude_through_the_gateway_to_an_https_upstream_behind_a_proxy(tools, tmp_path) -> None:
    """The issue's newcomer path: `switchboard launch claude` in front of an HTTPS upstream (a
    company CA, trusted through `ca_bundle`) reached through the environment's proxy, and the log
    shows it. (The real Claude Code binary: tests/e2e, opt-in.)"""
    import asyncio
    import threading

    import trustme

    from tests.fakes.forward_proxy import tinyproxy
    from tests.fakes.https_upstream import server_context
    from tests.fakes.openai_upstream import FakeOpenAIUpstream

    ca = trustme.CA(organization_name="Corp Root CA")
    ca_pem = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    loop = asyncio.new_event_loop()
    fake = FakeOpenAIUpstream(api_key="sk-corp-upstream", ssl_context=server_context(ca, "upstream.corp.test"))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    home = tmp_path / "gw"
    home.mkdir()
    config = home / "config.json"
    config.write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "id": "corp",
                        "base_url": f"https://upstream.corp.test:{fake.port}/v1",
                        "key": {"env": "CORP_KEY"},
                        "ca_bundle": str(ca_pem),
                    }
                ],
                "routes": [{"name": "corp-model", "targets": [{"provider": "corp", "model": "gpt-4o-mini"}]}],
            }
        )
    )
    try:
        with tinyproxy(tmp_path / "proxy", hosts={"upstream.corp.test": "127.0.0.1"}) as proxy:
            env = {"HTTPS_PROXY": proxy.url, "CORP_KEY": "sk-corp-upstream"}
            gw, url = serve_subprocess(home, config, env=env)
            try:
                result = launch("claude", url, tools, tmp_path, "--model", "corp-model")
                out = json.loads(result.stdout)
                assert out["answer"] == "Hello from fake upstream! You said: hi"
                assert proxy.connects() == [f"upstream.corp.test:{fake.port}"]
                for _ in range(50):  # the log is written in batches by its own thread
                    rows = subprocess.run(
                        [sys.executable, "-m", "proxy.cli", "logs", "--json", "--home", str(home)],
                        capture_output=True,
                        text=True,
                        timeout=30,
                    ).stdout.splitlines()
                    messages = [json.loads(r) for r in rows if json.loads(r)["surface"] == "messages"]
                    if messages:
                        break
                    time.sleep(0.1)
                (row,) = messages
                assert row["status"] == "ok" and row["provider"] == "corp" and row["route"] == "corp-model"
            finally:
                gw.terminate()
                gw.wait(timeout=15)
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
