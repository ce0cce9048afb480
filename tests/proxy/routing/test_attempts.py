"""The retry/fallback decision table and Retry-After parsing."""

from __future__ import annotations

import email.utils
import time

import pytest

from proxy.config.schema import RouteConfig
from proxy.domain.errors import (
    KeyUnavailable,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from proxy.routing.attempts import NEXT, RETRY, RETURN, decide, retry_after_seconds

ROUTE = RouteConfig(name="r", targets=[{"provider": "p", "model": "m"}])


def http(status: int, message: str = "x", code=None) -> UpstreamHTTPError:
    return UpstreamHTTPError("p", status, message, code=code)


@pytest.mark.parametrize(
    ("exc", "action"),
    [
        (UpstreamConnectError("p", "refused"), RETRY),
        (UpstreamProtocolError("p", "garbage"), RETRY),
        (UpstreamTimeout("p", "first token", 1), NEXT),
        (KeyUnavailable("p", "unset"), NEXT),
        (http(429), RETRY),
        (http(408), RETRY),
        (http(409), RETRY),
        (http(500), RETRY),
        (http(503), RETRY),
        (http(529), RETRY),
        (http(401), NEXT),
        (http(403), NEXT),
        (http(400, "This model's maximum context length is 8192 tokens"), NEXT),
        (http(400, "too long", code="context_length_exceeded"), NEXT),
        (http(400, "prompt is too long: 250000 tokens > 200000 maximum"), NEXT),
        (http(400, "Invalid value for 'temperature'"), RETURN),
        (http(404), RETURN),
        (http(402), RETURN),
        (http(413), RETURN),
        (http(422), RETURN),
    ],
)
def test_default_decisions(exc, action):
    assert decide(exc, ROUTE) == action


def test_triggers_can_be_turned_off():
    route = RouteConfig.model_validate(
        {
            "name": "r",
            "targets": [{"provider": "p", "model": "m"}],
            "triggers": {"server_errors": False, "rate_limits": False, "timeouts": False, "auth_errors": False},
        }
    )
    assert decide(http(503), route) == RETURN
    assert decide(http(429), route) == RETURN
    assert decide(UpstreamTimeout("p", "idle", 1), route) == RETURN
    assert decide(http(401), route) == RETURN


def test_retry_after_forms():
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(future) <= 31
    for bad in (None, "", "abc", "-5", "1e9", "nan"):
        assert retry_after_seconds(bad) is None, bad
