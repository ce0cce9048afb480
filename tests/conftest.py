"""Shared test setup: Qt offscreen, and an isolated gateway in one line (``gateway_context``)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from tests.helpers import ACCESS_KEY, GatewayContext, gateway_context  # noqa: E402

__all__ = ["ACCESS_KEY", "GatewayContext", "gateway_context"]
