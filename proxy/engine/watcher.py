"""ConfigWatcher: picks up changes other processes make while the gateway runs.

Edits of the config file are applied when valid and rejected (with ``config check``'s messages)
when not; access keys created or revoked and provider keys changed by the CLI (marker files) are
read again. The checks run off the event loop, and only when something may have changed:

- On Linux it sleeps on inotify (``asyncinotify``) until one of the watched files changes. It
  watches the files' *directories*, filtered by name: an atomic save replaces the file's inode,
  and a watch on the file itself would fire once and then never again (``shared/PLATFORM.md`` T7).
  Idle, it costs no wake-up at all.
- Elsewhere, or when inotify cannot be had (no watches left, a directory that does not exist),
  it polls every ``POLL_SECONDS``.

Each check is idempotent (a hash of the config file, the markers' modification times), so a
burst of events, or an event about something else, costs one cheap look and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from proxy.config.schema import GatewayConfig
from proxy.config.store import ConfigStore, Version
from proxy.domain.errors import ConfigError, GatewayStartError
from proxy.domain.events import ConfigRejected, GatewayEvents
from proxy.engine.snapshot import Snapshot
from proxy.support.paths import Home
from proxy.support.threads import in_thread

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
"""How often to look when file notifications are unavailable."""
SETTLE_SECONDS = 0.03
"""After a notification, let the rest of its burst arrive (temp file, rename, marker) first."""

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
        notifier = _notifier(self._watched_files())
        if notifier is None:
            await self._poll()
            return
        with notifier as changes:
            await self._check()  # what changed between mark() and the first watch
            async for _ in changes:
                await asyncio.sleep(SETTLE_SECONDS)
                changes.discard_pending()
                await self._check()
        # the notifications stopped (a watched directory was removed or renamed): poll instead
        log.info("file notifications stopped; checking for changed files every %g s", POLL_SECONDS)
        await self._poll()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            await self._check()

    async def _check(self) -> None:
        gateway = self.gateway
        try:
            await self.check_side_files()
            if not gateway.config_in_memory:
                async with gateway.config_lock:  # not while the app saves a version
                    await self.check_config_file()
        except Exception:
            log.exception("checking for changed files failed")

    def _watched_files(self) -> list[Path]:
        home = self.gateway.home
        files = [home.access_keys_index, home.keys_epoch_file]
        if not self.gateway.config_in_memory:
            files.append(self.gateway.config_path)
        return files

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
            # Under the config lock: a save applied while this rebuild ran in its thread would
            # otherwise be undone when the rebuilt snapshot (of the older config) is put in force.
            async with gateway.config_lock:
                await self._rebuild_keychain_adapters()

    async def _rebuild_keychain_adapters(self) -> None:
        """Rebuild every adapter whose key lives in the keychain; in-flight requests keep theirs."""
        gateway = self.gateway
        snapshot = gateway.snapshot
        if snapshot is None:
            return
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


class _Changes:
    """inotify on the directories of some files, as an async iterator of "something changed".
    It ends when a watched directory goes away (the caller falls back to polling)."""

    MASK_NAMES = ("CLOSE_WRITE", "MOVED_TO", "MOVED_FROM", "CREATE", "DELETE", "ATTRIB")
    GONE_NAMES = ("DELETE_SELF", "MOVE_SELF", "IGNORED", "UNMOUNT")

    def __init__(self, inotify: Any, mask_type: Any, names: dict[Path, set[str]]) -> None:
        self._inotify = inotify
        self._names = names
        self._gone = _mask(mask_type, self.GONE_NAMES)
        self._overflow = mask_type.Q_OVERFLOW
        self._ended = False

    def __enter__(self) -> _Changes:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inotify.close()

    def __aiter__(self) -> _Changes:
        return self

    async def __anext__(self) -> None:
        while True:
            if self._ended:
                raise StopAsyncIteration
            event = await self._inotify.get()
            if event.mask & self._gone:
                raise StopAsyncIteration
            if self._relevant(event):
                return

    def _relevant(self, event: Any) -> bool:
        if event.mask & self._overflow:
            return True  # events were lost: look
        watch = event.watch
        if watch is None or event.name is None:
            return False
        return str(event.name) in self._names.get(Path(watch.path), set())

    def discard_pending(self) -> None:
        """Drop the events already queued: the check that follows sees their effect."""
        for event in self._drain():
            if event.mask & self._gone:
                self._ended = True  # the next __anext__ ends the iteration
                return

    def _drain(self) -> Iterator[Any]:
        inotify = self._inotify
        previous = inotify.sync_timeout
        inotify.sync_timeout = 0
        try:
            while (event := inotify.sync_get()) is not None:
                yield event
        except BlockingIOError:
            return
        finally:
            inotify.sync_timeout = previous


def _mask(mask_type: Any, names: tuple[str, ...]) -> Any:
    mask = mask_type(0)
    for name in names:
        mask |= getattr(mask_type, name)
    return mask


def _notifier(files: list[Path]) -> _Changes | None:
    """inotify watches on the files' directories, or ``None`` (then the caller polls)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        from asyncinotify import Inotify, Mask
    except (ImportError, OSError) as exc:  # not installed, or no libc inotify
        log.info("file notifications unavailable (%s); checking for changed files every %g s", exc, POLL_SECONDS)
        return None
    names: dict[Path, set[str]] = {}
    for file in files:
        names.setdefault(file.parent, set()).add(file.name)
    inotify = None
    try:
        inotify = Inotify()
        mask = _mask(Mask, _Changes.MASK_NAMES) | Mask.ONLYDIR
        for directory in names:
            inotify.add_watch(directory, mask)
    except OSError as exc:  # a directory that does not exist, no inotify watches left
        if inotify is not None:
            inotify.close()
        log.info("file notifications unavailable (%s); checking for changed files every %g s", exc, POLL_SECONDS)
        return None
    return _Changes(inotify, Mask, names)
