"""The upstream transport: one place decides each provider's auth headers, and every use of the
network (proxied calls, the key test, the model list, discovery) goes through it, over real
sockets to fake upstreams that speak the providers' wire formats."""

from __future__ import annotations

import asyncio

import pytest

from proxy.config.schema import ProviderConfig
from proxy.providers import keytest
from proxy.providers.base import UpstreamCall
from proxy.providers.registry import open_adapter
from proxy.providers.transport import UpstreamTransport
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

KEY = "sk-transport-canary-0123456789abcdef"
CREDENTIALS = ("authorization", "x-api-key", "api-key")


def credentials(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() in (*CREDENTIALS, "anthropic-version")}


@pytest.mark.parametrize(
    ("preset", "root", "expected"),
    [
        ("custom", False, {"authorization": f"Bearer {KEY}"}),
        ("openrouter", False, {"authorization": f"Bearer {KEY}"}),
        ("azure", True, {"api-key": KEY}),
        ("anthropic", False, {"x-api-key": KEY, "anthropic-version": "2023-06-01"}),
    ],
)
async def test_each_preset_sends_its_key_in_its_own_header(preset: str, root: bool, expected: dict) -> None:
    async with FakeOpenAIUpstream(api_key=KEY) as fake:
        base = fake.base_url.removesuffix("/v1") if root else fake.base_url
        provider = ProviderConfig(id="p", preset=preset, base_url=base, key={"env": "UNUSED"})
        async with UpstreamTransport(provider, KEY) as transport:
            await transport.get("v1/models" if root else "models", 1024)
        assert credentials(fake.requests[-1].headers) == expected
        assert fake.requests[-1].headers["User-Agent"] == "Switchboard/0.1"
        assert fake.requests[-1].headers["Accept-Encoding"] == "identity"


async def test_without_a_key_no_credential_is_sent() -> None:
    async with FakeOpenAIUpstream(api_key=None) as fake:
        provider = ProviderConfig(id="local", preset="ollama", base_url=fake.base_url)
        async with UpstreamTransport(provider) as transport:
            status, _ = await transport.get("models", 1024)
        assert status == 200 and credentials(fake.requests[-1].headers) == {}


async def test_proxied_calls_and_the_key_test_authenticate_alike() -> None:
    """The dialect's call and the key test's model list carry the same credentials."""
    async with FakeAnthropicUpstream(api_key=KEY, bearer=False) as fake:
        provider = ProviderConfig(id="claude", preset="anthropic", base_url=f"{fake.base_url}/v1", key={"env": "X"})
        adapter = open_adapter(provider, KEY)
        try:
            body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}
            reply = await adapter.call(UpstreamCall("chat/completions", body))
            assert reply.json["object"] == "chat.completion"
        finally:
            await adapter.close()
        called = credentials(fake.requests[-1].headers)
        assert (await keytest.test_key(provider, KEY)).outcome == "accepted"
        assert fake.requests[-1].path == "/v1/models"
        assert credentials(fake.requests[-1].headers) == called == {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


async def test_a_long_model_list_is_read_whole() -> None:
    """More than one socket read's worth: the list is read to its end, not to the first chunk."""
    models = [f"org-{i:05d}/a-rather-long-model-name-to-fill-the-list" for i in range(20000)]
    async with FakeOpenAIUpstream(api_key=KEY, models=models) as fake:
        provider = ProviderConfig(id="big", preset="custom", base_url=fake.base_url)
        listed = await keytest.fetch_models(provider, KEY)
    assert listed.ok, listed.message
    assert len(listed.models) == len(models)


async def test_environment_proxy_settings_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests go straight to the provider, whatever HTTP(S)_PROXY say."""
    hits = 0

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hits
        hits += 1
        writer.close()

    canary = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    proxy = f"http://127.0.0.1:{canary.sockets[0].getsockname()[1]}"
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with FakeOpenAIUpstream(api_key=KEY) as fake:
            provider = ProviderConfig(id="p", preset="custom", base_url=fake.base_url)
            assert (await keytest.test_key(provider, KEY)).outcome == "accepted"
            adapter = open_adapter(provider, KEY)
            try:
                body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
                await adapter.call(UpstreamCall("chat/completions", body))
            finally:
                await adapter.close()
    finally:
        canary.close()
        await canary.wait_closed()
    assert hits == 0


def test_the_key_never_shows_in_a_repr() -> None:
    provider = ProviderConfig(id="p", preset="openai", key={"env": "X"})
    transport = UpstreamTransport(provider, KEY)
    adapter = open_adapter(provider, KEY)
    for thing in (transport, adapter, vars(adapter)):
        assert KEY not in repr(thing)
