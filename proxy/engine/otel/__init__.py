"""OpenTelemetry export: settings from ``OTEL_*`` and the config (:mod:`.settings`, no OpenTelemetry
import), and the exporter (:mod:`.export`, imported only when export is on)."""
