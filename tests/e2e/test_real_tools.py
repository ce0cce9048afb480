"""Real tools end to end (opt-in): Claude Code (``claude -p``), Codex CLI (``codex exec``) and
Gemini CLI (``gemini -p``), installed from npm as ready binaries, run offline against Switchboard,
which routes them to a fake OpenAI-compatible upstream, a fake Anthropic upstream and (Gemini CLI)
a fake Gemini upstream.

Opt in with ``SWITCHBOARD_E2E=1`` (the first run installs both tools with npm into
``~/.cache/switchboard-e2e``, about 640 MB). Skipped, with the reason, when npm is missing or the
install fails. Each tool runs with a throwaway HOME (Claude Code, Gemini CLI) or CODEX_HOME (Codex),
update checks, telemetry, usage statistics and analytics off, and nothing but 127.0.0.1 to talk to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.gemini_upstream import FakeGeminiUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import ACCESS_KEY, gateway_context

PACKAGES = {"claude": "@anthropic-ai/claude-code", "codex": "@openai/codex", "gemini": "@google/gemini-cli"}
CACHE = Path(os.environ.get("SWITCHBOARD_E2E_CACHE", Path.home() / ".cache" / "switchboard-e2e"))
OPENAI_KEY = "sk-e2e-openai-upstream-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-e2e-upstream-0123456789abcdef"
GEMINI_KEY = "AIzaSyE2E-gemini-upstream-0123456789abcd"

pytestmark = pytest.mark.skipif(os.environ.get("SWITCHBOARD_E2E") != "1", reason="opt-in: set SWITCHBOARD_E2E=1")


def tool(name: str) -> Path:
    """The tool's binary, installed from npm on first use."""
    binary = CACHE / "node_modules" / ".bin" / name
    if binary.exists():
        return binary
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", *PACKAGES.values()],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not binary.exists():
        pytest.skip(f"npm could not install {PACKAGES[name]}: {result.stderr[-500:]}")
    return binary


class TextFirstUpstream(FakeOpenAIUpstream):
    """The OpenAI fake, answering in text unless a tool is required or asked for by name, as a real
    model mostly does (the plain fake calls the first tool whenever tools are offered, and an
    agent would then call tools forever)."""

    def _check_body(self, parsed, raw):  # noqa: ANN001, ANN202 - the fake's own hook
        body = super()._check_body(parsed, raw)
        if isinstance(body, dict) and body.get("tool_choice") in (None, "auto"):
            body = {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}
        return body


def gateway_config(openai_fake: FakeOpenAIUpstream, claude: FakeAnthropicUpstream) -> dict:
    return {
        "providers": [
            {"id": "compat", "base_url": openai_fake.base_url, "key": {"env": "SB_E2E_OPENAI"}},
            {"id": "claude", "preset": "anthropic", "base_url": f"{claude.base_url}/v1", "key": {"env": "SB_E2E_ANT"}},
        ],
        "routes": [
            # Claude Code's and Codex's hard-coded model names, mapped by globs
            {"name": "via-openai", "targets": [{"provider": "compat", "model": "gpt-4o-mini"}]},
            {"name": "via-anthropic", "targets": [{"provider": "claude", "model": "claude-haiku-4-5"}]},
        ],
        "default_route": "via-openai",
    }


ENV = {"SB_E2E_OPENAI": OPENAI_KEY, "SB_E2E_ANT": ANTHROPIC_KEY}


def clean_env(**extra: str) -> dict[str, str]:
    prefixes = ("ANTHROPIC_", "OPENAI_", "CODEX_", "CLAUDE_", "GEMINI_", "GOOGLE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def run_claude(base_url: str, home: Path, model: str) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        HOME=str(home),
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_AUTH_TOKEN=ACCESS_KEY,
        ANTHROPIC_MODEL=model,
        ANTHROPIC_DEFAULT_HAIKU_MODEL=model,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
    )
    return subprocess.run(
        [str(tool("claude")), "-p", "say pong"], capture_output=True, text=True, timeout=180, env=env, cwd=home
    )


