"""Where and what to export, from the standard ``OTEL_*`` environment variables over the config's
``telemetry`` section. Pure: no OpenTelemetry import (with nothing set, none happens at all)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from proxy.config.schema import ProviderConfig
from proxy.config.telemetry import TelemetryConfig
from proxy.domain.presets import PRESETS

log = logging.getLogger(__name__)

CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


@dataclass(frozen=True)
class OtelSettings:
    traces_endpoint: str | None
    """Full URL of the OTLP/HTTP traces endpoint (``None``: no traces)."""
    metrics_endpoint: str | None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may carry a collector token
    service_name: str = "switchboard"
    resource: Mapping[str, str] = field(default_factory=dict)
    capture_content: bool = False
    timeout: float = 10.0
    """Seconds per export (``OTEL_EXPORTER_OTLP_TIMEOUT``, given in ms)."""
    metric_interval: float = 60.0
    """Seconds between metric exports (``OTEL_METRIC_EXPORT_INTERVAL``, given in ms)."""
    sample_ratio: float = 1.0
    """Share of new traces exported (``OTEL_TRACES_SAMPLER``); a caller's ``traceparent`` decides for its own."""

    @property
    def enabled(self) -> bool:
        return self.traces_endpoint is not None or self.metrics_endpoint is not None


def _flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


def _pairs(value: str | None) -> dict[str, str]:
    """``k1=v1,k2=v2`` (values percent-encoded), as in ``OTEL_EXPORTER_OTLP_HEADERS``."""
    out: dict[str, str] = {}
    for item in (value or "").split(","):
        key, sep, val = item.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(val.strip())
    return out


def _ms(value: str | None, default: float) -> float:
    try:
        return float(value) / 1000 if value else default
    except ValueError:
        return default


def _endpoint(env: Mapping[str, str], signal: str, base: str | None, on: bool) -> str | None:
    upper = signal.upper()
    if not on or env.get(f"OTEL_{upper}_EXPORTER", "").strip().lower() == "none":
        return None
    protocol = env.get(f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    if protocol and protocol != "http/protobuf":
        log.warning("OTLP protocol %r is not supported (only http/protobuf); %s are not exported", protocol, signal)
        return None
    specific = env.get(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")
    if specific:
        return specific
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or base
    return f"{base.rstrip('/')}/v1/{signal}" if base else None


def _ratio(env: Mapping[str, str]) -> float:
    """``OTEL_TRACES_SAMPLER``: ``always_on`` / ``parentbased_always_on`` (the default), ``always_off``
    / ``parentbased_always_off``, ``traceidratio`` / ``parentbased_traceidratio`` with
    ``OTEL_TRACES_SAMPLER_ARG`` (0..1). A caller's sampled flag always decides for its trace."""
    sampler = env.get("OTEL_TRACES_SAMPLER", "").strip().lower().removeprefix("parentbased_")
    if sampler == "always_off":
        return 0.0
    if sampler == "traceidratio":
        try:
            return min(1.0, max(0.0, float(env.get("OTEL_TRACES_SAMPLER_ARG", "1"))))
        except ValueError:
            log.warning("OTEL_TRACES_SAMPLER_ARG is not a number; sampling every trace")
    return 1.0


def resolve(config: TelemetryConfig, env: Mapping[str, str] | None = None) -> OtelSettings | None:
    """The export settings, or ``None`` when nothing is to be exported (the default)."""
    env = os.environ if env is None else env
    if _flag(env.get("OTEL_SDK_DISABLED")):
        return None
    traces = _endpoint(env, "traces", config.otlp_endpoint, config.traces)
    metrics = _endpoint(env, "metrics", config.otlp_endpoint, config.metrics)
    if traces is None and metrics is None:
        return None
    resource = {**config.resource_attributes, **_pairs(env.get("OTEL_RESOURCE_ATTRIBUTES"))}
    service = env.get("OTEL_SERVICE_NAME") or resource.pop("service.name", None) or config.service_name
    capture = _flag(env.get(CAPTURE_CONTENT))
    return OtelSettings(
        traces,
        metrics,
        headers=_pairs(env.get("OTEL_EXPORTER_OTLP_HEADERS")),
        service_name=service,
        resource=resource,
        capture_content=config.capture_content if capture is None else capture,
        timeout=_ms(env.get("OTEL_EXPORTER_OTLP_TIMEOUT"), 10.0),
        metric_interval=_ms(env.get("OTEL_METRIC_EXPORT_INTERVAL"), 60.0),
        sample_ratio=_ratio(env),
    )


def propagates(provider: ProviderConfig | None) -> bool:
    """Does this provider get the attempt's ``traceparent``? Its ``trace_propagation``; unset: local
    servers and custom endpoints yes, cloud providers no (a trace id tells them nothing useful)."""
    if provider is None:
        return False
    if provider.trace_propagation is not None:
        return provider.trace_propagation
    preset = PRESETS[provider.preset]
    return preset.local or provider.preset == "custom"
