"""Azure OpenAI preset: api-key header, deployment in the path, api-version in the query."""

from __future__ import annotations

import pytest

from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context

KEY = "azure-canary-key-0123456789abcdef"


async def test_azure_deployment_urls_and_api_key_header(tmp_path):
    async with FakeOpenAIUpstream(api_key=KEY, models=["prod-gpt4o-mini", "embed-3"]) as fake:
        root = fake.base_url.removesuffix("/v1")
        config = {
            "providers": [
                {
                    "id": "az",
                    "preset": "azure",
                    "base_url": root,
                    "key": {"env": "SB_AZURE_KEY"},
                    "api_version": "2024-10-21",
                    "models": ["prod-gpt4o-mini"],
                }
            ],
            "routes": [
                {"name": "fast", "targets": [{"provider": "az", "model": "prod-gpt4o-mini"}]},
                {"name": "embed", "targets": [{"provider": "az", "model": "embed-3"}]},
            ],
        }
        async with gateway_context(tmp_path, config, env={"SB_AZURE_KEY": KEY}) as ctx:
            client = ctx.openai()
            reply = await client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content
            sent = fake.requests[-1]
            assert sent.path == "/openai/deployments/prod-gpt4o-mini/chat/completions"
            assert sent.headers["api-key"] == KEY and "Authorization" not in sent.headers
            chunks = [
                c
                async for c in await client.chat.completions.create(
                    model="fast", messages=[{"role": "user", "content": "hi"}], stream=True
                )
            ]
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            emb = await client.embeddings.create(model="embed", input="x")
            assert emb.data and fake.requests[-1].path == "/openai/deployments/embed-3/embeddings"
            assert "az/prod-gpt4o-mini" in [m.id async for m in client.models.list()]
            await client.close()


def test_azure_needs_a_resource_url_and_a_valid_api_version():
    from proxy.config.schema import parse_config
    from proxy.domain.errors import ConfigError

    with pytest.raises(ConfigError, match="has no default base_url"):
        parse_config('{"providers": [{"id": "az", "preset": "azure", "key": {"env": "K"}}]}')
    with pytest.raises(ConfigError, match="providers\\[0\\].api_version"):
        parse_config(
            '{"providers": [{"id": "az", "preset": "azure", "base_url": "https://x.openai.azure.com",'
            ' "key": {"env": "K"}, "api_version": "latest"}]}'
        )
