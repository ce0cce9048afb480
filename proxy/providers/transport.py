"""One provider's HTTP: the session, auth headers, timeouts, size caps and redirect policy.

Every byte Switchboard sends to a provider goes through an :class:`UpstreamTransport`: proxied
calls (through a dialect, see :mod:`proxy.providers.openai_compat` and
:mod:`proxy.providers.anthropic`), the key test, the model list and local-server discovery.
Dialects only shape requests and read answers; they know nothing of sockets.

What the transport guarantees, whoever uses it:

- one ``aiohttp.ClientSession`` per transport, opened on first use (a provider's transport lives
  as long as its adapter, so its connection pool is reused across requests);
- the provider's auth headers, decided once (:mod:`proxy.providers.auth`), on every request;
- redirects are never followed;
- the forward proxy and the TLS trust are decided once (:mod:`proxy.providers.network`): the
  provider's ``proxy`` setting, else the environment's ``HTTPS_PROXY``/``NO_PROXY`` (never for
  providers on this machine or the local network); the OS trust store plus its ``ca_bundle``;
  a TLS or proxy failure is explained (what happened, what to change) in the error and the log;
- bodies are asked for uncompressed (nothing to decompress means no decompression bombs) and read
  up to a cap;
- each phase has its own timeout: connect, first byte, idle gap between stream chunks, a total;
- failures become :class:`~proxy.domain.errors.UpstreamError` subclasses with redacted messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import orjson

from proxy.config.schema import ProviderConfig
from proxy.domain.errors import (
    KeyUnavailable,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from proxy.domain.presets import PRESETS
from proxy.providers.auth import auth_style
from proxy.providers.base import UpstreamReply
from proxy.providers.network import ProxyChoice, choose_proxy, explain, tls_context
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent, SSEParser
from proxy.translate.gemini_common import retry_delay

USER_AGENT = "Switchboard/0.1"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
MAX_ERROR_BYTES = 256 * 1024
MODELS_CAP = 8 * 1024 * 1024
"""The most of a model list that is read."""

log = logging.getLogger(__name__)


class Transport(Protocol):
    """What a dialect needs from the network (tests may hand a dialect another one)."""

    provider_id: str

    def check_key(self) -> None:
        """Raise :class:`~proxy.domain.errors.KeyUnavailable` when the key could not be read."""
        ...

    @property
    def has_key_problem(self) -> bool: ...

    async def send(
        self, path: str, body: dict[str, Any], stream: bool = False, headers: dict[str, str] | None = None
    ) -> UpstreamReply: ...

    async def get(self, path: str, cap: int) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class UpstreamTransport:
    """The HTTP side of one provider.

    Args:
        config: the provider (base URL, extra headers, timeouts; its preset decides the auth style).
        key: its API key (``None``: it needs none, or it could not be read).
        key_problem: why the key could not be read; :meth:`check_key` raises it.
        timeout: the session's default timeout instead of the provider's (short-lived uses: the
            key test, discovery).
        proxy_password: the password of the provider's ``proxy`` (read from its ``proxy_password``).
    """

    def __init__(
        self,
        config: ProviderConfig,
        key: str | None = None,
        *,
        key_problem: str | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        proxy_password: str | None = None,
    ) -> None:
        self.provider_id = config.id
        self.base_url = config.effective_base_url
        self.timeouts = config.timeouts
        self._key_problem = key_problem
        self._headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
            **config.headers,
            **auth_style(PRESETS[config.preset]).headers(key),
        }
        t = config.timeouts
        # Built once: aiohttp enforces them without an extra timer context per request.
        # sock_read bounds the wait for the response head (time to first byte) and each read.
        self._timeout = timeout or aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.first_token)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=t.connect, sock_read=t.first_token)
        self._session: aiohttp.ClientSession | None = None
        self._ca_bundle = config.ca_bundle
        self.proxy: ProxyChoice = choose_proxy(self.base_url, config.proxy, proxy_password)
        self._proxy_headers = self.proxy.headers or None

    def __repr__(self) -> str:  # never the headers: they hold the key
        return f"<UpstreamTransport {self.provider_id} {self.base_url}>"

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = self._open_session()
        return self._session

    def _open_session(self) -> aiohttp.ClientSession:
        try:
            context = tls_context(self._ca_bundle)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            problem = f"its ca_bundle {self._ca_bundle} cannot be used ({exc}): point `ca_bundle` at a PEM file"
            log.warning("provider %s: %s", self.provider_id, problem)
            raise aiohttp.ClientConnectionError(problem) from None
        connector = aiohttp.TCPConnector(limit=256, ttl_dns_cache=300, keepalive_timeout=30, ssl=context)
        return aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            timeout=self._timeout,
            trust_env=False,  # the proxy was chosen above (aiohttp would proxy loopback too)
            proxy=self.proxy.url,
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding",),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> UpstreamTransport:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def has_key_problem(self) -> bool:
        return self._key_problem is not None

    def check_key(self) -> None:
        if self._key_problem is not None:
            raise KeyUnavailable(self.provider_id, self._key_problem)

    async def get(self, path: str, cap: int) -> tuple[int, bytes]:
        """GET ``path`` (below the base URL): the status and at most ``cap`` bytes of the body.

        Raises:
            aiohttp.ClientError, TimeoutError: the provider could not be reached or read.
        """
        try:
            url = f"{self.base_url}/{path}"
            async with self.session.get(url, allow_redirects=False, proxy_headers=self._proxy_headers) as resp:
                return resp.status, await _read_capped(resp, cap, truncate=True)
        except aiohttp.ClientError as exc:
            explained = await self._explain(exc)
            if explained is None:
                raise
            raise aiohttp.ClientConnectionError(explained) from None

    async def send(
        self, path: str, body: dict[str, Any], stream: bool = False, headers: dict[str, str] | None = None
    ) -> UpstreamReply:
        """POST ``body`` as JSON to ``path`` (below the base URL), with extra ``headers``.

        Returns:
            a 2xx answer: a JSON object, or (``stream``) an event stream whose iterator applies the
            first-token, idle and stream-total timeouts.

        Raises:
            UpstreamError: every other outcome, as its subclass.
        """
        t = self.timeouts
        started = time.monotonic()
        timeout = self._stream_timeout if stream else self._timeout
        try:
            resp = await self.session.post(
                f"{self.base_url}/{path}",
                data=orjson.dumps(body),
                allow_redirects=False,
                timeout=timeout,
                headers=headers,
                proxy_headers=self._proxy_headers,
            )
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamTimeout(self.provider_id, "connection", t.connect) from None
        except TimeoutError:  # sock_read (no response head) or total
            raise UpstreamTimeout(self.provider_id, "response", min(t.first_token, t.total)) from None
        except aiohttp.ClientError as exc:
            explained = await self._explain(exc)
            if explained is None:
                is_connect = isinstance(exc, aiohttp.ClientConnectorError)
                explained = _describe_connect_error(exc) if is_connect else describe(exc)
            raise UpstreamConnectError(self.provider_id, explained) from None
        try:
            if resp.status >= 300:
                raise await self._http_error(resp)
            if stream:
                if not resp.content_type.startswith("text/event-stream"):
                    try:
                        raw = await _read_capped(resp, MAX_ERROR_BYTES)
                    except (TimeoutError, aiohttp.ClientError, UpstreamProtocolError):
                        raw = b""
                    raise UpstreamProtocolError(
                        self.provider_id,
                        f"expected an event stream, got {resp.content_type or 'no content type'} ({len(raw)} bytes)",
                    )
                return UpstreamReply(resp.status, events=self._events(resp, started), headers=resp.headers)
            return await self._json_reply(resp)
        except BaseException:
            resp.close()  # not released to the pool mid-body
            raise
        finally:
            if not stream:
                resp.release()

    async def _explain(self, exc: aiohttp.ClientError) -> str | None:
        """A TLS or proxy failure explained (and logged); ``None`` for other failures."""
        explained = await explain(exc, self.provider_id, self.base_url, self.proxy)
        if explained is not None:
            explained = REDACTOR.redact(explained)
            log.warning("provider %s: %s", self.provider_id, explained)
        return explained

    async def _json_reply(self, resp: aiohttp.ClientResponse) -> UpstreamReply:
        try:
            raw = await _read_capped(resp, MAX_RESPONSE_BYTES)
        except TimeoutError:
            raise UpstreamTimeout(self.provider_id, "complete response", self.timeouts.total) from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectError(
                self.provider_id, f"connection lost while reading the response: {describe(exc)}"
            ) from None
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            kind = resp.content_type or "no content type"
            raise UpstreamProtocolError(
                self.provider_id, f"the response is not JSON ({kind}, {len(raw)} bytes)"
            ) from None
        if not isinstance(parsed, dict):
            raise UpstreamProtocolError(self.provider_id, "the response is not a JSON object")
        return UpstreamReply(resp.status, body=raw, json=parsed, headers=resp.headers)

    async def _events(self, resp: aiohttp.ClientResponse, started: float) -> AsyncGenerator[SSEEvent, None]:
        t = self.timeouts
        parser = SSEParser()
        deadline = started + t.stream_total
        wait, phase = t.first_token, "first token"
        clean = False
        try:
            while True:
                budget = min(wait, deadline - time.monotonic())
                try:
                    async with asyncio.timeout(max(budget, 0.001)):
                        chunk = await resp.content.readany()
                except TimeoutError:
                    if budget < wait:
                        raise UpstreamTimeout(self.provider_id, "end of stream", t.stream_total) from None
                    raise UpstreamTimeout(self.provider_id, phase, wait) from None
                except aiohttp.ClientError as exc:
                    raise UpstreamConnectError(self.provider_id, f"stream interrupted: {describe(exc)}") from None
                except RuntimeError as exc:  # aiohttp's "Connection closed." when the socket is gone
                    if not _is_closed(exc):
                        raise
                    raise UpstreamConnectError(self.provider_id, "stream interrupted: the connection closed") from None
                if not chunk:
                    clean = not parser.pending.strip()
                    if not clean:
                        raise UpstreamProtocolError(self.provider_id, "the stream ended in the middle of an event")
                    return
                wait, phase = t.idle, "stream data (idle)"
                for event in parser.feed(chunk):
                    yield event
        finally:
            if clean:
                resp.release()
            else:
                resp.close()

    async def _http_error(self, resp: aiohttp.ClientResponse) -> UpstreamHTTPError:
        try:
            async with asyncio.timeout(self.timeouts.idle):
                raw = await _read_capped(resp, MAX_ERROR_BYTES, truncate=True)
        except (TimeoutError, aiohttp.ClientError):
            raw = b""
        message, type_, code, param = _parse_error_body(raw, resp.content_type)
        if 300 <= resp.status < 400:
            message = f"the provider redirected to another location, which Switchboard does not follow ({message})"
            return UpstreamHTTPError(self.provider_id, 502, message, type="upstream_error", code="upstream_redirect")
        retry_after = resp.headers.get("retry-after")
        if retry_after is None and (ms := resp.headers.get("retry-after-ms")):
            try:
                retry_after = f"{max(float(ms) / 1000, 0):g}"
            except ValueError:
                retry_after = None
        if retry_after is None:  # Google's APIs say it in the body: error.details[] RetryInfo.retryDelay
            retry_after = _retry_info(raw)
        return UpstreamHTTPError(
            self.provider_id, resp.status, message, type=type_, code=code, param=param, retry_after=retry_after
        )


def _retry_info(raw: bytes) -> str | None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return retry_delay(data.get("error")) if isinstance(data, dict) else None


def describe(exc: BaseException) -> str:
    """A failure to reach or read a provider, for people (redacted)."""
    return REDACTOR.redact(str(exc) or type(exc).__name__)


def _is_closed(exc: RuntimeError) -> bool:
    """aiohttp raises ``RuntimeError("Connection closed.")``, not a ClientError, when a response
    is read after its connection went away."""
    return "Connection closed" in str(exc)


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, *, truncate: bool = False) -> bytes:
    """The body, at most ``cap`` bytes; a vanished connection raises ``aiohttp.ClientPayloadError``."""
    try:
        if resp.content_length is not None and resp.content_length <= cap:
            return await resp.read()
        parts: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            parts.append(chunk)
            size += len(chunk)
            if size > cap:
                if truncate:
                    break
                raise UpstreamProtocolError(str(resp.url.host), f"the response is larger than {cap} bytes")
        return b"".join(parts)[: cap if truncate else None]
    except RuntimeError as exc:
        if not _is_closed(exc):
            raise
        raise aiohttp.ClientPayloadError("the connection closed while reading the response") from None


def _parse_error_body(raw: bytes, content_type: str) -> tuple[str, str | None, Any, str | None]:
    """Message, type, code and param from an upstream error body, redacted."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or err)
        type_ = err.get("type") if isinstance(err.get("type"), str) else None
        code = err.get("code") if isinstance(err.get("code"), (str, int)) else None
        param = err.get("param") if isinstance(err.get("param"), str) else None
        return REDACTOR.redact(message), type_, code, param
    if isinstance(err, str):
        return REDACTOR.redact(err), None, None, None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return REDACTOR.redact(data["message"]), None, None, None
    if not raw:
        return "empty response body", None, None, None
    kind = content_type or "unknown content type"
    if kind.startswith("text/plain"):
        return REDACTOR.redact(raw[:300].decode("utf-8", "replace").strip()), None, None, None
    return f"non-JSON error body ({kind}, {len(raw)} bytes)", None, None, None


def _describe_connect_error(exc: aiohttp.ClientError) -> str:
    assert isinstance(exc, aiohttp.ClientConnectorError)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "TLS certificate verification failed"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve host {exc.host}"
    reason = exc.os_error.strerror if exc.os_error is not None and exc.os_error.strerror else str(exc.os_error)
    return f"cannot connect to {exc.host}:{exc.port} ({reason})"
