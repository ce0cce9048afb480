"""Config reload: the config to start with, and picking up changes other processes make.

A mixin of :class:`~proxy.gateway.Gateway` (kept apart so gateway.py holds the lifecycle and the
request path): the config file, with a fall back to the newest valid version when it is broken
at start; edits of the file, applied when valid and rejected (with ``config check``'s messages)
when not; access keys created or revoked and provider keys changed by the CLI.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from proxy.config import GatewayConfig, default_config
from proxy.discovery import discover_local_servers
from proxy.errors import ConfigError, GatewayStartError
from proxy.events import ConfigApplied, ConfigRejected
from proxy.snapshot import Snapshot
from proxy.storage.config_store import content_hash
from proxy.threads import in_thread

if TYPE_CHECKING:
    from proxy.gateway import Gateway

log = logging.getLogger("proxy.gateway")
CONFIG_WATCH_SECONDS = 0.5


class ReloadMixin:
    """Config loading and live reload for the gateway."""

    async def load_config(self: Gateway) -> GatewayConfig:
        """The config to start with.

        The config file if there is one (an invalid file falls back to the newest valid saved
        version, reported through :class:`ConfigRejected`; with none, ConfigError is raised);
        else the zero-config default with any local model servers that answer.
        """
        if self._initial_config is not None:
            return self._initial_config
        if not await in_thread(self.store.exists):
            discovered = await discover_local_servers() if self.options.discover_local else ()
            if discovered:
                log.info("found local model servers: %s", ", ".join(discovered))
            return default_config(discovered)
        await in_thread(self.store.sweep)
        try:
            config = await in_thread(self.store.load)
        except ConfigError as exc:
            fallback = await in_thread(self._last_good_version)
            if fallback is None:
                raise
            log.warning("config file is invalid; using saved version %d instead:\n%s", fallback[0], exc)
            self.events.emit(ConfigRejected(exc.source, tuple(exc.problems)))
            self._applied_hash = await in_thread(self.store.file_hash)
            return fallback[1]
        self._applied_hash = await in_thread(self._record_if_new, config)
        return config

    def _last_good_version(self: Gateway) -> tuple[int, GatewayConfig] | None:
        for version in reversed(self.store.history()):
            try:
                return version.number, self.store.version_config(version.number)
            except ConfigError:
                continue
        return None

    def _record_if_new(self: Gateway, config: GatewayConfig) -> str | None:
        """Record the file as a version unless it is the latest one already; returns its hash."""
        text = self.config_path.read_text(encoding="utf-8")
        digest = content_hash(text)
        latest = self.store.latest()
        if latest is None or latest.sha256 != digest:
            self.store.record(config, "file edit" if latest else "initial", text=text)
        return digest

    async def _watch_files(self: Gateway) -> None:
        """Pick up changes made by other processes (the CLI, an editor): access keys, provider
        keys, and edits of the config file (unless the config was given in memory)."""
        while True:
            await asyncio.sleep(CONFIG_WATCH_SECONDS)
            try:
                await self._check_side_files()
                if self._initial_config is None:
                    async with self.config_lock:  # not while the app saves a version
                        await self._check_config_file()
            except Exception:
                log.exception("checking for changed files failed")

    def _side_file_marks(self: Gateway) -> tuple[float | None, float | None]:
        def mtime(path: Path) -> float | None:
            try:
                return path.stat().st_mtime_ns
            except FileNotFoundError:
                return None

        return mtime(self.home.access_keys_index), mtime(self.home.keys_epoch_file)

    async def _check_side_files(self: Gateway) -> None:
        """Access keys created or revoked, provider keys changed in the keychain (by the CLI)."""
        marks = await in_thread(self._side_file_marks)
        if marks == self._watch_marks:
            return
        keys_changed = marks[0] != self._watch_marks[0]
        secrets_changed = marks[1] != self._watch_marks[1]
        self._watch_marks = marks
        if keys_changed:
            self.access_keys = await in_thread(self.access_store.load)
        if secrets_changed and self.snapshot is not None:
            # rebuild every adapter whose key lives in the keychain; in-flight requests keep theirs
            config = self.snapshot.config
            keep = {
                pid: a
                for pid, a in self.snapshot.adapters.items()
                if not ((p := config.provider(pid)) is not None and p.key is not None and p.key.keychain)
            }
            previous = Snapshot(config, keep, self.snapshot.resolver, self.snapshot.price_refs)
            old, self.snapshot = self.snapshot, await in_thread(self._build_snapshot, config, previous)
            self._retire(old, self.snapshot)  # the replaced adapters' pools were leaked before
        if self.snapshot is not None:
            self.gates = self._build_gates(self.snapshot.config)

    async def _check_config_file(self: Gateway) -> None:
        """Valid edits are recorded and applied; invalid ones are rejected (the last good config
        stays in force) and reported."""
        digest = await in_thread(self.store.file_hash)
        if digest is None or digest == self._applied_hash:
            return
        self._applied_hash = digest
        try:
            config = await in_thread(self.store.load)
        except ConfigError as exc:
            log.warning("rejected an edit of the config file; the last good config stays in force:\n%s", exc)
            self.events.emit(ConfigRejected(exc.source, tuple(exc.problems)))
            return
        await in_thread(self._record_if_new, config)
        try:
            await self.apply_config(config)
        except GatewayStartError as exc:
            self.events.emit(ConfigRejected(str(self.config_path), (str(exc),)))
            return
        latest = await in_thread(self.store.latest)
        if latest is not None:
            self.events.emit(ConfigApplied(latest.number, latest.author, latest.summary))
