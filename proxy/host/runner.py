"""GatewayThread: the gateway in its own thread with its own asyncio loop (no Qt).

The desktop reaches it only through :class:`proxy.api.GatewayControl`, which waits for these
methods' futures and hands back frozen values. Methods are thread-safe: they hand work to the
gateway's loop with ``run_coroutine_threadsafe``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import aiohttp
from pydantic import ValidationError

from proxy.config.schema import GatewayConfig, ProviderConfig, SecretRef, default_config, validation_problems
from proxy.config.store import Version
from proxy.domain.errors import ConfigError, GatewayNotRunning, SwitchboardError
from proxy.domain.events import GatewayEvents
from proxy.domain.records import RequestRecord
from proxy.engine.gateway import Gateway, GatewayOptions
from proxy.providers import discovery, keytest
from proxy.providers.keytest import FAILED, KeyTest, ModelList
from proxy.server.app import new_gateway
from proxy.storage.access_keys import ACCESS_KEY_ENV, DEFAULT_NAME, AccessKeyInfo
from proxy.storage.keychain import no_keychain_help
from proxy.storage.request_log import last_used_by_client, read_page, read_recent, read_record
from proxy.storage.secrets import SecretResolver, SecretStoreUnavailable, SecretUnavailable
from proxy.support.net import next_free_port
from proxy.support.paths import touch
from proxy.support.redact import mask
from proxy.support.threads import in_thread

T = TypeVar("T")

ROUTE_TEST_PROMPT = "Reply with the single word OK."
ROUTE_TEST_TIMEOUT = 120.0
NOT_RUNNING = "The gateway is not running, so nothing was changed."


@dataclass(frozen=True, slots=True)
class RouteTestResult:
    """The answer to "Test this route": which target answered, how long it took, or what failed."""

    ok: bool
    status: int
    """HTTP status the gateway answered with (0: it could not be reached)."""
    route: str
    provider: str | None = None
    model: str | None = None
    attempts: int = 0
    milliseconds: float = 0.0
    message: str = ""
    """The model's reply (trimmed) when ``ok``, else the error for people."""


def _set_port(data: dict[str, Any], port: int) -> None:
    data.setdefault("server", {})["port"] = port


def changed(config: GatewayConfig, mutate: Callable[[dict[str, Any]], None]) -> GatewayConfig:
    """``config`` as ``mutate`` edits its plain-data form, validated. Raises ``ValueError`` listing
    the problems for people."""
    data = config.model_dump(exclude_defaults=True)
    mutate(data)
    return validated(data)


