"""Export settings from the standard OTEL_* variables over the config's telemetry section."""

from __future__ import annotations

import pytest

from proxy.config.schema import GatewayConfig, ProviderConfig
from proxy.config.telemetry import TelemetryConfig
from proxy.engine.otel.settings import propagates, resolve


def test_nothing_set_is_off():
    assert resolve(TelemetryConfig(), {}) is None
    assert resolve(TelemetryConfig(otlp_endpoint="http://127.0.0.1:4318"), {"OTEL_SDK_DISABLED": "true"}) is None


def test_environment_over_config():
    config = TelemetryConfig(otlp_endpoint="http://127.0.0.1:4318", resource_attributes={"team": "a", "x": "1"})
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9999/",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:7777/custom/metrics",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20tok,x-team=blue",
        "OTEL_RESOURCE_ATTRIBUTES": "team=b,deployment.environment=prod",
        "OTEL_SERVICE_NAME": "gw",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
    }
    s = resolve(config, env)
    assert s is not None
    assert s.traces_endpoint == "http://127.0.0.1:9999/v1/traces"
    assert s.metrics_endpoint == "http://127.0.0.1:7777/custom/metrics"
    assert s.headers == {"authorization": "Bearer tok", "x-team": "blue"}
    assert s.service_name == "gw" and s.resource == {"team": "b", "x": "1", "deployment.environment": "prod"}
    assert s.timeout == 2.5 and not s.capture_content
    assert "tok" not in repr(s), "headers may hold a collector token"


def test_per_signal_switches_and_protocol():
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    s = resolve(TelemetryConfig(), {**base, "OTEL_METRICS_EXPORTER": "none"})
    assert s is not None and s.metrics_endpoint is None and s.traces_endpoint
    assert resolve(TelemetryConfig(), {**base, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) is None
    s = resolve(
        TelemetryConfig(capture_content=True), {**base, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"}
    )
    assert s is not None and not s.capture_content


def test_config_rejects_credentials_in_the_endpoint():
    with pytest.raises(ValueError, match="credentials"):
        TelemetryConfig(otlp_endpoint="http://user:secret@127.0.0.1:4318")
    assert GatewayConfig().telemetry.otlp_endpoint is None


def test_propagation_defaults_by_provider_kind():
    custom = ProviderConfig(id="c", preset="custom", base_url="http://127.0.0.1:8000/v1")
    cloud = ProviderConfig(id="o", preset="openai", key={"env": "OPENAI_API_KEY"})
    local = ProviderConfig(id="l", preset="ollama")
    assert propagates(custom) and propagates(local) and not propagates(cloud)
    assert propagates(cloud.model_copy(update={"trace_propagation": True}))
    assert not propagates(custom.model_copy(update={"trace_propagation": False}))


async def test_missing_extra_is_one_warning_not_a_failure(monkeypatch, caplog):
    import sys

    from proxy.engine.hooks import Telemetry

    monkeypatch.setitem(sys.modules, "proxy.engine.otel.export", None)  # as in the frozen app
    hook = Telemetry(env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    await hook.start(GatewayConfig())
    assert hook.exporter is None and hook.dropped == 0
    assert "OpenTelemetry is not installed" in caplog.text


def test_sampler_variables():
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert resolve(TelemetryConfig(), base).sample_ratio == 1.0
    ratio = {**base, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}
    assert resolve(TelemetryConfig(), ratio).sample_ratio == 0.25
    assert resolve(TelemetryConfig(), {**base, "OTEL_TRACES_SAMPLER": "always_off"}).sample_ratio == 0.0


def test_unsampled_requests_keep_their_metrics_and_send_no_traceparent():
    from types import SimpleNamespace

    from proxy.domain.exchange import Exchange
    from proxy.engine.hooks import Telemetry
    from proxy.engine.otel.settings import OtelSettings

    submitted = []
    hook = Telemetry()
    hook.settings = OtelSettings("http://127.0.0.1:1/v1/traces", None, sample_ratio=0.0)
    hook.exporter = SimpleNamespace(submit=submitted.append, dropped=0)
    ex = Exchange("chat", None)
    hook.on_request(ex, None, None, SimpleNamespace(headers={}, body={"model": "m"}))  # type: ignore[arg-type]
    config = GatewayConfig.model_validate(
        {"providers": [{"id": "c", "preset": "custom", "base_url": "http://127.0.0.1:9/v1"}]}
    )
    call = SimpleNamespace(headers=None)
    hook.on_attempt(SimpleNamespace(config=config), SimpleNamespace(provider="c", model="m"), None, call)  # type: ignore[arg-type]
    assert call.headers is None, "no traceparent for a trace that is not exported"
    hook.on_ended(ex, ex.record())
    assert len(submitted) == 1 and submitted[0].sampled is False  # still counted in the OTLP metrics
