"""Connect a tool: ready setups for the tools people point at Switchboard, and for those that read
a config file, Apply (only Switchboard's keys, the diff shown first), Restore (the user's file
back, byte for byte when nothing else changed it), a Check that sends the tool's own request
shape, and the route that makes the gateway answer a tool's model names.

Headless (no Qt): the CLI (``switchboard connect``) and the desktop (through :mod:`proxy.api`)
share it. Everything that touches the disk or the network is blocking: the desktop calls it on
workers.
"""

from proxy.connect.check import CHECK_TIMEOUT, CheckResult, check
from proxy.connect.docs import ConnectError
from proxy.connect.files import (
    Applied,
    ConnectState,
    Plan,
    apply,
    backup_path,
    is_applied,
    key_fingerprint,
    plan,
    restore,
)
from proxy.connect.routes import CLAUDE_ROUTE, RouteOffer, claude_route_offer, default_model, unanswered
from proxy.connect.tools import CLAUDE_CODE_MODELS, KEY_PLACEHOLDER, Connection, ToolSetup, setups

__all__ = [
    "CHECK_TIMEOUT",
    "CLAUDE_CODE_MODELS",
    "CLAUDE_ROUTE",
    "KEY_PLACEHOLDER",
    "Applied",
    "CheckResult",
    "ConnectError",
    "ConnectState",
    "Connection",
    "Plan",
    "RouteOffer",
    "ToolSetup",
    "apply",
    "backup_path",
    "check",
    "claude_route_offer",
    "default_model",
    "is_applied",
    "key_fingerprint",
    "plan",
    "restore",
    "setups",
    "unanswered",
]
