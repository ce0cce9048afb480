"""Apply and Restore a tool's config file without clobbering it.

- **Apply writes only the keys Switchboard owns** (:mod:`proxy.connect.docs`), and :func:`plan`
  shows the diff before anything is written.
- The user's file is copied once, before the first change, to ``<file>.switchboard-backup``
  (the file's own permissions; it is the user's file, kept next to it). A small state file in the
  app's data dir (:class:`ConnectState`) remembers, per tool, a hash of what Switchboard wrote and
  the endpoint and key it wrote (a hash), so the page can tell a file that is out of date.
- **Restore gives the user's file back byte for byte** when nothing changed it since Switchboard
  wrote it. When something did (the user, the tool itself), it merges instead: only Switchboard's
  keys are taken out (or given back the values the user had), and the other changes stay.
- Applying again over a file changed since keeps the user's changes too, and the backup becomes
  that file without Switchboard's keys (an old snapshot would undo the user's edits).

Everything here touches the disk: call it from a worker thread.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.connect.docs import MISSING, ConnectError, Doc
from proxy.connect.tools import Connection, ToolSetup
from proxy.support.redact import mask

BACKUP_SUFFIX = ".switchboard-backup"
NO_FILE_MARK = b"switchboard: there was no file here\n"
"""Backup content meaning "the file did not exist": Restore removes the file."""
STATE_FILE = "connect.json"


LEGACY_BLOCK = re.compile(r"# >>> switchboard[^\n]*>>>\n.*?# <<< switchboard[^\n]*<<<\n?", re.S)
"""The delimited sections earlier versions wrote into TOML/YAML files: taken out before editing."""


def _legacy_free(text: str) -> str:
    if "# >>> switchboard" not in text:
        return text
    return re.sub(r"\n{3,}", "\n\n", LEGACY_BLOCK.sub("", text)).strip("\n") + "\n"


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def key_fingerprint(key: str) -> str:
    """A short hash of an access key: tells a changed key, never shows it."""
    return _sha("switchboard-connect:" + key)[:16] if key else ""


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def _atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".switchboard-tmp")
    tmp.write_bytes(data)
    if mode is not None:
        os.chmod(tmp, mode)
    elif path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Applied:
    """What Switchboard remembers about one Apply (no secrets: the key only as a fingerprint)."""

    tool: str
    path: str
    written: str
    """sha256 of the bytes Switchboard wrote."""
    base_url: str
    key: str
    """:func:`key_fingerprint` of the access key written."""
    model: str
    at: float

    def out_of_date(self, conn: Connection) -> list[str]:
        """What changed since this Apply (for people); empty when the file is current."""
        why = []
        if self.base_url != conn.base_url:
            why.append(f"Switchboard moved from {self.base_url} to {conn.base_url}")
        if conn.access_key and self.key != key_fingerprint(conn.access_key):
            why.append("the access key changed")
        if self.model != conn.model:
            why.append(f"the default model is now {conn.model} (was {self.model})")
        return why


class ConnectState:
    """The tools Switchboard applied: ``connect.json`` in the app's data dir."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Applied]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {k: Applied(**v) for k, v in data.get("applied", {}).items()}
        except (OSError, ValueError, TypeError):
            return {}

    def get(self, tool: str) -> Applied | None:
        return self.read().get(tool)

    def _write(self, applied: dict[str, Applied]) -> None:
        body = {"applied": {k: v.__dict__ for k, v in applied.items()}}
        _atomic_write(self.path, (json.dumps(body, indent=2) + "\n").encode(), 0o600)

    def put(self, entry: Applied) -> None:
        applied = self.read()
        applied[entry.tool] = entry
        self._write(applied)

    def drop(self, tool: str) -> None:
        applied = self.read()
        if applied.pop(tool, None) is not None:
            self._write(applied)


@dataclass(frozen=True)
class Plan:
    """What Apply would write, computed from the file as it is now."""

    tool: ToolSetup
    before: bytes | None
    after: str
    diff: str
    """A unified diff (access key masked)."""
    changed_since: bool
    """The file changed since Switchboard last wrote it (Apply keeps those changes)."""

    @property
    def changes(self) -> bool:
        return self.before is None or self.before.decode("utf-8", "replace") != self.after


def _text(data: bytes | None, where: Path) -> str:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConnectError(f"{where} is not UTF-8 text; set it up by hand from the snippet.") from None


