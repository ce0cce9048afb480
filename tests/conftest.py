"""Shared test setup: Qt offscreen, and an isolated gateway in one line (``gateway_context``)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest  # noqa: E402

from tests.helpers import ACCESS_KEY, GatewayContext, gateway_context  # noqa: E402
from tests.secret_service import Unavailable, private_secret_service  # noqa: E402

__all__ = ["ACCESS_KEY", "GatewayContext", "gateway_context"]


@pytest.fixture(scope="session")
def secret_service():
    """A real, private, unlocked Secret Service for the whole test session.

    In CI (``CI`` set) a missing Secret Service fails the tests instead of skipping them.
    """
    try:
        with private_secret_service() as address:
            yield address
    except Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"keychain tests need a Secret Service: {exc}")
        pytest.skip(f"no Secret Service: {exc}")
