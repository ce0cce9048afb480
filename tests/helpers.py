"""Test helpers: run a real gateway on a free port with an isolated home, wired to fakes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import openai

from proxy.config.schema import GatewayConfig
from proxy.domain.events import GatewayEvents
from proxy.domain.records import RequestRecord
from proxy.engine.gateway import Gateway, GatewayOptions
from proxy.server.app import new_gateway
from proxy.storage.request_log import read_recent
from proxy.storage.secrets import MemorySecretStore, SecretResolver

ACCESS_KEY = "sb-local-test-access-key-0123456789abcdef"

DEMO_CONFIG: dict[str, Any] = {
    "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
    "routes": [
        {"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]},
        {"name": "demo-embed", "targets": [{"provider": "demo", "model": "embed"}]},
    ],
}


@dataclass
class GatewayContext:
    gateway: Gateway
    base_url: str
    home: Path

    @property
    def port(self) -> int:
        assert self.gateway.port is not None
        return self.gateway.port

    clients: list[Any] = field(default_factory=list)
    """SDK clients made by :meth:`openai` / :meth:`anthropic`, closed when the context ends (an
    unclosed one leaks a socket that a later test would trip over)."""

    def openai(self, **kwargs: Any) -> openai.AsyncOpenAI:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 20)
        client = openai.AsyncOpenAI(base_url=f"{self.base_url}/v1", api_key=ACCESS_KEY, **kwargs)
        self.clients.append(client)
        return client

    def anthropic(self, **kwargs: Any) -> anthropic.AsyncAnthropic:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 20)
        client = anthropic.AsyncAnthropic(base_url=self.base_url, api_key=ACCESS_KEY, **kwargs)
        self.clients.append(client)
        return client

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {ACCESS_KEY}", "Content-Type": "application/json", **extra}

    def rows(self, limit: int = 1000) -> list[RequestRecord]:
        assert self.gateway.request_log.flush(10), "request log did not flush"
        return read_recent(self.gateway.home.log_db, limit)


@contextlib.asynccontextmanager
async def gateway_context(
    tmp_path: Path,
    config: dict[str, Any] | GatewayConfig | None = None,
    *,
    secrets: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    config_file: bool = False,
    events: GatewayEvents | None = None,
) -> AsyncIterator[GatewayContext]:
    """Start a gateway on 127.0.0.1:0 with its state under ``tmp_path``; stop it afterwards.

    ``env`` sets environment variables (e.g. provider keys) for the gateway's lifetime.
    ``config_file`` writes the config to ``tmp_path/config.json`` and runs from that file (so it
    is versioned and watched) instead of passing it in memory.
    """
    cfg = config if isinstance(config, GatewayConfig) else GatewayConfig.model_validate(config or DEMO_CONFIG)
    config_path = None
    if config_file:
        config_path = tmp_path / "config.json"
        config_path.write_text(cfg.model_dump_json(exclude_defaults=True, indent=2))
    saved = {k: os.environ.get(k) for k in (env or {})}
    saved["SWITCHBOARD_ACCESS_KEY"] = os.environ.get("SWITCHBOARD_ACCESS_KEY")
    os.environ.update(env or {})
    os.environ["SWITCHBOARD_ACCESS_KEY"] = ACCESS_KEY
    resolver = SecretResolver(keychain=MemorySecretStore(secrets or {}))
    options = GatewayOptions(home=tmp_path, port=0, discover_local=False, config_path=config_path)
    gateway = new_gateway(options, config=None if config_file else cfg, secrets=resolver, events=events)
    try:
        url = await gateway.start()
        ctx = GatewayContext(gateway, url, tmp_path)
        try:
            yield ctx
        finally:
            for client in ctx.clients:
                await client.close()
    finally:
        await gateway.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def serve_subprocess(
    home: Path, config: Path, *, env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> tuple[subprocess.Popen[str], str]:
    """``switchboard serve`` as its own process (any free port, the test access key, no display or
    session bus of the host), for tests that measure or kill it; returns it and its base URL.
    The caller stops it."""
    environ = {**os.environ, "SWITCHBOARD_ACCESS_KEY": ACCESS_KEY, **(env or {})}
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        environ.pop(name, None)
    command = ["serve", *args, "--home", str(home), "--config", str(config), "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxy.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("Switchboard listening on "):
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"the gateway did not start: {line}\n{err}")
    return proc, line.removeprefix("Switchboard listening on ")
