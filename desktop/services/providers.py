"""Providers and their keys (for the Providers page and the first-run wizard).

Saving, deleting and turning a provider on or off are config changes: they answer through
``bridge.config.answered`` with ``"save:ID"``, ``"delete:ID"`` and ``"enable:ID"``. Key tests,
model lists and the probe for local servers answer with their own typed signals.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.services.config import ConfigService
from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.worker import in_worker
from proxy.api import LocalServer, ProviderConfig


class ProvidersService(QObject):
    """Signals:
    key_tested(str, object): the answer to :meth:`test_key`: the provider id and a
        ``KeyTestResult`` (its ``outcome`` says what happened; its message is for people).
    models_fetched(str, bool, object, str): provider id, whether it worked, tuple of model ids,
        a message for people.
    local_servers_found(object): tuple of ``LocalServer`` answering now.
    """

    key_tested = Signal(str, object)
    models_fetched = Signal(str, bool, object, str)
    local_servers_found = Signal(object)

    def __init__(self, bridge: GatewayLifecycle, config: ConfigService) -> None:
        super().__init__(bridge)
        self._config = config
        self._api = bridge.api

    def save(self, provider: ProviderConfig, key: str | None) -> None:
        """Add or replace a provider, its key going to the keychain; ``config.answered("save:ID")``."""
        self._config.answer(f"save:{provider.id}", lambda: self._api.save_provider(provider, key))

    def delete(self, provider_id: str) -> None:
        """Remove a provider and its key; ``config.answered("delete:ID")`` follows."""
        self._config.answer(f"delete:{provider_id}", lambda: self._api.delete_provider(provider_id))

    def set_enabled(self, provider_id: str, enabled: bool) -> None:
        """Turn a provider on or off, saved as a config version and applied live (its routes fall
        through to their other targets while it is off); ``config.answered("enable:ID")`` follows."""

        def mutate(data: dict[str, Any]) -> None:
            for provider in data.get("providers", []):
                if provider.get("id") == provider_id:
                    provider["enabled"] = enabled
                    return
            raise ValueError(f"There is no provider {provider_id!r} any more.")

        verb = "enable" if enabled else "disable"
        self._config.update(f"{verb} provider {provider_id}", mutate, action=f"enable:{provider_id}")

    def add_local_server(self, server: LocalServer) -> str:
        """Add a found local server as a provider (no key); ``config.answered("save:ID")`` follows.
        The id (returned) is the preset's (``ollama``), made unique if taken."""
        config = self._config.current
        taken = {p.id for p in config.providers} if config is not None else set()
        pid, n = server.preset, 2
        while pid in taken:
            pid, n = f"{server.preset}-{n}", n + 1
        data: dict[str, Any] = {"id": pid, "preset": server.preset}
        if server.base_url != ProviderConfig.model_validate(data).effective_base_url:
            data["base_url"] = server.base_url
        self.save(ProviderConfig.model_validate(data), None)
        return pid

    def test_key(self, provider_id: str) -> None:
        """Ask the provider whether its key is accepted; ``key_tested`` follows."""
        in_worker(
            "switchboard-bridge-provider",
            lambda: self.key_tested.emit(provider_id, self._api.test_key(provider_id)),
        )

    def fetch_models(self, provider_id: str) -> None:
        """Ask the provider for its model list with its key; ``models_fetched`` follows."""

        def work() -> None:
            found = self._api.fetch_models(provider_id)
            self.models_fetched.emit(provider_id, found.ok, found.models, found.message)

        in_worker("switchboard-bridge-models", work)

    def find_local_servers(self) -> None:
        """Probe for Ollama / LM Studio on this computer; ``local_servers_found`` follows."""
        in_worker("switchboard-bridge-discover", lambda: self.local_servers_found.emit(self._api.find_local_servers()))
