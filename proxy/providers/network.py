"""Corporate networks: which forward proxy a provider's traffic takes, which CAs its TLS trusts,
and what to tell a person when either fails.

- **Proxy.** A provider's own ``proxy`` setting always applies (``"none"`` goes direct). Without
  one, ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` (either case) apply, honouring ``NO_PROXY``
  (names, ``.suffix``, ``*``, IP addresses and CIDR ranges, ``host:port``), except that providers on
  this machine or the local network (loopback, private and link-local addresses, ``localhost``,
  ``*.local``, names without a dot) never go through an environment proxy: aiohttp would send even
  127.0.0.1 through one.
- **Trust.** TLS is verified against the operating system's trust store (``truststore``; certifi's
  bundle when truststore cannot be used), plus a provider's ``ca_bundle``.
- **Failures.** :func:`explain` turns a TLS or proxy failure into one sentence that says what
  happened and what to change; for an untrusted certificate it names the issuer, read by a second,
  unverified handshake that sends nothing (:func:`peer_issuer`).

Proxy passwords never appear in a message: :attr:`ProxyChoice.shown` drops them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import aiohttp

from proxy.support.redact import REDACTOR

log = logging.getLogger(__name__)

PROXY_NONE = "none"


# -- proxies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyChoice:
    """The forward proxy for one provider (``url is None``: direct)."""

    url: str | None = None
    """Without credentials."""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    source: str = "direct"
    """Where it came from: ``"provider setting"``, ``"HTTPS_PROXY"``, ``"NO_PROXY"``, ``"local network"``..."""

    @property
    def headers(self) -> dict[str, str]:
        """``Proxy-Authorization`` for an authenticated proxy (sent to the proxy only)."""
        if self.user is None and self.password is None:
            return {}
        return {"Proxy-Authorization": aiohttp.encode_basic_auth(self.user or "", self.password or "")}

    @property
    def shown(self) -> str:
        """For messages: the URL (a user name, never a password) and where it came from."""
        if self.url is None:
            return f"direct ({self.source})"
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{user}{parts.netloc} (from {self.source})"


def _split_proxy_url(url: str, password: str | None, source: str) -> ProxyChoice:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    clean = f"{parts.scheme}://{netloc}"
    user = unquote(parts.username) if parts.username else None
    secret = password if password is not None else (unquote(parts.password) if parts.password else None)
    if secret:
        REDACTOR.add(secret)
    return ProxyChoice(clean, user, secret, source)


def is_local_host(host: str) -> bool:
    """This machine or the local network: never reached through a proxy from the environment."""
    name = host.strip("[]").rstrip(".").lower()
    if name in ("localhost", "") or name.endswith((".localhost", ".local", ".lan", ".internal", ".home.arpa")):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return "." not in name  # a single-label name (a machine on the LAN, a container)
    return ip.is_loopback or ip.is_private or ip.is_link_local


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name.lower()) or env.get(name.upper())
    return value.strip() if value and value.strip() else None


def no_proxy_matches(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (comma or space separated) exempts ``host[:port]``."""
    name = host.strip("[]").rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    for raw in no_proxy.replace(",", " ").split():
        entry = raw.strip().lower()
        if entry == "*":
            return True
        entry_port: int | None = None
        if entry.count(":") == 1 and not entry.startswith("["):  # host:port (not an IPv6 address)
            entry, _, p = entry.partition(":")
            entry_port = int(p) if p.isdigit() else None
        entry = entry.strip("[]")
        if entry_port is not None and entry_port != port:
            continue
        if ip is not None:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        suffix = entry.lstrip("*").lstrip(".")
        if suffix and (name == suffix or name.endswith(f".{suffix}")):
            return True
    return False


