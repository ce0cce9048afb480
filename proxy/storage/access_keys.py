"""Local access keys: what a client on this machine must present to use the gateway.

A key is generated on first run (256 random bits, ``sb-local-`` prefix) and kept in a file
readable only by the user. ``SWITCHBOARD_ACCESS_KEY`` replaces the stored keys for one run.
Presented keys are compared in constant time against every known key.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from proxy.redact import REDACTOR

ACCESS_KEY_ENV = "SWITCHBOARD_ACCESS_KEY"
PREFIX = "sb-local-"


@dataclass(frozen=True)
class AccessKey:
    name: str
    value: str

    def __repr__(self) -> str:  # never show the value in tracebacks or logs
        return f"AccessKey(name={self.name!r})"


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class AccessKeys:
    """The set of keys that grant access, with a constant-time lookup."""

    def __init__(self, keys: list[AccessKey]) -> None:
        self._keys = [(k.name, k.value.encode()) for k in keys]
        for k in keys:
            REDACTOR.add(k.value)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._keys]

    def match(self, presented: str) -> str | None:
        """The name of the key ``presented`` equals, or ``None``. Compares against all keys."""
        candidate = presented.encode()
        found = None
        for name, value in self._keys:
            if hmac.compare_digest(candidate, value):
                found = name
        return found

    @classmethod
    def load(cls, path: Path, *, create: bool = True) -> AccessKeys:
        """Keys for this run: ``SWITCHBOARD_ACCESS_KEY`` if set, else the stored file (created if missing)."""
        override = os.environ.get(ACCESS_KEY_ENV)
        if override:
            return cls([AccessKey("env", override)])
        return cls(load_or_create(path) if create else _read(path))


def _read(path: Path) -> list[AccessKey]:
    try:
        data = json.loads(path.read_text())
        return [AccessKey(str(k["name"]), str(k["value"])) for k in data["keys"]]
    except FileNotFoundError:
        return []


def load_or_create(path: Path) -> list[AccessKey]:
    """Read the stored keys, creating the file with one ``default`` key on first run."""
    keys = _read(path)
    if keys:
        return keys
    keys = [AccessKey("default", generate())]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"keys": [{"name": k.name, "value": k.value} for k in keys]}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return keys
