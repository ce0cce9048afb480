"""``switchboard import litellm|claude-code-router``: sample files written from each project's
documented format become a valid config version; keys written in the files never reach the config
(environment references, or the keychain with --keychain); every unmapped setting is printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from proxy.config.importers import from_claude_code_router, from_litellm
from proxy.config.schema import load_config

SAMPLES = Path(__file__).parent / "samples"
LITELLM = SAMPLES / "litellm.yaml"
CCR = SAMPLES / "claude-code-router.json"


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SWITCHBOARD_ACCESS_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "proxy.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_litellm_model_groups_become_routes_and_deployments_providers() -> None:
    imported = from_litellm(YAML(typ="safe", pure=True).load(LITELLM.read_text()))
    config = imported.config
    providers = {p.id: p for p in config.providers}
    assert set(providers) == {"openai", "azure", "anthropic", "ollama"}
    assert providers["openai"].key.env == "OPENAI_API_KEY" and providers["openai"].timeouts.total == 300
    assert providers["azure"].base_url == "https://my-endpoint-eu.openai.azure.com"
    assert providers["azure"].api_version == "2024-10-21" and providers["azure"].key.env == "AZURE_API_KEY_EU"
    assert providers["anthropic"].key.env == "ANTHROPIC_API_KEY"  # the key in the file was not copied
    assert providers["ollama"].base_url == "http://localhost:11434/v1" and providers["ollama"].key is None
    routes = {r.name: r for r in config.routes}
    gpt = routes["gpt-4o"]
    assert gpt.strategy == "lowest-latency" and [(t.provider, t.model, t.weight) for t in gpt.targets] == [
        ("openai", "gpt-4o", 1.0),
        ("azure", "gpt-4o-eu", 2.0),
    ]
    assert gpt.retries.max_retries == 3 and gpt.cooldown.failures == 4 and gpt.cooldown.seconds == 45
    claude = routes["claude-sonnet"]  # fallbacks: its own target first, then gpt-4o's
    assert [t.provider for t in claude.targets] == ["anthropic", "openai", "azure"] and claude.strategy == "fallback"
    assert [t.provider for t in routes["local-coder"].targets] == ["ollama", "anthropic"]
    assert "bedrock-claude" not in routes
    notes = "\n".join(imported.notes)
    for expected in (
        "model_list[4] (bedrock-claude): no Switchboard preset for LiteLLM provider 'bedrock'",
        "model_list[2].litellm_params.api_key: the key was written in the file itself and was not copied; "
        "set ANTHROPIC_API_KEY",
        "model_list[0].litellm_params.rpm",
        "model_list[2].litellm_params.max_retries",
        "model_list[3].model_info",
        "router_settings.redis_host",
        "litellm_settings.drop_params",
        "litellm_settings.success_callback",
        "general_settings.master_key: no equivalent; not imported (clients use Switchboard access keys",
        "general_settings.database_url",
    ):
        assert expected in notes, expected
    assert "sk-ant-written" not in config.model_dump_json() and "sk-ant-written" not in notes


def test_claude_code_router_providers_router_and_proxy() -> None:
    imported = from_claude_code_router(json.loads(CCR.read_text()))
    config = imported.config
    providers = {p.id: p for p in config.providers}
    assert providers["openrouter"].preset == "openrouter"
    assert providers["openrouter"].base_url == "https://openrouter.ai/api/v1"
    assert providers["openrouter"].key.env == "OPENROUTER_API_KEY"
    assert providers["openrouter"].models == ["google/gemini-2.5-pro-preview", "anthropic/claude-sonnet-4"]
    assert providers["openrouter"].proxy == "http://127.0.0.1:7890" and providers["openrouter"].timeouts.total == 600
    assert providers["deepseek"].preset == "deepseek" and providers["deepseek"].key.env == "DEEPSEEK_API_KEY"
    assert providers["ollama"].preset == "ollama" and providers["ollama"].key is None
    assert providers["ollama"].proxy is None  # a local server never goes through the proxy
    routes = {r.name: [(t.provider, t.model) for t in r.targets] for r in config.routes}
    assert routes["default"] == [("deepseek", "deepseek-chat")] and config.default_route == "default"
    assert routes["background"] == routes["claude-*haiku*"] == [("ollama", "qwen2.5-coder:latest")]
    assert routes["think"] == [("deepseek", "deepseek-reasoner")]
    assert "webSearch" not in routes
    notes = "\n".join(imported.notes)
    for expected in (
        "Router.think: no automatic switch; the route 'think' exists",
        "Router.longContextThreshold: no equivalent",
        "Router.webSearch 'missing,some-model': no provider 'missing'",
        "Providers[0].transformer",
        "Providers[1].api_key: the key was written in the file itself",
        "APIKEY: no equivalent; not imported (clients use Switchboard access keys)",
        "LOG: no equivalent",
        "NON_INTERACTIVE_MODE",
    ):
        assert expected in notes, expected


def test_the_cli_saves_a_new_version_and_prints_what_has_no_equivalent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = cli(home, "import", "litellm", str(LITELLM))
    assert done.returncode == 0, done.stderr
    assert "Config version 1: 4 providers and 3 routes" in done.stdout
    assert "- general_settings.master_key" in done.stderr and "OPENAI_API_KEY" in done.stderr
    config_file = home / "config" / "config.json"
    assert load_config(config_file).routes[0].name == "gpt-4o"
    assert "sk-ant-written" not in config_file.read_text()
    again = cli(home, "import", "claude-code-router", str(CCR))
    assert "Config version 2" in again.stdout
    history = cli(home, "config", "history").stdout
    assert "import from litellm litellm.yaml" in history and "import from claude-code-router" in history
    dry = cli(home, "import", "litellm", str(LITELLM), "--dry-run")
    assert json.loads(dry.stdout)["routes"][0]["name"] == "gpt-4o"
    assert "Config version 3" not in dry.stdout


def test_keys_move_into_the_keychain_on_request(tmp_path: Path, secret_service) -> None:
    home = tmp_path / "home"
    done = cli(home, "import", "claude-code-router", str(CCR), "--keychain")
    assert done.returncode == 0, done.stderr
    assert "Moved 1 key(s) into the OS keychain: deepseek." in done.stdout
    config = load_config(home / "config" / "config.json")
    deepseek = next(p for p in config.providers if p.id == "deepseek")
    assert deepseek.key.keychain == "deepseek"
    listing = cli(home, "keys", "list")
    assert "keychain 'deepseek'" in listing.stdout and "sk-…0123" in listing.stdout


def test_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("model_list: [\n")
    done = cli(tmp_path / "home", "import", "litellm", str(bad))
    assert done.returncode == 1 and "not valid YAML" in done.stderr
