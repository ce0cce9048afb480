"""GatewayThread: the gateway in its own thread with its own asyncio loop (no Qt).

The tray app uses only this class's methods and the event stream. Methods are thread-safe:
they hand work to the gateway's loop with ``run_coroutine_threadsafe``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from proxy import discovery, keytest
from proxy.cli_keys import _touch
from proxy.config import GatewayConfig, ProviderConfig, SecretRef, validation_problems
from proxy.events import GatewayEvents
from proxy.gateway import Gateway, GatewayOptions
from proxy.keytest import FAILED, KeyTest, ModelList
from proxy.models import RequestRecord
from proxy.redact import mask
from proxy.storage.access_keys import AccessKeyInfo
from proxy.storage.keychain import no_keychain_help
from proxy.storage.request_log import last_used_by_client, read_recent
from proxy.storage.secrets import SecretResolver, SecretStoreUnavailable, SecretUnavailable
from proxy.threads import in_thread


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where available (faster sockets), else the standard loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class GatewayThread:
    """Runs a :class:`Gateway` on a background thread."""

    def __init__(
        self,
        options: GatewayOptions | None = None,
        *,
        config: GatewayConfig | None = None,
        secrets: SecretResolver | None = None,
    ) -> None:
        self.events = GatewayEvents()
        self.gateway = Gateway(options, config=config, secrets=secrets, events=self.events)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str | None:
        return self.gateway.base_url

    def start(self, timeout: float = 15.0) -> str:
        """Start the thread and wait until the server listens; returns the base URL.

        Raises:
            ConfigError, GatewayStartError: startup failed (the thread has ended).
            TimeoutError: the server did not start in time.
        """
        started: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="switchboard-gateway", daemon=True)
        self._thread.start()
        return started.result(timeout)

    def _run(self, started: concurrent.futures.Future[str]) -> None:
        loop = self._loop = new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(started))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self, started: concurrent.futures.Future[str]) -> None:
        self._stop = asyncio.Event()
        try:
            url = await self.gateway.start()
        except BaseException as exc:
            started.set_exception(exc)
            return
        started.set_result(url)
        await self._stop.wait()
        await self.gateway.stop()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving (in-flight requests drain for the configured time) and join the thread."""
        if self._loop is None or self._thread is None or self._stop is None:
            return
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._thread = None

    def apply_config(self, config: GatewayConfig) -> concurrent.futures.Future[None]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self.gateway.apply_config(config), self._loop)

    def save_provider(self, provider: ProviderConfig, key: str | None) -> concurrent.futures.Future[str]:
        """Add (or replace) a provider: its key, if given, goes to the OS keychain under the
        provider's id and the config refers to it; the config is saved as a new version and applied.
        The future's result says what was done; it raises ``ValueError`` (with a message for people)
        when the config would not be valid or there is no keychain."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._save_provider(provider, key), self._loop)

    async def _save_provider(self, provider: ProviderConfig, key: str | None) -> str:
        gateway = self.gateway
        keychain = gateway.secrets.keychain
        if key:
            if keychain is None or not getattr(keychain, "available", True):
                raise ValueError(no_keychain_help())
            entry = provider.key.keychain if provider.key and provider.key.keychain else provider.id
            try:
                await in_thread(keychain.set, entry, key)
            except SecretStoreUnavailable as exc:
                raise ValueError(str(exc)) from None
            provider = provider.model_copy(update={"key": SecretRef(keychain=entry)})
        config = gateway.snapshot.config
        others = [p for p in config.providers if p.id != provider.id]
        replacing = len(others) != len(config.providers)
        try:
            updated = GatewayConfig.model_validate(
                {**config.model_dump(), "providers": [*(p.model_dump() for p in others), provider.model_dump()]}
            )
        except ValidationError as exc:
            raise ValueError("\n".join(validation_problems(exc))) from None
        await gateway.save_config(updated, "desktop", f"{'update' if replacing else 'add'} provider {provider.id}")
        if key:
            await in_thread(_touch, gateway.home.keys_epoch_file)  # an unchanged config still rebuilds the key
        return f"{'Updated' if replacing else 'Added'} {provider.id}" + (
            f" (key {mask(key)} in the keychain)" if key else ""
        )

    def update_config(self, summary: str, mutate: Callable[[dict[str, Any]], None]) -> concurrent.futures.Future[str]:
        """Change the config in force: ``mutate`` edits its plain-data form on the gateway loop; the
        result is validated, saved as a new version and applied. Raises ``ValueError`` listing the
        problems when the result is not valid (nothing is saved then)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._update_config(summary, mutate), self._loop)

    async def _update_config(self, summary: str, mutate: Callable[[dict[str, Any]], None]) -> str:
        data = self.gateway.snapshot.config.model_dump(exclude_defaults=True)
        mutate(data)
        try:
            updated = GatewayConfig.model_validate(data)
        except ValidationError as exc:
            raise ValueError("\n".join(validation_problems(exc))) from None
        await self.gateway.save_config(updated, "desktop", summary)
        return summary[:1].upper() + summary[1:]

    def delete_provider(self, provider_id: str) -> concurrent.futures.Future[str]:
        """Remove a provider from the config (refused while a route still uses it) and its key
        from the keychain."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._delete_provider(provider_id), self._loop)

    async def _delete_provider(self, provider_id: str) -> str:
        gateway = self.gateway
        config = gateway.snapshot.config
        provider = config.provider(provider_id)
        if provider is None:
            raise ValueError(f"There is no provider {provider_id!r}.")
        users = [r.name for r in config.routes if any(t.provider == provider_id for t in r.all_targets)]
        if users:
            raise ValueError(f"Routes still use {provider_id}: {', '.join(users)}. Change them first.")
        data = config.model_dump()
        data["providers"] = [p.model_dump() for p in config.providers if p.id != provider_id]
        await gateway.save_config(GatewayConfig.model_validate(data), "desktop", f"delete provider {provider_id}")
        keychain = gateway.secrets.keychain
        if provider.key is not None and provider.key.keychain and keychain is not None:
            await in_thread(keychain.delete, provider.key.keychain)
        return f"Deleted {provider_id}"

    def test_provider_key(self, provider_id: str) -> concurrent.futures.Future[KeyTest]:
        """Ask the provider whether its configured key is accepted (see :mod:`proxy.keytest`)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._test_provider_key(provider_id), self._loop)

    async def _test_provider_key(self, provider_id: str) -> KeyTest:
        provider = self.gateway.snapshot.config.provider(provider_id)
        if provider is None:
            return KeyTest(FAILED, f"there is no provider {provider_id!r}")
        key = None
        if provider.key is not None:
            try:
                key = await in_thread(self.gateway.secrets.resolve, provider.key)
            except SecretUnavailable as exc:
                return KeyTest(FAILED, f"no key: {exc}")
        return await keytest.test_key(provider, key)

    def query_log(self, limit: int = 100) -> list[RequestRecord]:
        """Recent log rows, read on the caller's thread through its own SQLite connection."""
        return read_recent(self.gateway.home.log_db, limit)

    # -- Providers page and access keys (desktop, issue 6) -----------------------------------------
    # Local servers, a provider's model list, and the access keys clients present. Each returns a
    # future; the desktop bridge waits for it on a worker thread, never on the GUI thread.

    local_server_addresses: dict[str, str] | None = None
    """Where :meth:`find_local_servers` looks (preset -> base URL); ``None``: the usual ports."""

    def find_local_servers(self, timeout: float = 1.0) -> concurrent.futures.Future[tuple[discovery.LocalServer, ...]]:
        """Ollama / LM Studio servers answering on this computer (see :mod:`proxy.discovery`)."""
        assert self._loop is not None
        coro = discovery.find_local_servers(timeout, self.local_server_addresses)
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def fetch_models(self, provider_id: str) -> concurrent.futures.Future[ModelList]:
        """The provider's own model list, asked with its key (see :func:`proxy.keytest.fetch_models`)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._fetch_models(provider_id), self._loop)

    async def _fetch_models(self, provider_id: str) -> ModelList:
        provider = self.gateway.snapshot.config.provider(provider_id)
        if provider is None:
            return ModelList(False, (), f"There is no provider {provider_id!r} any more.")
        key = None
        if provider.key is not None:
            try:
                key = await in_thread(self.gateway.secrets.resolve, provider.key)
            except SecretUnavailable as exc:
                return ModelList(False, (), f"The key of {provider_id} cannot be read: {exc}")
        return await keytest.fetch_models(provider, key)

    def list_access_keys(self) -> concurrent.futures.Future[list[tuple[AccessKeyInfo, float | None]]]:
        """The access keys (never their values) with when each was last used (from the request log)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(in_thread(self._list_access_keys), self._loop)

    def _list_access_keys(self) -> list[tuple[AccessKeyInfo, float | None]]:
        gateway = self.gateway
        try:
            used = last_used_by_client(gateway.home.log_db)
        except Exception:  # a damaged or busy log must not hide the keys
            used = {}
        return [(info, used.get(info.name)) for info in gateway.access_store.infos()]

    def create_access_key(self, name: str) -> concurrent.futures.Future[tuple[str, bool]]:
        """A new access key, in force at once: ``(value, kept in the keychain)``. Raises ``ValueError``
        (for people) on a bad or taken name."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(
            self._change_access_keys(self.gateway.access_store.create, name), self._loop
        )

    def revoke_access_key(self, name: str) -> concurrent.futures.Future[bool]:
        """Revoke an access key at once (requests presenting it get 401); False if there was none."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(
            self._change_access_keys(self.gateway.access_store.revoke, name), self._loop
        )

    async def _change_access_keys(self, change: Callable[[str], Any], name: str) -> Any:
        gateway = self.gateway
        result = await in_thread(change, name)
        # in force now, not at the next file check (the check will reload the same keys, harmlessly)
        gateway.access_keys = await in_thread(gateway.access_store.load)
        if gateway.snapshot is not None:
            gateway.gates = gateway._build_gates(gateway.snapshot.config)
        return result
