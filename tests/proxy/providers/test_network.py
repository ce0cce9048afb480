"""Corporate networks, for real: an HTTPS fake upstream with a test CA (trustme), trusted only
through the OS trust store's environment or a provider's ``ca_bundle``, and a real tinyproxy that
sees the CONNECTs (or, with ``NO_PROXY``, ``proxy: "none"`` or a local provider, does not)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest
import trustme

from proxy.config.schema import ProviderConfig
from proxy.domain.errors import UpstreamConnectError
from proxy.providers import keytest
from proxy.providers.network import choose_proxy, is_local_host, no_proxy_matches
from proxy.providers.transport import UpstreamTransport
from tests.fakes.forward_proxy import free_port, tinyproxy
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import gateway_context

CORP_HOST = "upstream.corp.test"
"""Not local to Switchboard (so environment proxies apply); only the proxy resolves it (to 127.0.0.1)."""
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Corp Root CA")


@pytest.fixture
def ca_pem(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def https_fake(ca: trustme.CA):
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", CORP_HOST).configure_cert(server)
    async with FakeOpenAIUpstream(api_key=None, ssl_context=server) as fake:
        yield fake


def provider(base_url: str, **settings: object) -> ProviderConfig:
    return ProviderConfig.model_validate({"id": "corp", "base_url": base_url, **settings})


async def chat(config: ProviderConfig, password: str | None = None) -> str:
    async with UpstreamTransport(config, proxy_password=password) as transport:
        reply = await transport.send("chat/completions", CHAT)
        assert reply.json is not None
        return str(reply.json["choices"][0]["message"]["content"])


async def failure(config: ProviderConfig, password: str | None = None) -> str:
    with pytest.raises(UpstreamConnectError) as caught:
        await chat(config, password)
    return caught.value.message


def corp_url(fake: FakeOpenAIUpstream) -> str:
    return f"https://{CORP_HOST}:{fake.port}/v1"


# -- trust --------------------------------------------------------------------------------------


async def test_an_untrusted_ca_is_explained_with_its_name_and_the_fix(https_fake) -> None:
    message = await failure(provider(https_fake.base_url))
    assert message == (
        "Provider 'corp' is unreachable: the certificate for 127.0.0.1 is signed by 'Corp Root CA', which this "
        "computer does not trust: install it in this computer's trust store or set `ca_bundle` on provider 'corp'"
    )


async def test_ca_bundle_trusts_the_company_endpoint(https_fake, ca_pem: Path) -> None:
    assert "hello" in await chat(provider(https_fake.base_url, ca_bundle=str(ca_pem)))


async def test_a_wrong_ca_bundle_still_names_the_real_signer(https_fake, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    trustme.CA(organization_name="Some Other CA").cert_pem.write_to_path(str(other))
    message = await failure(provider(https_fake.base_url, ca_bundle=str(other)))
    assert "signed by 'Corp Root CA', which this computer does not trust" in message


async def test_an_unreadable_ca_bundle_is_a_clear_error(https_fake, tmp_path: Path) -> None:
    message = await failure(provider(https_fake.base_url, ca_bundle=str(tmp_path / "missing.pem")))
    assert "ca_bundle" in message and "missing.pem" in message and "PEM file" in message


async def test_the_os_trust_store_is_used(https_fake, ca_pem: Path, monkeypatch) -> None:
    """truststore on Linux reads OpenSSL's default paths at each handshake: SSL_CERT_FILE is the
    system store here, and the CA placed in it is trusted without any setting."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
    assert "hello" in await chat(provider(https_fake.base_url))


async def test_a_name_mismatch_is_explained(ca: trustme.CA, ca_pem: Path) -> None:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(CORP_HOST).configure_cert(server)  # not valid for 127.0.0.1
    async with FakeOpenAIUpstream(api_key=None, ssl_context=server) as fake:
        message = await failure(provider(fake.base_url, ca_bundle=str(ca_pem)))
    assert "the certificate 127.0.0.1 presents is not valid for that name" in message
    assert "check the base_url" in message


# -- proxies ------------------------------------------------------------------------------------


