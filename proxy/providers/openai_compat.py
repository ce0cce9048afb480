"""Adapter for OpenAI-compatible upstreams (OpenAI, OpenRouter, Groq, Ollama, vLLM ...).

One ``aiohttp.ClientSession`` per provider for the gateway's lifetime. Requests never follow
redirects, never read proxy settings from the environment, and ask for uncompressed bodies
(nothing to decompress means no decompression bombs). Each phase has its own timeout: connect,
first byte, idle gap between stream chunks, and a total cap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

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
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.providers.schema_cleanup import clean_request
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent, SSEParser

log = logging.getLogger(__name__)

USER_AGENT = "Switchboard/0.1"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
MAX_ERROR_BYTES = 256 * 1024
MODELS_CACHE_SECONDS = 300.0


class OpenAICompatAdapter:
    """Calls one OpenAI-compatible provider."""

    def __init__(self, config: ProviderConfig, key: str | None, key_problem: str | None = None) -> None:
        self.id = config.id
        self.config = config
        self.preset = PRESETS[config.preset]
        self.base_url = config.effective_base_url
        self.supports_stream_usage = self.preset.stream_usage_option
        self.native = frozenset({"responses"}) if self.preset.responses_api else frozenset()
        self._key_problem = key_problem
        self._headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
            **config.headers,
        }
        if key:
            if self.preset.azure:
                self._headers["api-key"] = key
            else:
                self._headers["Authorization"] = f"Bearer {key}"
        t = config.timeouts
        # Built once: aiohttp enforces them without an extra timer context per request.
        # sock_read bounds the wait for the response head (time to first byte) and each read.
        self._timeout = aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.first_token)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=t.connect, sock_read=t.first_token)
        self._session: aiohttp.ClientSession | None = None
        self._models: tuple[float, list[str]] | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=256, ttl_dns_cache=300, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=self._timeout,
                trust_env=False,
                auto_decompress=False,
                skip_auto_headers=("Accept-Encoding",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, call: UpstreamCall) -> UpstreamReply:
        if self._key_problem is not None:
            raise KeyUnavailable(self.id, self._key_problem)
        body = clean_request(call.body) if self.preset.clean_tool_schemas else call.body
        reply = await self._post(self._url(call), body, call.stream, call.headers)
        if call.endpoint == "responses":
            reply.format = "responses"
        return reply

    async def _post(
        self, url: str, body: dict[str, Any], stream: bool, headers: dict[str, str] | None = None
    ) -> UpstreamReply:
        """POST ``body`` as JSON; a 2xx JSON object or event stream, else an ``UpstreamError``."""
        t = self.config.timeouts
        started = time.monotonic()
        timeout = self._stream_timeout if stream else self._timeout
        try:
            resp = await self.session.post(
                url, data=orjson.dumps(body), allow_redirects=False, timeout=timeout, headers=headers
            )
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamTimeout(self.id, "connection", t.connect) from None
        except TimeoutError:  # sock_read (no response head) or total
            raise UpstreamTimeout(self.id, "response", min(t.first_token, t.total)) from None
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamConnectError(self.id, _describe_connect_error(exc)) from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectError(self.id, _describe(exc)) from None
        try:
            if resp.status >= 300:
                raise await self._http_error(resp)
            if stream:
                if not resp.content_type.startswith("text/event-stream"):
                    try:
                        body = await _read_capped(resp, MAX_ERROR_BYTES)
                    except (TimeoutError, aiohttp.ClientError, UpstreamProtocolError):
                        body = b""
                    raise UpstreamProtocolError(
                        self.id,
                        f"expected an event stream, got {resp.content_type or 'no content type'} ({len(body)} bytes)",
                    )
                return UpstreamReply(resp.status, events=self._events(resp, started), headers=resp.headers)
            try:
                body = await _read_capped(resp, MAX_RESPONSE_BYTES)
            except TimeoutError:
                raise UpstreamTimeout(self.id, "complete response", t.total) from None
            except aiohttp.ClientError as exc:
                raise UpstreamConnectError(
                    self.id, f"connection lost while reading the response: {_describe(exc)}"
                ) from None
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                kind = resp.content_type or "no content type"
                raise UpstreamProtocolError(self.id, f"the response is not JSON ({kind}, {len(body)} bytes)") from None
            if not isinstance(parsed, dict):
                raise UpstreamProtocolError(self.id, "the response is not a JSON object")
            return UpstreamReply(resp.status, body=body, json=parsed, headers=resp.headers)
        except BaseException:
            resp.close()  # not released to the pool mid-body
            raise
        finally:
            if not stream:
                resp.release()

    def _url(self, call: UpstreamCall) -> str:
        if self.preset.azure:  # the deployment (the route target's model) is part of the path
            deployment = quote(str(call.body.get("model", "")), safe="")
            return (
                f"{self.base_url}/openai/deployments/{deployment}/{call.endpoint}?api-version={self.config.api_version}"
            )
        return f"{self.base_url}/{call.endpoint}"

    async def _events(self, resp: aiohttp.ClientResponse, started: float) -> AsyncIterator[SSEEvent]:
        t = self.config.timeouts
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
                        raise UpstreamTimeout(self.id, "end of stream", t.stream_total) from None
                    raise UpstreamTimeout(self.id, phase, wait) from None
                except aiohttp.ClientError as exc:
                    raise UpstreamConnectError(self.id, f"stream interrupted: {_describe(exc)}") from None
                except RuntimeError as exc:  # aiohttp's "Connection closed." when the socket is gone
                    if not _is_closed(exc):
                        raise
                    raise UpstreamConnectError(self.id, "stream interrupted: the connection closed") from None
                if not chunk:
                    clean = not parser.pending.strip()
                    if not clean:
                        raise UpstreamProtocolError(self.id, "the stream ended in the middle of an event")
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
            async with asyncio.timeout(self.config.timeouts.idle):
                raw = await _read_capped(resp, MAX_ERROR_BYTES, truncate=True)
        except (TimeoutError, aiohttp.ClientError):
            raw = b""
        message, type_, code, param = _parse_error_body(raw, resp.content_type)
        if 300 <= resp.status < 400:
            message = f"the provider redirected to another location, which Switchboard does not follow ({message})"
            return UpstreamHTTPError(self.id, 502, message, type="upstream_error", code="upstream_redirect")
        retry_after = resp.headers.get("retry-after")
        if retry_after is None and (ms := resp.headers.get("retry-after-ms")):
            try:
                retry_after = f"{max(float(ms) / 1000, 0):g}"
            except ValueError:
                retry_after = None
        return UpstreamHTTPError(
            self.id, resp.status, message, type=type_, code=code, param=param, retry_after=retry_after
        )

    async def list_models(self) -> list[str]:
        """Model ids: from config if listed, else the upstream's /models (cached; [] if unreachable)."""
        if self.config.models or self.preset.azure:  # Azure lists deployments elsewhere: use the config
            return list(self.config.models)
        now = time.monotonic()
        if self._models is not None and now - self._models[0] < MODELS_CACHE_SECONDS:
            return self._models[1]
        ids: list[str] = []
        if self._key_problem is None:
            try:
                async with asyncio.timeout(3.0):
                    async with self.session.get(f"{self.base_url}/models", allow_redirects=False) as resp:
                        if resp.status == 200:
                            data = orjson.loads(await _read_capped(resp, 8 * 1024 * 1024))
                            ids = [m["id"] for m in data.get("data", []) if isinstance(m.get("id"), str)]
            except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError, AttributeError, TypeError) as exc:
                log.info("could not list models of provider %s: %s", self.id, _describe(exc))
        self._models = (now, ids)
        return ids


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


def _describe_connect_error(exc: aiohttp.ClientConnectorError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "TLS certificate verification failed"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve host {exc.host}"
    reason = exc.os_error.strerror if exc.os_error is not None and exc.os_error.strerror else str(exc.os_error)
    return f"cannot connect to {exc.host}:{exc.port} ({reason})"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return REDACTOR.redact(text)
