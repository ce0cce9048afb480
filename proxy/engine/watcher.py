"""ConfigWatcher: picks up changes other processes make while the gateway runs.

Edits of the config file are applied when valid and rejected (with ``config check``'s messages)
when not; access keys created or revoked and provider keys changed by the CLI (marker files) are
read again. It polls; what it reads is small and the checks run off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol

from proxy.config.schema import GatewayConfig
from proxy.config.store import ConfigStore, Version
from proxy.domain.errors import ConfigError, GatewayStartError
from proxy.domain.events import ConfigRejected, GatewayEvents
from proxy.engine.snapshot import Snapshot
from proxy.support.paths import Home
from proxy.support.threads import in_thread

log = logging.getLogger(__name__)
CONFIG_WATCH_SECONDS = 0.5

Marks = tuple[float | None, float | None]


class Watched(Protocol):
    """What the watcher reads and changes of its gateway (:class:`~proxy.engine.gateway.Gateway`)."""

    home: Home
    config_path: Path
    store: ConfigStore
    events: GatewayEvents

    @property
    def config_in_memory(self) -> bool: ...

    config_lock: asyncio.Lock
    applied_hash: str | None
    snapshot: Snapshot | None

    def build_snapshot(self, config: GatewayConfig, previous: Snapshot | None = None) -> Snapshot: ...
    def retire(self, old: Snapshot | None, new: Snapshot) -> None: ...
    async def reload_access_keys(self) -> None: ...
    def record_if_new(self, config: GatewayConfig) -> str | None: ...
    async def apply_config(self, config: GatewayConfig) -> None: ...

    def announce_config(self, version: Version) -> None: ...


class ConfigWatcher:
    """Watches the config file and the key markers of one gateway (from its loop)."""

    def __init__(self, gateway: Watched) -> None:
        self.gateway = gateway
        self._marks: Marks = (None, None)
        self._task: asyncio.Task[None] | None = None

    async def mark(self) -> None:
        """Take the markers as they are now: changes are what happens after this."""
        self._marks = await in_thread(self._side_file_marks)

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="switchboard-config-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        """Pick up changes made by other processes (the CLI, an editor): access keys, provider
        keys, and edits of the config file (unless the config was given in memory)."""
        gateway = self.gateway
        while True:
            await asyncio.sleep(CONFIG_WATCH_SECONDS)
            try:
                await self.check_side_files()
                if not gateway.config_in_memory:
                    async with gateway.config_lock:  # not while the app saves a version
                        await self.check_config_file()
            except Exception:
                log.exception("checking for changed files failed")

    def _side_file_marks(self) -> Marks:
        def mtime(path: Path) -> float | None:
            try:
                return path.stat().st_mtime_ns
            except FileNotFoundError:
                return None

        home = self.gateway.home
        return mtime(home.access_keys_index), mtime(home.keys_epoch_file)

    async def check_side_files(self) -> None:
        """Access keys created or revoked, provider keys changed in the keychain (by the CLI)."""
        gateway = self.gateway
        marks = await in_thread(self._side_file_marks)
        if marks == self._marks:
            return
        keys_changed = marks[0] != self._marks[0]
        secrets_changed = marks[1] != self._marks[1]
        self._marks = marks
        if keys_changed:
            await gateway.reload_access_keys()  # and requests are checked against them from now on
        if secrets_changed and gateway.snapshot is not None:
            # rebuild every adapter whose key lives in the keychain; in-flight requests keep theirs
            snapshot = gateway.snapshot
            config = snapshot.config
            keep = {
                pid: a
                for pid, a in snapshot.adapters.items()
                if not ((p := config.provider(pid)) is not None and p.key is not None and p.key.keychain)
            }
            previous = Snapshot(config, keep, snapshot.resolver, snapshot.price_refs)
            gateway.snapshot = await in_thread(gateway.build_snapshot, config, previous)
            gateway.retire(snapshot, gateway.snapshot)  # the replaced adapters' pools were leaked before

    async def check_config_file(self) -> None:
        """Valid edits are recorded and applied; invalid ones are rejected (the last good config
        stays in force) and reported."""
        gateway = self.gateway
        digest = await in_thread(gateway.store.file_hash)
        if digest is None or digest == gateway.applied_hash:
            return
        gateway.applied_hash = digest
        try:
            config = await in_thread(gateway.store.load)
        except ConfigError as exc:
            log.warning("rejected an edit of the config file; the last good config stays in force:\n%s", exc)
            gateway.events.emit(ConfigRejected(exc.source, tuple(exc.problems)))
            return
        await in_thread(gateway.record_if_new, config)
        try:
            await gateway.apply_config(config)
        except GatewayStartError as exc:
            gateway.events.emit(ConfigRejected(str(gateway.config_path), (str(exc),)))
            return
        latest = await in_thread(gateway.store.latest)
        if latest is not None:
            gateway.announce_config(latest)