def choose_proxy(
    base_url: str,
    setting: str | None,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ProxyChoice:
    """The proxy for a provider at ``base_url`` with its ``proxy`` setting (see the module doc)."""
    if setting is not None:
        if setting.strip().lower() == PROXY_NONE:
            return ProxyChoice(source='proxy "none"')
        return _split_proxy_url(setting, password, "the provider's proxy setting")
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if is_local_host(host):
        return ProxyChoice(source="this machine or the local network")
    environ = os.environ if env is None else env
    names = ("HTTPS_PROXY", "ALL_PROXY") if parts.scheme == "https" else ("HTTP_PROXY", "ALL_PROXY")
    found = next(((n, v) for n in names if (v := _env(environ, n))), None)
    if found is None:
        return ProxyChoice(source="no proxy in the environment")
    if (no_proxy := _env(environ, "NO_PROXY")) and no_proxy_matches(host, parts.port, no_proxy):
        return ProxyChoice(source="NO_PROXY")
    return _split_proxy_url(found[1], None, found[0])


# -- trust --------------------------------------------------------------------------------------


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A verifying client context: the OS trust store (truststore; certifi when it cannot be used),
    plus the PEM certificates in ``ca_bundle``.

    Raises:
        OSError, ssl.SSLError: ``ca_bundle`` cannot be read or holds no certificate.
    """
    ctx: ssl.SSLContext
    try:
        import truststore

        ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except Exception:  # not installed, or the platform's verifier is unavailable
        ctx = ssl.create_default_context()
        try:
            import certifi

            ctx.load_verify_locations(cafile=certifi.where())
        except (ImportError, OSError, ssl.SSLError):
            log.warning("neither truststore nor certifi is usable: TLS trusts OpenSSL's default roots only")
    if ca_bundle:
        ctx.load_verify_locations(cafile=str(Path(ca_bundle).expanduser()))
    return ctx


# -- explaining failures -------------------------------------------------------------------------


def _issuer_name(der: bytes) -> str | None:
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    try:
        issuer = x509.load_der_x509_certificate(der).issuer
    except ValueError:
        return None
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME):
        values = issuer.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return issuer.rfc4514_string() or None


async def peer_issuer(host: str, port: int, proxy: ProxyChoice, timeout: float = 5.0) -> str | None:
    """Who signed the certificate ``host:port`` presents: a handshake that verifies nothing and
    sends nothing (through ``proxy``'s CONNECT when there is one). ``None`` when it cannot be told."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            if proxy.url is None:
                reader, writer = await asyncio.open_connection(host, port, ssl=insecure, server_hostname=host)
            else:
                p = urlsplit(proxy.url)
                reader, writer = await asyncio.open_connection(p.hostname, p.port or 80)
                target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
                for name, value in proxy.headers.items():
                    head += f"{name}: {value}\r\n"
                writer.write(f"{head}\r\n".encode())
                answer = await reader.readuntil(b"\r\n\r\n")
                if answer.split(b" ", 2)[1:2] != [b"200"]:
                    return None
                await writer.start_tls(insecure, server_hostname=host)
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
        return None
    finally:
        if writer is not None:
            writer.close()
    return _issuer_name(der) if der else None


def _setting(provider: str, field: str) -> str:
    return f"`{field}` on provider {provider!r}"


async def explain(exc: aiohttp.ClientError, provider: str, base_url: str, proxy: ProxyChoice) -> str | None:
    """One sentence for a TLS or proxy failure (what happened, what to do), or ``None`` for other errors."""
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        if exc.status in (401, 407):  # tinyproxy answers 401
            return (
                f"the proxy {proxy.shown} asks for a user name and password (HTTP {exc.status}): put the user in the "
                f"proxy URL and the password in {_setting(provider, 'proxy_password')}, or in HTTPS_PROXY"
            )
        return (
            f"the proxy {proxy.shown} refused to connect to {host}:{port} (HTTP {exc.status} {exc.message}): "
            f"ask its administrator to allow it, or set {_setting(provider, 'proxy')} "
            f'("none" goes direct)'
        )
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        reason = exc.os_error.strerror if exc.os_error is not None and exc.os_error.strerror else str(exc.os_error)
        return (
            f"cannot connect to the proxy {proxy.shown} ({reason}): check the proxy address, or set "
            f'{_setting(provider, "proxy")} ("none" goes direct)'
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        code = getattr(cert_error, "verify_code", None)
        detail = getattr(cert_error, "verify_message", None) or str(cert_error)
        fix = f"install it in this computer's trust store or set {_setting(provider, 'ca_bundle')}"
        if code in (2, 18, 19, 20, 21):  # unknown issuer, self-signed (leaf or in chain), cannot verify leaf
            issuer = await peer_issuer(host, port, proxy)
            signer = f"signed by {issuer!r}" if issuer else f"not signed by a known authority ({detail})"
            if code == 18:
                signer = f"self-signed ({issuer!r})" if issuer else "self-signed"
            return f"the certificate for {host} is {signer}, which this computer does not trust: {fix}"
        if code == 10:
            return f"the certificate for {host} has expired: the server must renew it"
        if code == 62 or "mismatch" in detail:
            return (
                f"the certificate {host} presents is not valid for that name ({detail}): "
                "check the base_url (the host name must match the certificate)"
            )
        return f"the certificate for {host} could not be verified ({detail}): {fix}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"the TLS handshake with {host}:{port} failed ({exc.os_error}); is it an https server?"
    return None
