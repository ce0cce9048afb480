"""The typed border between the gateway and its front ends: the only part of ``proxy`` that
``desktop/`` imports (an import-linter contract keeps it so).

- :class:`GatewayControl` starts, stops, reads and changes a gateway running on its own thread;
  its answers are frozen read models and typed results (:class:`KeyTestResult`,
  :class:`RouteTestResult`, :class:`ModelList`, :class:`GatewayStatus` ...).
- The config models, the request record and the events are re-exported as they are: they are
  immutable already (frozen pydantic models and dataclasses) and safe on any thread.
- :mod:`proxy.api.dashboard` holds the dashboard's read model.

It sits on top of the layers (above ``proxy.cli`` and ``proxy.host``); nothing in ``proxy``
imports it.
"""

from proxy.api import connect, dashboard
from proxy.api.control import GatewayControl, for_people
from proxy.api.results import (
    AccessKeyRow,
    GatewayStatus,
    KeyOutcome,
    KeyTestResult,
    NewAccessKey,
    StatePaths,
)
from proxy.cli.main import main as run_command
from proxy.config.schema import (
    CacheConfig,
    CooldownPolicy,
    FallbackTriggers,
    GatewayConfig,
    Limits,
    LoggingConfig,
    ProviderConfig,
    RetryPolicy,
    RouteConfig,
    RouteTarget,
    ServerConfig,
    Variant,
    validation_problems,
)
from proxy.config.store import Version
from proxy.domain.errors import GatewayNotRunning, SwitchboardError
from proxy.domain.events import (
    BudgetThreshold,
    ConfigApplied,
    ConfigRejected,
    KeyFailing,
    RequestFinished,
    RequestLogged,
    RequestProgress,
    RequestStarted,
    ServerStarted,
)
from proxy.domain.presets import PRESETS, Preset
from proxy.domain.records import IN_PROGRESS, OK, STATUSES, RequestRecord
from proxy.engine.gateway import GatewayOptions
from proxy.host.runner import ROUTE_TEST_TIMEOUT, RouteTestResult
from proxy.providers.discovery import LocalServer
from proxy.providers.keytest import ModelList
from proxy.routing.simulate import FAULTS
from proxy.storage.access_keys import ACCESS_KEY_ENV
from proxy.storage.request_log import LIGHT_FIELDS
from proxy.storage.stats import Bucket
from proxy.support.paths import Home
from proxy.support.redact import install_log_redaction, mask

__all__ = [
    # the handle and its answers
    "GatewayControl",
    "GatewayStatus",
    "StatePaths",
    "KeyOutcome",
    "KeyTestResult",
    "RouteTestResult",
    "ROUTE_TEST_TIMEOUT",
    "ModelList",
    "LocalServer",
    "AccessKeyRow",
    "NewAccessKey",
    "Version",
    "for_people",
    # read models
    "dashboard",
    "connect",
    "Bucket",
    "RequestRecord",
    "IN_PROGRESS",
    "OK",
    "STATUSES",
    "LIGHT_FIELDS",
    # config models
    "GatewayConfig",
    "ServerConfig",
    "LoggingConfig",
    "ProviderConfig",
    "RouteConfig",
    "RouteTarget",
    "Variant",
    "FallbackTriggers",
    "RetryPolicy",
    "CooldownPolicy",
    "CacheConfig",
    "Limits",
    "validation_problems",
    "PRESETS",
    "Preset",
    "FAULTS",
    # events
    "BudgetThreshold",
    "ConfigApplied",
    "ConfigRejected",
    "KeyFailing",
    "RequestFinished",
    "RequestLogged",
    "RequestProgress",
    "RequestStarted",
    "ServerStarted",
    # errors
    "SwitchboardError",
    "GatewayNotRunning",
    # running
    "GatewayOptions",
    "Home",
    "ACCESS_KEY_ENV",
    "mask",
    "install_log_redaction",
    "run_command",
]