def validated(data: dict[str, Any]) -> GatewayConfig:
    """``data`` as a config. Raises ``ValueError`` listing the problems for people."""
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise ValueError("\n".join(validation_problems(exc))) from None


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
        self.gateway = new_gateway(options, config=config, secrets=secrets, events=self.events)
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
        try:
            return started.result(timeout)
        except (SwitchboardError, OSError):  # the start failed: the thread ends now, as documented
            self._thread.join(timeout)
            raise

    def _run(self, started: concurrent.futures.Future[str]) -> None:
        loop = self._loop = new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(started))
        finally:
            try:  # work handed to the loop and still running (a probe, a key test) is cancelled,
                # so whoever waits on its future gets an answer instead of waiting for ever
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
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

    @property
    def is_running(self) -> bool:
        """True while the gateway's loop runs (started, or starting); False before, after a failed
        start, and once stopped."""
        return self._loop is not None and not self._loop.is_closed() and self._loop.is_running()

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the gateway's loop, from any thread; its future answers.

        Raises:
            GatewayNotRunning: there is no loop to run it on (never a bare "Event loop is closed").
        """
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            coro.close()
            raise GatewayNotRunning(NOT_RUNNING)
        try:
            return asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:  # the loop closed between the check and the call
            coro.close()
            raise GatewayNotRunning(NOT_RUNNING) from None

    def read(self, read: Callable[[Gateway], T], timeout: float = 5.0) -> T:
        """``read(gateway)`` on the gateway's own thread, where its state may be read: at once when
        called there (an event callback), else handed to the loop and waited for.

        Raises:
            GatewayNotRunning: the loop is not running (and this is not its thread).
            TimeoutError: the loop did not get to it within ``timeout`` seconds.
        """
        if self._thread is not None and threading.current_thread() is self._thread:
            return read(self.gateway)

        async def on_loop() -> T:
            return read(self.gateway)

        return self._on_loop(on_loop()).result(timeout)

    def _config(self) -> GatewayConfig:
        """The config in force; on the gateway loop, after a start."""
        snapshot = self.gateway.snapshot
        if snapshot is None:
            raise GatewayNotRunning(NOT_RUNNING)
        return snapshot.config

    # -- when the gateway could not start: change the config file, then start again ----------------

    def config_on_file(self) -> GatewayConfig:
        """The config the next start would use: the file, else its newest valid version, else the
        zero-config default. Blocking (reads files): call it from a worker thread."""
        store = self.gateway.store
        if not store.exists():
            return default_config()
        try:
            return store.load()
        except ConfigError:
            fallback = self.gateway.last_good_version()
            return fallback[1] if fallback is not None else default_config()

    def previous_version(self) -> Version | None:
        """The version before the one in force, to start with when the latest cannot start."""
        history = self.gateway.store.history()
        return history[-2] if len(history) >= 2 else None

    def update_config_offline(self, summary: str, mutate: Callable[[dict[str, Any]], None]) -> str:
        """Like :meth:`update_config`, for a gateway that is not running: the file's config is
        changed and saved as a new version, to be used by the next :meth:`start`. Blocking (files):
        call it from a worker thread. Raises ``ValueError`` listing the problems (nothing saved)."""
        if self.is_running:
            raise RuntimeError("the gateway is running: use update_config")
        self.gateway.store.save(changed(self.config_on_file(), mutate), "desktop", summary)
        return summary[:1].upper() + summary[1:]

    def use_free_port(self) -> str:
        """Save the file's config with the first free port after the configured one (the gateway is
        not running). Blocking: call it from a worker thread. Returns what was done, for people."""
        config = self.config_on_file()
        host, busy = config.server.host, config.server.port
        port = next_free_port(host, busy)
        return self.update_config_offline(f"port {busy} was in use: port {port}", lambda data: _set_port(data, port))

    def use_previous_version(self) -> str:
        """Make the version before the latest the config in force again (the gateway is not
        running). Blocking: call it from a worker thread. Raises ``ValueError`` when there is none."""
        if self.is_running:
            raise RuntimeError("the gateway is running: use rollback_config")
        previous = self.previous_version()
        if previous is None:
            raise ValueError("There is no earlier config version to go back to.")
        try:
            version = self.gateway.store.rollback(previous.number, author="desktop")
        except SwitchboardError as exc:
            raise ValueError(str(exc)) from None
        return f"Went back to version {previous.number} (saved as version {version.number})"

    def apply_config(self, config: GatewayConfig) -> concurrent.futures.Future[None]:
        return self._on_loop(self.gateway.apply_config(config))

    def save_provider(self, provider: ProviderConfig, key: str | None) -> concurrent.futures.Future[str]:
        """Add (or replace) a provider: its key, if given, goes to the OS keychain under the
        provider's id and the config refers to it; the config is saved as a new version and applied.
        The future's result says what was done; it raises ``ValueError`` (with a message for people)
        when the config would not be valid or there is no keychain."""
        return self._on_loop(self._save_provider(provider, key))

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
        config = self._config()
        others = [p for p in config.providers if p.id != provider.id]
        replacing = len(others) != len(config.providers)
        updated = validated(
            {**config.model_dump(), "providers": [*(p.model_dump() for p in others), provider.model_dump()]}
        )
        await gateway.save_config(updated, "desktop", f"{'update' if replacing else 'add'} provider {provider.id}")
        if key:
            await in_thread(touch, gateway.home.keys_epoch_file)  # an unchanged config still rebuilds the key
        return f"{'Updated' if replacing else 'Added'} {provider.id}" + (
            f" (key {mask(key)} in the keychain)" if key else ""
        )

    def update_config(self, summary: str, mutate: Callable[[dict[str, Any]], None]) -> concurrent.futures.Future[str]:
        """Change the config in force: ``mutate`` edits its plain-data form on the gateway loop; the
        result is validated, saved as a new version and applied. Raises ``ValueError`` listing the
        problems when the result is not valid (nothing is saved then)."""
        return self._on_loop(self._update_config(summary, mutate))

    async def _update_config(self, summary: str, mutate: Callable[[dict[str, Any]], None]) -> str:
        await self.gateway.save_config(changed(self._config(), mutate), "desktop", summary)
        return summary[:1].upper() + summary[1:]

    def delete_provider(self, provider_id: str) -> concurrent.futures.Future[str]:
        """Remove a provider from the config (refused while a route still uses it) and its key
        from the keychain."""
        return self._on_loop(self._delete_provider(provider_id))

    async def _delete_provider(self, provider_id: str) -> str:
        gateway = self.gateway
        config = self._config()
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
        """Ask the provider whether its configured key is accepted (see :mod:`proxy.providers.keytest`)."""
        return self._on_loop(self._test_provider_key(provider_id))

    async def _test_provider_key(self, provider_id: str) -> KeyTest:
        provider = self._config().provider(provider_id)
        if provider is None:
            return KeyTest(FAILED, f"there is no provider {provider_id!r}")
        try:
            key = await self._provider_key(provider)
        except SecretUnavailable as exc:
            return KeyTest(FAILED, f"no key: {exc}")
        return await keytest.test_key(provider, key, await self._proxy_password(provider))

    async def _provider_key(self, provider: ProviderConfig) -> str | None:
        """The provider's API key from its secret store (``None`` when it needs none); the store
        may block, so it is read off the loop. Raises ``SecretUnavailable``."""
        if provider.key is None:
            return None
        return await in_thread(self.gateway.secrets.resolve, provider.key)

    async def _proxy_password(self, provider: ProviderConfig) -> str | None:
        """The password of the provider's authenticated proxy (``None``: none, or unreadable: the
        proxy's refusal then says what is missing)."""
        if provider.proxy_password is None:
            return None
        try:
            return await in_thread(self.gateway.secrets.resolve, provider.proxy_password)
        except SecretUnavailable:
            return None

    def query_log(self, limit: int = 100) -> list[RequestRecord]:
        """Recent log rows, read on the caller's thread through its own SQLite connection."""
        return read_recent(self.gateway.home.log_db, limit)

    # -- routing editor: test a route, simulated failures, config history and rollback ------------

    def client_access_key(self) -> str:
        """The access key a local client (the app itself) should send, or ``""`` when none can be
        shown. Blocking (the keychain may be slow): call it from a worker thread."""
        value = os.environ.get(ACCESS_KEY_ENV) or ""  # replaces the stored keys for this run
        gateway = self.gateway
        made = gateway.created_access_key  # made by this start, maybe not kept; unless revoked since
        if not value and made is not None and any(k.name == DEFAULT_NAME for k in gateway.access_store.infos()):
            value = made[0]
        if not value:
            names = [DEFAULT_NAME] + [k.name for k in gateway.access_store.infos() if k.name != DEFAULT_NAME]
            value = next((v for v in map(gateway.access_store.reveal, names) if v), "")
        return value

    def test_route(self, route: str) -> concurrent.futures.Future[RouteTestResult]:
        """Send a small chat completion through the gateway's own endpoint to ``route`` (bypassing
        the cache), like any client would, and report who answered and how long it took."""
        return self._on_loop(self._test_route(route))

    async def _test_route(self, route: str) -> RouteTestResult:
        base = self.gateway.base_url
        if base is None:
            return RouteTestResult(False, 0, route, message="The gateway is not running.")
        try:
            key = await in_thread(self.client_access_key)
        except Exception:  # no keychain: try without; the gateway says 401 if it needs one
            key = ""
        headers = {"cache-control": "no-cache", "user-agent": "switchboard-route-test"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        body = {"model": route, "messages": [{"role": "user", "content": ROUTE_TEST_PROMPT}], "max_tokens": 16}
        started = time.perf_counter()
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ROUTE_TEST_TIMEOUT)) as session,
                session.post(f"{base}/v1/chat/completions", json=body, headers=headers) as response,
            ):
                raw = await response.read()
                ms = (time.perf_counter() - started) * 1000
                h = response.headers
                answered = RouteTestResult(
                    False,
                    response.status,
                    route,
                    provider=h.get("x-switchboard-provider"),
                    model=h.get("x-switchboard-model"),
                    attempts=int(h.get("x-switchboard-attempts") or 0),
                    milliseconds=ms,
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return RouteTestResult(False, 0, route, message=f"Could not reach the gateway: {type(exc).__name__} {exc}")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if answered.status == 200 and isinstance(data, dict):
            try:
                text = data["choices"][0]["message"].get("content") or ""
            except (KeyError, IndexError, TypeError, AttributeError):
                text = ""
            return replace(answered, ok=True, message=" ".join(str(text).split())[:200])
        error = data.get("error") if isinstance(data, dict) else None
        message = error.get("message") if isinstance(error, dict) else raw[:300].decode("utf-8", "replace")
        return replace(answered, message=str(message))

    def simulate_failure(self, provider: str, model: str, fault: str, count: int) -> dict[str, list[str]]:
        """Make ``provider``/``model`` fail with ``fault`` for its next ``count`` calls (see
        :mod:`proxy.routing.simulate`); returns the faults now pending. Thread-safe and quick."""
        self.gateway.simulator.arm(provider, model, fault, count)
        return self.gateway.simulator.pending()

    def clear_simulated(self) -> dict[str, list[str]]:
        self.gateway.simulator.clear()
        return self.gateway.simulator.pending()

    def pending_simulated(self) -> dict[str, list[str]]:
        return self.gateway.simulator.pending()

    def config_history(self) -> list[Version]:
        """All kept config versions, oldest first. Blocking (reads files): call from a worker thread."""
        return self.gateway.store.history()

    def config_diff(self, number: int) -> str:
        """Unified diff from the version before ``number`` to ``number`` (blocking: worker thread)."""
        store = self.gateway.store
        earlier = [v.number for v in store.history() if v.number < number]
        if not earlier:
            text = store.version_text(number)
            return "".join(f"+{line}" for line in text.splitlines(keepends=True))
        return store.diff(earlier[-1], number)

    def rollback_config(self, number: int) -> concurrent.futures.Future[str]:
        """Make config version ``number`` the one in force again (saved as a new version, applied
        without dropping requests). Raises ``ValueError`` when that version is missing or invalid."""
        return self._on_loop(self._rollback_config(number))

    async def _rollback_config(self, number: int) -> str:
        try:
            config = await in_thread(self.gateway.store.version_config, number)
        except SwitchboardError as exc:
            raise ValueError(str(exc)) from None
        version = await self.gateway.save_config(config, "desktop", f"rollback to version {number}")
        return f"Rolled back to version {number} (saved as version {version.number})"

    # -- request log page (desktop) ------------------------------------------------------------------

    def query_log_page(self, limit: int, before: tuple[float, str] | None = None) -> list[RequestRecord]:
        """Log rows without bodies, oldest first: the newest ``limit``, or those started before
        ``before`` (``(started_at, id)``). Read on the caller's thread, own SQLite connection."""
        return read_page(self.gateway.home.log_db, limit, before)

    def query_log_record(self, request_id: str) -> RequestRecord | None:
        """One log row with its bodies (``None`` until it is written). Caller's thread, own connection."""
        return read_record(self.gateway.home.log_db, request_id)

    # -- Providers page and access keys (desktop, issue 6) -----------------------------------------
    # Local servers, a provider's model list, and the access keys clients present. Each returns a
    # future; the desktop bridge waits for it on a worker thread, never on the GUI thread.

    local_server_addresses: dict[str, str] | None = None
    """Where :meth:`find_local_servers` looks (preset -> base URL); ``None``: the usual ports."""

    def find_local_servers(self, timeout: float = 1.0) -> concurrent.futures.Future[tuple[discovery.LocalServer, ...]]:
        """Ollama / LM Studio servers answering on this computer (see :mod:`proxy.providers.discovery`)."""
        return self._on_loop(discovery.find_local_servers(timeout, self.local_server_addresses))

    def fetch_models(self, provider_id: str) -> concurrent.futures.Future[ModelList]:
        """The provider's own model list, asked with its key (see :func:`proxy.providers.keytest.fetch_models`)."""
        return self._on_loop(self._fetch_models(provider_id))

    async def _fetch_models(self, provider_id: str) -> ModelList:
        provider = self._config().provider(provider_id)
        if provider is None:
            return ModelList(False, (), f"There is no provider {provider_id!r} any more.")
        try:
            key = await self._provider_key(provider)
        except SecretUnavailable as exc:
            return ModelList(False, (), f"The key of {provider_id} cannot be read: {exc}")
        return await keytest.fetch_models(provider, key, await self._proxy_password(provider))

    def list_access_keys(self) -> concurrent.futures.Future[list[tuple[AccessKeyInfo, float | None]]]:
        """The access keys (never their values) with when each was last used (from the request log)."""
        return self._on_loop(in_thread(self._list_access_keys))

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
        return self._on_loop(self._change_access_keys(self.gateway.access_store.create, name))

    def revoke_access_key(self, name: str) -> concurrent.futures.Future[bool]:
        """Revoke an access key at once (requests presenting it get 401); False if there was none."""
        return self._on_loop(self._change_access_keys(self.gateway.access_store.revoke, name))

    async def _change_access_keys(self, change: Callable[[str], Any], name: str) -> Any:
        gateway = self.gateway
        result = await in_thread(change, name)
        # in force now, not at the next file check (the check will reload the same keys, harmlessly)
        await gateway.reload_access_keys()
        return result
