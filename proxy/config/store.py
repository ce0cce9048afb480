"""Versioned config on disk: atomic saves, a numbered history, diff and rollback.

The file in force is ``config.json``; every save also writes ``history/NNNNNN.json``, an envelope
holding the version number, time, author (``tray``, ``cli``, ``file edit``...), a one-line summary
of what changed, a content hash, and the config itself. Saves are atomic: write a temp file in
the same directory, fsync it, ``os.replace`` it over the target, fsync the directory. A crash at
any point leaves either the old or the new file, never a mix; stray temp files are swept on
open. The newest ``KEEP_VERSIONS`` versions are kept.

No secret is ever in a config (providers name their key's source), so the history holds none.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.config.schema import GatewayConfig, parse_config
from proxy.domain.errors import ConfigError

KEEP_VERSIONS = 100
_TMP_SUFFIX = ".tmp-switchboard"


@dataclass(frozen=True)
class Version:
    """One saved config version (without the config itself)."""

    number: int
    time: float
    author: str
    summary: str
    sha256: str


def config_text(config: GatewayConfig) -> str:
    """The canonical file form: defaults left out, stable indentation, trailing newline."""
    return json.dumps(config.model_dump(mode="json", exclude_defaults=True), indent=2) + "\n"


def content_hash(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def atomic_write(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + _TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def summarize(old: GatewayConfig | None, new: GatewayConfig) -> str:
    """One line saying what changed, e.g. ``providers: +openai; routes: ~fast, -old``."""
    if old is None:
        return "initial config"
    parts = []
    for section, key in (("providers", "id"), ("routes", "name")):
        before = {getattr(x, key): x for x in getattr(old, section)}
        after = {getattr(x, key): x for x in getattr(new, section)}
        changes = [f"+{k}" for k in after if k not in before]
        changes += [f"-{k}" for k in before if k not in after]
        changes += [f"~{k}" for k in after if k in before and after[k] != before[k]]
        if changes:
            parts.append(f"{section}: {', '.join(changes)}")
    for section in ("server", "logging"):
        a, b = getattr(old, section), getattr(new, section)
        if a != b:
            fields = [f for f in type(b).model_fields if getattr(a, f) != getattr(b, f)]
            parts.append(f"{section}: {', '.join(fields)}")
    return "; ".join(parts) or "no change"


class ConfigStore:
    """The config file and its version history."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.history_dir = path.parent / "history"

    # -- reading -------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> GatewayConfig:
        """The config in the file (raises ConfigError with precise problems)."""
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise ConfigError(str(self.path), [f"cannot read the file: {exc.strerror or exc}"]) from None
        return parse_config(raw, str(self.path))

    def file_hash(self) -> str | None:
        try:
            return content_hash(self.path.read_bytes())
        except FileNotFoundError:
            return None

    def history(self) -> list[Version]:
        """All kept versions, oldest first."""
        versions = []
        for file in sorted(self.history_dir.glob("[0-9]*.json")):
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
                versions.append(Version(data["version"], data["time"], data["author"], data["summary"], data["sha256"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # an unreadable envelope is skipped, never fatal
        return versions

    def latest(self) -> Version | None:
        versions = self.history()
        return versions[-1] if versions else None

    def version_text(self, number: int) -> str:
        """The config file text of a version."""
        envelope = self._envelope(number)
        return json.dumps(envelope["config"], indent=2) + "\n"

    def version_config(self, number: int) -> GatewayConfig:
        return parse_config(self.version_text(number), f"version {number}")

    def diff(self, a: int, b: int | None = None) -> str:
        """Unified diff between versions ``a`` and ``b`` (default: the file in force)."""
        before = self.version_text(a).splitlines(keepends=True)
        if b is None:
            after = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            label = "current"
        else:
            after = self.version_text(b).splitlines(keepends=True)
            label = f"version {b}"
        return "".join(difflib.unified_diff(before, after, f"version {a}", label))

    def _envelope(self, number: int) -> dict[str, Any]:
        file = self.history_dir / f"{number:06d}.json"
        try:
            envelope: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
            return envelope
        except FileNotFoundError:
            known = ", ".join(str(v.number) for v in self.history()[-10:]) or "none"
            raise ConfigError(str(self.path), [f"there is no config version {number} (recent: {known})"]) from None

    # -- writing -------------------------------------------------------------------------------

    def sweep(self) -> None:
        """Remove temp files a crash mid-save may have left."""
        for stray in self.path.parent.glob(f"*{_TMP_SUFFIX}"):
            stray.unlink(missing_ok=True)
        if self.history_dir.exists():
            for stray in self.history_dir.glob(f"*{_TMP_SUFFIX}"):
                stray.unlink(missing_ok=True)

    def record(
        self, config: GatewayConfig, author: str, summary: str | None = None, *, text: str | None = None
    ) -> Version:
        """Add a history version for ``config`` (already in the file, or about to be)."""
        previous_version = self.latest()
        previous = None
        if previous_version is not None:
            try:
                previous = self.version_config(previous_version.number)
            except ConfigError:
                previous = None
        body = text if text is not None else config_text(config)
        number = (previous_version.number if previous_version else 0) + 1
        version = Version(number, time.time(), author, summary or summarize(previous, config), content_hash(body))
        envelope = {
            "version": version.number,
            "time": version.time,
            "author": version.author,
            "summary": version.summary,
            "sha256": version.sha256,
            "config": json.loads(body),
        }
        atomic_write(self.history_dir / f"{number:06d}.json", json.dumps(envelope, indent=2) + "\n")
        self._prune()
        return version

    def save(self, config: GatewayConfig, author: str, summary: str | None = None) -> Version:
        """Write ``config`` as the file in force and record it as a new version."""
        text = config_text(config)
        version = self.record(config, author, summary, text=text)
        atomic_write(self.path, text)
        return version

    def rollback(self, number: int | None = None, author: str = "cli") -> Version:
        """Make version ``number`` (default: the one before the latest) the config in force."""
        versions = self.history()
        if number is None:
            if len(versions) < 2:
                raise ConfigError(str(self.path), ["there is no earlier version to roll back to"])
            number = versions[-2].number
        config = self.version_config(number)
        return self.save(config, author, f"rollback to version {number}")

    def _prune(self) -> None:
        files = sorted(self.history_dir.glob("[0-9]*.json"))
        for old in files[:-KEEP_VERSIONS]:
            old.unlink(missing_ok=True)
