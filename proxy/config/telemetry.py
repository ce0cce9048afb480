"""The config's ``telemetry`` section: OpenTelemetry export and the Prometheus endpoint's labels.

What reads it is ``proxy/engine/otel/``; the standard ``OTEL_*`` environment variables win.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelemetryConfig(_Model):
    """OpenTelemetry export (off unless an endpoint is set here or in ``OTEL_EXPORTER_OTLP_*``) and
    the Prometheus endpoint's labels. The standard ``OTEL_*`` environment variables win over these."""

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); traces go to /v1/traces, metrics to "
        "/v1/metrics. Unset: no export (OTEL_EXPORTER_OTLP_ENDPOINT overrides).",
    )
    service_name: str = Field(
        default="switchboard", min_length=1, max_length=200, description="service.name (OTEL_SERVICE_NAME overrides)."
    )
    resource_attributes: dict[str, str] = Field(
        default_factory=dict, description="Extra resource attributes (merged under OTEL_RESOURCE_ATTRIBUTES)."
    )
    traces: bool = Field(default=True, description="Export a trace per request when an endpoint is set.")
    metrics: bool = Field(default=True, description="Export OTLP metrics when an endpoint is set.")
    capture_content: bool = Field(
        default=False,
        description="Put the messages (redacted like the log) on the spans "
        "(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT overrides). Off by default.",
    )
    prometheus_client_label: bool = Field(
        default=False,
        description="Label /metrics series with the access key's name (one series per key; read at start).",
    )

    @field_validator("otlp_endpoint")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials (set OTEL_EXPORTER_OTLP_HEADERS in the environment)")
        return v.rstrip("/")
