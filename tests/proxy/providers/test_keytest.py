"""A provider's model list, asked with its key in the provider's own header; local server discovery."""

from __future__ import annotations

from proxy.config.schema import ProviderConfig
from proxy.providers.discovery import LocalServer, find_local_servers
from proxy.providers.keytest import fetch_models
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

KEY = "sk-keytest-models-0123456789abcdef"


async def test_models_of_an_openai_style_provider_are_asked_with_bearer() -> None:
    async with FakeOpenAIUpstream(api_key=KEY, models=["gpt-4o-mini", "gpt-4.1"]) as fake:
        provider = ProviderConfig(id="fake", preset="custom", base_url=fake.base_url)
        listed = await fetch_models(provider, KEY)
        assert listed.ok and listed.models == ("gpt-4.1", "gpt-4o-mini")
        assert "2 models" in listed.message
        assert fake.requests[-1].path == "/v1/models"
        assert fake.requests[-1].headers["Authorization"] == f"Bearer {KEY}"

        refused = await fetch_models(provider, "sk-keytest-wrong-000000000000")
        assert not refused.ok and refused.models == ()
        assert "refused the key (401)" in refused.message and "Paste a new key" in refused.message
        assert "wrong" not in refused.message


async def test_models_of_an_anthropic_provider_are_asked_with_x_api_key() -> None:
    async with FakeAnthropicUpstream(api_key=KEY, bearer=False) as fake:
        provider = ProviderConfig(id="claude", preset="anthropic", base_url=f"{fake.base_url}/v1", key={"env": "X"})
        listed = await fetch_models(provider, KEY)
        assert listed.ok and listed.models, listed.message
        assert fake.requests[-1].headers["x-api-key"] == KEY
        assert "Authorization" not in fake.requests[-1].headers


async def test_an_unreachable_provider_is_explained() -> None:
    provider = ProviderConfig(id="gone", preset="ollama", base_url="http://127.0.0.1:9/v1")
    listed = await fetch_models(provider, None)
    assert not listed.ok
    assert listed.message.startswith("Could not reach Ollama (local) at http://127.0.0.1:9/v1")
    assert listed.message.endswith("Is it running?")


async def test_local_servers_are_found_where_told_to_look() -> None:
    async with FakeOpenAIUpstream(api_key=None, models=["llama3.2", "qwen2.5"]) as fake:
        found = await find_local_servers(addresses={"ollama": fake.base_url, "lmstudio": "http://127.0.0.1:9/v1"})
    assert found == (LocalServer("ollama", fake.base_url, ("llama3.2", "qwen2.5")),)
    assert found[0].label == "Ollama"
