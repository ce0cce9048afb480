"""Local abuse: a request can never send a provider key anywhere but its configured upstream, and
nothing of the client's credentials reaches the upstream (RELIABILITY S-03a, S-04a-c)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.openai_upstream import FakeOpenAIUpstream, Reply
from tests.helpers import ACCESS_KEY, gateway_context
from tests.security import figures

UPSTREAM_KEY = "sk-local-abuse-upstream-key-0123456789"
ASK = {"model": "paid", "messages": [{"role": "user", "content": "hi"}]}


class Canary:
    """A listener that must never be contacted: counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Canary:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def config_for(upstream: FakeOpenAIUpstream) -> dict:
    return {
        "providers": [{"id": "up", "base_url": upstream.base_url, "key": {"env": "SB_ABUSE_KEY"}}],
        "routes": [{"name": "paid", "targets": [{"provider": "up", "model": "gpt-4o-mini"}]}],
    }


async def test_upstream_redirects_are_not_followed(tmp_path: Path) -> None:
    async with Canary() as canary, FakeOpenAIUpstream(api_key=UPSTREAM_KEY) as upstream:
        location = f"http://127.0.0.1:{canary.port}/v1/chat/completions"
        upstream.script(*[Reply(status=307, headers={"Location": location}, json={})] * 3)
        async with gateway_context(tmp_path, config_for(upstream), env={"SB_ABUSE_KEY": UPSTREAM_KEY}) as ctx:
            async with aiohttp.ClientSession() as http:
                url = f"{ctx.base_url}/v1/chat/completions"
                async with http.post(url, json=ASK, headers=ctx.headers()) as resp:
                    assert resp.status == 502
                    body = await resp.json()
            assert body["error"]["code"] == "upstream_redirect"
            assert canary.connections == 0
            assert ctx.rows()[-1].status == "upstream_error"


@pytest.mark.parametrize(
    "extra",
    [
        {"api_base": "CANARY"},
        {"base_url": "CANARY"},
        {"metadata": {"api_base": "CANARY"}},
        {"user_config": {"model_list": [{"litellm_params": {"api_base": "CANARY"}}]}},
        {"extra_headers": {"Host": "evil.example"}},
        {"api_key": "sk-attacker", "api_base": "CANARY"},
    ],
)
async def test_body_fields_that_would_redirect_the_key_are_refused(tmp_path: Path, extra: dict) -> None:
    async with Canary() as canary, FakeOpenAIUpstream(api_key=UPSTREAM_KEY) as upstream:
        canary_url = f"http://127.0.0.1:{canary.port}/v1"

        def fill(value):  # put the canary URL wherever the fixture says CANARY
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            return canary_url if value == "CANARY" else value

        async with gateway_context(tmp_path, config_for(upstream), env={"SB_ABUSE_KEY": UPSTREAM_KEY}) as ctx:
            async with aiohttp.ClientSession() as http:
                body = {**ASK, **fill(extra)}
                async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=ctx.headers()) as resp:
                    figures.add("bad_inputs", source=__name__)
                    figures.add("gateway_5xx", resp.status >= 500)
                    assert resp.status == 400
                    assert (await resp.json())["error"]["code"] == "forbidden_parameter"
            assert canary.connections == 0 and upstream.requests == []


async def test_client_credentials_and_forwarding_headers_never_reach_the_upstream(tmp_path: Path) -> None:
    async with FakeOpenAIUpstream(api_key=UPSTREAM_KEY) as upstream:
        async with gateway_context(tmp_path, config_for(upstream), env={"SB_ABUSE_KEY": UPSTREAM_KEY}) as ctx:
            headers = {
                **ctx.headers(),
                "x-api-key": ACCESS_KEY,
                "Cookie": "session=secret-cookie",
                "X-Forwarded-Host": "evil.example",
                "X-Forwarded-For": "203.0.113.9",
                "OpenAI-Organization": "org-attacker",
            }
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{ctx.base_url}/v1/chat/completions", json=ASK, headers=headers) as resp:
                    assert resp.status == 200
            sent = upstream.requests[0]
            assert sent.headers["Authorization"] == f"Bearer {UPSTREAM_KEY}"
            names = {k.lower() for k in sent.headers}
            assert not names & {"cookie", "x-api-key", "x-forwarded-host", "x-forwarded-for", "openai-organization"}
            everything = repr(dict(sent.headers)) + sent.raw.decode()
            assert ACCESS_KEY not in everything and "secret-cookie" not in everything


async def test_a_key_from_another_install_is_refused(tmp_path: Path) -> None:
    async with gateway_context(tmp_path / "a") as first:
        other_key = ACCESS_KEY[:-4] + "beef"  # well-formed, never issued here
        async with aiohttp.ClientSession() as http:
            url = f"{first.base_url}/v1/chat/completions"
            body = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}
            for key in (other_key, "", ACCESS_KEY + "x", ACCESS_KEY.upper()):
                async with http.post(url, json=body, headers={"Authorization": f"Bearer {key}"}) as resp:
                    figures.add("bad_inputs")
                    figures.add("gateway_5xx", resp.status >= 500)
                    assert resp.status == 401
                    text = await resp.text()
                    assert not key or key not in text  # the presented value is never echoed
        assert all(r.status == "rejected" and r.http_status == 401 for r in first.rows())