def run_codex(base_url: str, home: Path, model: str) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "switchboard"\n'
        "check_for_update_on_startup = false\n\n"
        "[model_providers.switchboard]\n"
        'name = "Switchboard"\n'
        f'base_url = "{base_url}/v1"\n'
        'env_key = "SWITCHBOARD_API_KEY"\n'
        'wire_api = "responses"\n\n'
        "[analytics]\nenabled = false\n"
    )
    env = clean_env(HOME=str(home), CODEX_HOME=str(home), SWITCHBOARD_API_KEY=ACCESS_KEY)
    return subprocess.run(
        [str(tool("codex")), "exec", "--skip-git-repo-check", "say pong"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=home,
    )


def run_gemini(base_url: str, home: Path, model: str) -> subprocess.CompletedProcess[str]:
    settings = {  # offline: no usage statistics, telemetry or update checks; the API-key auth
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True, "enableAutoUpdate": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "usageStatisticsEnabled": False,  # the v1 names, for older releases
        "disableAutoUpdate": True,
    }
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    env = clean_env(
        HOME=str(home),
        GEMINI_API_KEY=ACCESS_KEY,
        GOOGLE_GEMINI_BASE_URL=base_url,
        GEMINI_TELEMETRY_ENABLED="false",
        GEMINI_CLI_NO_RELAUNCH="true",
        GEMINI_CLI_TRUST_WORKSPACE="true",  # a throwaway home, trusted for this run
    )
    return subprocess.run(
        [str(tool("gemini")), "-m", model, "-p", "say pong"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=home,
    )


@pytest.mark.parametrize("route", ["via-openai", "via-anthropic", "via-gemini"])
async def test_gemini_cli_gets_an_answer_through_switchboard(tmp_path: Path, route: str) -> None:
    """compat: gemini-cli x openai-compatible / anthropic / gemini."""
    tool("gemini")
    async with (
        TextFirstUpstream(api_key=OPENAI_KEY) as openai_fake,
        FakeAnthropicUpstream(api_key=ANTHROPIC_KEY, bearer=False) as claude,
        FakeGeminiUpstream(api_key=GEMINI_KEY) as gemini_fake,
    ):
        config = gateway_config(openai_fake, claude)
        config["providers"].append(
            {"id": "gem", "preset": "gemini", "base_url": gemini_fake.base_url, "key": {"env": "SB_E2E_GEM"}}
        )
        config["routes"].append({"name": "via-gemini", "targets": [{"provider": "gem", "model": "gemini-2.5-flash"}]})
        config["default_route"] = route  # the CLI's own helper calls name Gemini models
        async with gateway_context(tmp_path, config, env={**ENV, "SB_E2E_GEM": GEMINI_KEY}) as ctx:
            result = await asyncio_to_thread(run_gemini, ctx.base_url, tmp_path / "gemini-home", route)
            output = result.stdout + result.stderr
            assert result.returncode == 0, output[-3000:]
            expected = {"via-openai": "Hello from fake upstream!", "via-anthropic": "Hello from fake Claude!"}
            assert expected.get(route, "Hello from fake Gemini!") in result.stdout, output[-3000:]
            rows = ctx.rows()
            gemini_rows = [r for r in rows if r.surface.startswith("gemini")]
            assert gemini_rows and all(r.status == "ok" for r in gemini_rows), [
                (r.surface, r.status, r.error) for r in rows
            ]
            upstream = {"via-openai": openai_fake, "via-anthropic": claude, "via-gemini": gemini_fake}[route]
            assert upstream.requests, "the answer came from the routed upstream"


@pytest.mark.parametrize("route", ["via-openai", "via-anthropic"])
@pytest.mark.parametrize("name", ["claude", "codex"])
async def test_real_tool_gets_an_answer_through_switchboard(tmp_path: Path, name: str, route: str) -> None:
    """compat: claude-code x openai-compatible / anthropic; codex-cli x openai-compatible / anthropic."""
    tool(name)  # install (or skip) before anything starts
    async with (
        TextFirstUpstream(api_key=OPENAI_KEY) as openai_fake,
        FakeAnthropicUpstream(api_key=ANTHROPIC_KEY, bearer=False) as claude,
    ):
        async with gateway_context(tmp_path, gateway_config(openai_fake, claude), env=ENV) as ctx:
            runner = run_claude if name == "claude" else run_codex
            result = await asyncio_to_thread(runner, ctx.base_url, tmp_path / f"{name}-home", route)
            output = result.stdout + result.stderr
            assert result.returncode == 0, output[-3000:]
            expected = "Hello from fake Claude!" if route == "via-anthropic" else "Hello from fake upstream!"
            assert expected in result.stdout, output[-3000:]
            rows = ctx.rows()
            assert rows and all(r.status == "ok" for r in rows if r.surface in ("messages", "responses")), [
                (r.surface, r.status, r.error) for r in rows
            ]
            upstream = claude if route == "via-anthropic" else openai_fake
            assert upstream.requests, "the answer came from the routed upstream"


async def asyncio_to_thread(func, *args):  # noqa: ANN001, ANN201 - a thin alias, keeps the loop free while the tool runs
    import asyncio

    return await asyncio.to_thread(func, *args)
