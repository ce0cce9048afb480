"""Settings > Telemetry: where OpenTelemetry goes (the config's ``telemetry`` section; the standard
``OTEL_*`` environment variables win over it) and the Prometheus access-key label."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout

from desktop.services import GatewayBridge
from desktop.widgets.schema_form import SchemaForm, put_paths
from desktop.windows.status import plain_label
from proxy.api import GatewayConfig

ACTION = "telemetry"


class TelemetryBox(QGroupBox):
    """Its own form and Save (a config version, "telemetry settings changed in the app"); read by
    the gateway when it starts."""

    def __init__(self, bridge: GatewayBridge) -> None:
        super().__init__("Telemetry")
        self.bridge = bridge
        self.form = SchemaForm(GatewayConfig, self)
        self.endpoint = self.form.text(
            "telemetry.otlp_endpoint", "OTLP endpoint", "http://127.0.0.1:4318 (off when empty)"
        )
        self.service = self.form.text("telemetry.service_name", "Service name")
        self.traces = self.form.check("telemetry.traces", "Export traces")
        self.metrics = self.form.check("telemetry.metrics", "Export metrics")
        self.content = self.form.check("telemetry.capture_content", "Include messages in traces (redacted)")
        self.client_label = self.form.check("telemetry.prometheus_client_label", "Label /metrics by access key")
        self.save_button = QPushButton("Save telemetry")
        self.saved = plain_label("Takes effect when the gateway next starts; OTEL_* variables win over these.")
        rows = QFormLayout()
        rows.addRow(self.form.label(self.endpoint), self.endpoint)
        rows.addRow(self.form.label(self.service), self.service)
        for box in (self.traces, self.metrics, self.content, self.client_label):
            rows.addRow("", box)
        bottom = QHBoxLayout()
        bottom.addWidget(self.saved, 1)
        bottom.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(rows)
        layout.addLayout(bottom)
        self.save_button.clicked.connect(self.save)
        bridge.config.answered.connect(self.on_saved)
        bridge.started.connect(lambda _url: self.load())
        self.load()

    def load(self) -> None:
        config = self.bridge.config.current
        self.save_button.setEnabled(config is not None)
        if config is not None:
            self.form.load(config.model_dump())

    def save(self) -> None:
        values = self.form.values()  # read on the GUI thread; applied on the gateway's loop
        values["telemetry.otlp_endpoint"] = values["telemetry.otlp_endpoint"] or None
        values["telemetry.service_name"] = values["telemetry.service_name"] or "switchboard"

        def mutate(data: dict[str, Any]) -> None:
            put_paths(data, values)

        self.save_button.setEnabled(False)
        self.saved.setText("Saving…")
        self.bridge.config.update("telemetry settings changed in the app", mutate, action=ACTION)

    def on_saved(self, action: str, ok: bool, message: str) -> None:
        if action != ACTION:
            return
        self.save_button.setEnabled(True)
        if ok:
            self.saved.setText("Saved. Takes effect when the gateway next starts.")
        else:
            self.saved.setText(f"Not saved, nothing was changed: {message}")
            self.load()