def _diff(before: str, after: str, path: Path, secret: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"{path} (now)",
        tofile=f"{path} (after Apply)",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text.replace(secret, mask(secret)) if secret else text


def _render(tool: ToolSetup, text: str) -> str:
    assert tool.fmt is not None and tool.config_path is not None
    doc = Doc(tool.fmt, text, str(tool.config_path))
    for owned in tool.owned:
        doc.put(owned)
    return doc.text()


def _require(tool: ToolSetup) -> Path:
    if not tool.can_apply or tool.config_path is None:
        raise ConnectError(f"{tool.name} has no config file Switchboard can write; follow the steps shown.")
    return tool.config_path


def plan(tool: ToolSetup, conn: Connection, state: ConnectState) -> Plan:
    """What Apply would change in ``tool``'s file, as a diff (blocking: the disk)."""
    path = _require(tool)
    before = _read(path)
    after = _render(tool, _legacy_free(_text(before, path)))
    entry = state.get(tool.id)
    changed = backup_path(path).exists() and (entry is None or before is None or _sha(before) != entry.written)
    return Plan(tool, before, after, _diff(_text(before, path), after, path, conn.access_key), changed)


def is_applied(tool: ToolSetup) -> bool:
    return tool.config_path is not None and backup_path(tool.config_path).exists()


def apply(tool: ToolSetup, conn: Connection, state: ConnectState, expected: Plan | None = None) -> str:
    """Write ``tool``'s keys (blocking: the disk); returns what was done, for people.

    With ``expected`` (the :class:`Plan` the user saw), refuses when the file changed since."""
    path = _require(tool)
    if not conn.access_key:
        raise ConnectError("There is no access key to write yet: make one in Settings → New key.")
    now = plan(tool, conn, state)
    if expected is not None and now.before != expected.before:
        raise ConnectError(f"{path} changed while the diff was shown; nothing was written. Look at the new diff.")
    backup = backup_path(path)
    merged = ""
    if not backup.exists():
        _atomic_write(backup, now.before if now.before is not None else NO_FILE_MARK, 0o600)
    elif now.changed_since:  # an old snapshot would undo the user's edits
        fresh = _without_ours(tool, now.before).encode() if now.before is not None else NO_FILE_MARK
        _atomic_write(backup, fresh, 0o600)
        merged = " It had changed since Switchboard wrote it: your changes are kept."
    data = now.after.encode()
    _atomic_write(path, data)
    fingerprint = key_fingerprint(conn.access_key)
    state.put(Applied(tool.id, str(path), _sha(data), conn.base_url, fingerprint, conn.model, time.time()))
    return f"Wrote {path}.{merged} Restore puts your file back."


def _original(tool: ToolSetup, backup: bytes) -> Doc:
    assert tool.fmt is not None
    text = "" if backup == NO_FILE_MARK else _text(backup, backup_path(_require(tool)))
    return Doc(tool.fmt, text, f"the backup of {tool.config_path}")


def _without_ours(tool: ToolSetup, current: bytes) -> str:
    """``current`` with Switchboard's keys given back what the user had in the backup (or taken out)."""
    path = _require(tool)
    backup = _read(backup_path(path))
    assert tool.fmt is not None
    original = _original(tool, backup) if backup is not None else Doc(tool.fmt, "", "")
    doc = Doc(tool.fmt, _legacy_free(_text(current, path)), str(path))
    for owned in tool.owned:
        was: Any = original.current(owned)
        doc.give_back(owned, was)
    return doc.text()


def restore(tool: ToolSetup, state: ConnectState) -> str:
    """Give the user's file back (blocking: the disk); returns what was done, for people."""
    path = _require(tool)
    backup = backup_path(path)
    saved = _read(backup)
    if saved is None:
        raise ConnectError(f"There is nothing to restore for {tool.name}.")
    current = _read(path)
    entry = state.get(tool.id)
    if current is None:
        message = f"{path} is gone already; nothing to restore."
    elif entry is not None and _sha(current) == entry.written:
        if saved == NO_FILE_MARK:
            path.unlink()
            message = f"Removed {path}: there was none before Switchboard wrote it."
        else:
            _atomic_write(path, saved)
            message = f"Restored {path} exactly as it was."
    else:
        merged = _without_ours(tool, current)
        if not merged.strip() and saved == NO_FILE_MARK:
            path.unlink()
        else:
            _atomic_write(path, merged.encode())
        message = (
            f"{path} had changed since Switchboard wrote it, so only Switchboard's settings were taken out; "
            "your changes are kept."
        )
    backup.unlink()
    state.drop(tool.id)
    return message


def owned_values(tool: ToolSetup) -> dict[str, Any]:
    """What the file has now at each key Switchboard owns (blocking: the disk), for display."""
    path = _require(tool)
    assert tool.fmt is not None
    doc = Doc(tool.fmt, _text(_read(path), path), str(path))
    out = {}
    for owned in tool.owned:
        value = doc.current(owned)
        out[".".join(owned.path)] = None if value is MISSING else value
    return out