async def test_the_providers_proxy_setting_carries_the_connect(https_fake, ca_pem: Path, tmp_path: Path) -> None:
    with tinyproxy(tmp_path / "proxy") as proxy:
        config = provider(https_fake.base_url, ca_bundle=str(ca_pem), proxy=proxy.url)
        assert "hello" in await chat(config)
        assert proxy.connects() == [f"127.0.0.1:{https_fake.port}"]


async def test_an_environment_proxy_carries_remote_providers(https_fake, ca_pem, tmp_path, monkeypatch) -> None:
    with tinyproxy(tmp_path / "proxy", hosts={CORP_HOST: "127.0.0.1"}) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        assert "hello" in await chat(provider(corp_url(https_fake), ca_bundle=str(ca_pem)))
        assert proxy.connects() == [f"{CORP_HOST}:{https_fake.port}"]


@pytest.mark.parametrize("how", ["NO_PROXY", "none"])
async def test_no_proxy_and_proxy_none_go_direct(https_fake, ca_pem, tmp_path, monkeypatch, how: str) -> None:
    with tinyproxy(tmp_path / "proxy", hosts={CORP_HOST: "127.0.0.1"}) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        settings: dict[str, object] = {"ca_bundle": str(ca_pem)}
        if how == "NO_PROXY":
            monkeypatch.setenv("NO_PROXY", "localhost,.corp.test")
        else:
            settings["proxy"] = "none"
        message = await failure(provider(corp_url(https_fake), **settings))
        assert f"cannot resolve host {CORP_HOST}" in message  # only the proxy knows that name
        assert proxy.connects() == []


async def test_environment_proxies_never_carry_local_providers(https_fake, ca_pem, tmp_path, monkeypatch) -> None:
    with tinyproxy(tmp_path / "proxy") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        assert "hello" in await chat(provider(https_fake.base_url, ca_bundle=str(ca_pem)))
        assert proxy.connects() == []


async def test_a_refusing_proxy_is_explained(https_fake, ca_pem: Path, tmp_path: Path) -> None:
    with tinyproxy(tmp_path / "proxy", connect_ports=[443]) as proxy:
        message = await failure(provider(https_fake.base_url, ca_bundle=str(ca_pem), proxy=proxy.url))
    assert f"the proxy {proxy.url} (from the provider's proxy setting) refused to connect to 127.0.0.1:" in message
    assert "HTTP 403" in message and "`proxy` on provider 'corp'" in message


async def test_a_proxy_that_is_down_is_explained(https_fake, monkeypatch) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    message = await failure(provider(https_fake.base_url, proxy=down))
    assert f"cannot connect to the proxy {down} (from the provider's proxy setting)" in message


async def test_an_authenticated_proxy_and_its_password_never_shown(
    https_fake, ca_pem, tmp_path, caplog, monkeypatch
) -> None:
    password = "pr0xy-pa55word-canary"
    caplog.set_level(logging.DEBUG)
    with tinyproxy(tmp_path / "proxy", basic_auth=("bob", password)) as proxy:
        url = proxy.url.replace("://", "://bob@")
        config = provider(https_fake.base_url, ca_bundle=str(ca_pem), proxy=url, proxy_password={"env": "PROXY_PW"})
        assert "hello" in await chat(config, password)
        assert len(proxy.connects()) == 1
        message = await failure(config, "wrong-password")
        assert "asks for a user name and password (HTTP 401)" in message and f"bob@127.0.0.1:{proxy.port}" in message
        # from the environment, credentials in the URL
        monkeypatch.setenv("HTTPS_PROXY", f"http://bob:{password}@127.0.0.1:{proxy.port}")
        env_config = provider(https_fake.base_url.replace("127.0.0.1", CORP_HOST), ca_bundle=str(ca_pem))
        env_message = await failure(env_config)  # nobody resolves the name (no hosts file here): it says so
    assert password not in env_message and password not in message and password not in caplog.text


async def test_the_key_test_explains_tls_failures_too(https_fake) -> None:
    result = await keytest.test_key(provider(https_fake.base_url), None)
    assert result.outcome == keytest.UNREACHABLE and "signed by 'Corp Root CA'" in result.message


