"""Exceptions, and how each becomes an answer in the OpenAI error shape.

::

    SwitchboardError
    ├── ConfigError            a config file or object failed validation (lists every problem)
    ├── GatewayStartError      the server could not start (port in use, bad address)
    ├── GatewayNotRunning      a change asked of a gateway that is not running
    ├── ApiError               a request is answered with an error (status + OpenAI error body)
    └── UpstreamError          one upstream attempt failed
        ├── UpstreamHTTPError      the provider answered with an error status
        ├── UpstreamConnectError   no connection (refused, DNS, TLS, reset before a response) -> 502
        ├── UpstreamTimeout        a timeout fired (connect, first token, idle, total)       -> 504
        ├── UpstreamProtocolError  the provider answered with something unusable             -> 502
        ├── UpstreamUnsupported    this provider cannot take the request as it is            -> 400
        └── KeyUnavailable         the provider's key could not be resolved                  -> 503

Every ``UpstreamError`` turns into an :class:`ApiError` through :meth:`UpstreamError.to_api_error`,
so a client always gets ``{"error": {"message", "type", "param", "code"}}`` naming the provider.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""


class ConfigError(SwitchboardError):
    """A config failed to load or validate."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class GatewayStartError(SwitchboardError):
    """The HTTP server could not start."""

    def __init__(self, message: str, *, port_in_use: int | None = None) -> None:
        super().__init__(message)
        self.port_in_use = port_in_use
        """The port another program holds, when that is why (a free one would do)."""


class GatewayNotRunning(SwitchboardError):
    """A change was asked of a gateway that is not running (it did not start, or has stopped)."""


class ApiError(SwitchboardError):
    """An error answered to the client, in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        *,
        param: str | None = None,
        code: str | int | None = None,
        headers: Mapping[str, str] | None = None,
        outcome: str = "rejected",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        self.outcome = outcome
        """Terminal status for the request log (``rejected``, ``upstream_error``, ``timeout``...)."""

    def body(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def body_bytes(self) -> bytes:
        return orjson.dumps(self.body())


class UpstreamError(SwitchboardError):
    """One upstream attempt failed."""

    status = 502
    outcome = "upstream_error"

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message

    def to_api_error(self) -> ApiError:
        return ApiError(self.status, self.message, "upstream_error", code=self.code, outcome=self.outcome)

    code: str | int | None = "upstream_error"


class UpstreamHTTPError(UpstreamError):
    """The provider answered with an HTTP error status."""

    def __init__(
        self,
        provider: str,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(provider, f"Provider {provider!r} returned HTTP {status}: {message}")
        self.status = status
        self.upstream_message = message
        self.type = type or _type_for_status(status)
        self.code = code
        self.param = param
        self.retry_after = retry_after

    def to_api_error(self) -> ApiError:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return ApiError(
            self.status,
            self.message,
            self.type,
            param=self.param,
            code=self.code,
            headers=headers,
            outcome=self.outcome,
        )


class UpstreamConnectError(UpstreamError):
    """No usable connection to the provider."""

    code = "upstream_unreachable"

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(provider, f"Provider {provider!r} is unreachable: {detail}")


class UpstreamTimeout(UpstreamError):
    """A timeout fired while waiting for the provider."""

    status = 504
    outcome = "timeout"
    code = "upstream_timeout"

    def __init__(self, provider: str, phase: str, seconds: float) -> None:
        super().__init__(provider, f"Provider {provider!r} timed out: no {phase} within {seconds:g} s")
        self.phase = phase


class UpstreamProtocolError(UpstreamError):
    """The provider's answer could not be used (not JSON, cut short, wrong shape)."""

    code = "bad_upstream_response"

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(provider, f"Provider {provider!r} sent an unusable response: {detail}")


class UpstreamUnsupported(UpstreamError):
    """This provider cannot take the request as it is (e.g. ``n: 2`` for an Anthropic model, or a
    field its API has no place for). Another target may: the attempt loop moves on."""

    status = 400
    outcome = "rejected"
    code = "unsupported_by_provider"

    def __init__(self, provider: str, detail: str, *, param: str | None = None) -> None:
        super().__init__(provider, f"Provider {provider!r} cannot take this request: {detail}")
        self.param = param

    def to_api_error(self) -> ApiError:
        return ApiError(400, self.message, "invalid_request_error", param=self.param, code=self.code)


class KeyUnavailable(UpstreamError):
    """The provider's API key could not be resolved."""

    status = 503
    code = "key_unavailable"

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(provider, f"Provider {provider!r} has no usable API key: {detail}")


def _type_for_status(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 404:
        return "not_found_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "api_error"
    return "invalid_request_error"