async def test_the_client_gets_the_explanation_in_its_error_shape_and_the_log(https_fake, tmp_path) -> None:
    config = {
        "providers": [{"id": "corp", "base_url": https_fake.base_url}],
        "routes": [{"name": "m", "targets": [{"provider": "corp", "model": "gpt-4o-mini"}]}],
    }
    async with gateway_context(tmp_path, config) as gw:
        client = gw.openai()
        import openai

        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 502
        body = caught.value.body
        assert isinstance(body, dict) and "signed by 'Corp Root CA'" in body["message"]
        assert body["code"] == "upstream_unreachable"
        (row,) = gw.rows()
        assert "signed by 'Corp Root CA'" in (row.error or "")


# -- choosing -----------------------------------------------------------------------------------


def test_no_proxy_matching() -> None:
    assert no_proxy_matches("api.corp.test", 443, ".corp.test")
    assert no_proxy_matches("corp.test", 443, "corp.test")
    assert not no_proxy_matches("notcorp.test", 443, "corp.test")
    assert no_proxy_matches("10.1.2.3", 443, "example.com, 10.0.0.0/8")
    assert no_proxy_matches("anything", None, "*")
    assert no_proxy_matches("api.x.com", 8443, "api.x.com:8443") and not no_proxy_matches(
        "api.x.com", 443, "x.com:8443"
    )
    assert no_proxy_matches("::1", 443, "[::1]")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.5", "192.168.1.9", "::1", "ollama", "nas.local"])
def test_local_hosts(host: str) -> None:
    assert is_local_host(host)


def test_remote_hosts_and_environment_choice() -> None:
    assert not is_local_host("api.openai.com") and not is_local_host("8.8.8.8")
    env = {"HTTPS_PROXY": "http://u:pw@proxy:3128", "http_proxy": "http://plain:8080"}
    choice = choose_proxy("https://api.openai.com/v1", None, env=env)
    assert choice.url == "http://proxy:3128" and choice.password == "pw"
    assert choice.shown == "http://u@proxy:3128 (from HTTPS_PROXY)"
    assert choose_proxy("http://127.0.0.1:11434/v1", None, env=env).url is None
    assert choose_proxy("https://api.openai.com/v1", "none", env=env).url is None
    assert choose_proxy("https://api.openai.com/v1", None, env={"ALL_PROXY": "http://all:1"}).url == "http://all:1"


def test_config_rejects_a_password_in_the_proxy_url() -> None:
    with pytest.raises(ValueError, match="proxy_password"):
        provider("https://api.example.com/v1", proxy="http://bob:secret@proxy:3128")
    with pytest.raises(ValueError, match="proxy URL"):
        provider("https://api.example.com/v1", proxy="socks://x")


async def test_an_untrusted_ca_behind_a_proxy_is_explained_too(https_fake, tmp_path, monkeypatch) -> None:
    """The signer is read through the proxy's CONNECT (the upstream's name only the proxy resolves)."""
    with tinyproxy(tmp_path / "proxy", hosts={CORP_HOST: "127.0.0.1"}) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        message = await failure(provider(corp_url(https_fake)))
        assert f"the certificate for {CORP_HOST} is signed by 'Corp Root CA'" in message
        assert len(proxy.connects()) == 2  # the request, then the look at the certificate


async def test_the_key_test_goes_through_an_authenticated_proxy(https_fake, ca_pem, tmp_path) -> None:
    with tinyproxy(tmp_path / "proxy", basic_auth=("bob", "proxy-secret-0")) as proxy:
        url = proxy.url.replace("://", "://bob@")
        config = provider(https_fake.base_url, ca_bundle=str(ca_pem), proxy=url, proxy_password={"env": "PW"})
        accepted = await keytest.test_key(config, None, "proxy-secret-0")
        refused = await keytest.test_key(config, None)
    assert accepted.outcome == keytest.ACCEPTED, accepted.message
    assert refused.outcome == keytest.UNREACHABLE and "asks for a user name and password" in refused.message
