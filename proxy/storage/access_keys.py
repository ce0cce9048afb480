"""Local access keys: what a client on this machine must present to use the gateway.

A key is 256 random bits with an ``sb-local-`` prefix. On disk there is only an index of key
names with the SHA-256 of each key (``access-keys.json``, user-only): enough to check a presented
key, useless to anyone who reads the file. The key itself goes to the OS keychain (entry
``access-key:NAME``) so the tray and ``switchboard access-key show`` can show it again; without a
keychain it is shown once, when created, and never stored.

``SWITCHBOARD_ACCESS_KEY`` replaces the stored keys for one run. Presented keys are hashed and
compared in constant time against every known key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from proxy.config.store import atomic_write
from proxy.storage.secrets import SecretStoreUnavailable, WritableSecretStore
from proxy.support.redact import REDACTOR, mask

ACCESS_KEY_ENV = "SWITCHBOARD_ACCESS_KEY"
PREFIX = "sb-local-"
DEFAULT_NAME = "default"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def keychain_entry(name: str) -> str:
    return f"access-key:{name}"


@dataclass(frozen=True)
class AccessKeyInfo:
    """What is known about a key without its value."""

    name: str
    sha256: str
    created: float
    hint: str
    """A masked form (``sb-local-…a1b2``) to tell keys apart."""


class AccessKeys:
    """The keys that grant access right now, checked in constant time."""

    def __init__(self, hashes: dict[str, str]) -> None:
        self._hashes = [(name, bytes.fromhex(h)) for name, h in hashes.items()]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._hashes]

    def match(self, presented: str) -> str | None:
        """The name of the key ``presented`` is, or ``None``. Compares against all keys."""
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for name, expected in self._hashes:
            if hmac.compare_digest(digest, expected):
                found = name
        return found

    @classmethod
    def from_env(cls) -> AccessKeys | None:
        value = os.environ.get(ACCESS_KEY_ENV)
        if not value:
            return None
        REDACTOR.add(value)
        return cls({"env": key_hash(value)})


class AccessKeyStore:
    """The index file plus the keychain copies of the keys."""

    def __init__(self, index: Path, keychain: WritableSecretStore | None = None) -> None:
        self.index = index
        self.keychain = keychain

    def infos(self) -> list[AccessKeyInfo]:
        try:
            data = json.loads(self.index.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return [AccessKeyInfo(k["name"], k["sha256"], k["created"], k["hint"]) for k in data["keys"]]

    def load(self) -> AccessKeys:
        """The keys in force: ``SWITCHBOARD_ACCESS_KEY`` if set, else the index."""
        return AccessKeys.from_env() or AccessKeys({k.name: k.sha256 for k in self.infos()})

    def _write(self, infos: list[AccessKeyInfo]) -> None:
        data = {"keys": [k.__dict__ for k in infos]}
        atomic_write(self.index, json.dumps(data, indent=2) + "\n")

    def create(self, name: str) -> tuple[str, bool]:
        """Make a new key; returns it and whether the keychain keeps a copy.

        Raises:
            ValueError: bad or duplicate name.
        """
        if not name or set(name) - _NAME_CHARS or len(name) > 64:
            raise ValueError("a key name uses lowercase letters, digits, '-', '_' or '.' (at most 64)")
        infos = self.infos()
        if any(k.name == name for k in infos):
            raise ValueError(f"there is already an access key named {name!r}")
        value = generate()
        REDACTOR.add(value)
        kept = False
        if self.keychain is not None:
            try:
                self.keychain.set(keychain_entry(name), value)
                kept = True
            except SecretStoreUnavailable:
                kept = False
        self._write([*infos, AccessKeyInfo(name, key_hash(value), time.time(), mask(value))])
        return value, kept

    def ensure_default(self) -> tuple[str, bool] | None:
        """On first run, create the ``default`` key; returns it (and keychain status) if created."""
        self.import_legacy()
        if self.infos():
            return None
        return self.create(DEFAULT_NAME)

    def reveal(self, name: str) -> str | None:
        """The key's value from the keychain, or ``None`` if it is not kept there."""
        if self.keychain is None or not any(k.name == name for k in self.infos()):
            return None
        try:
            return self.keychain.get(keychain_entry(name))
        except SecretStoreUnavailable:
            return None

    def revoke(self, name: str) -> bool:
        infos = self.infos()
        remaining = [k for k in infos if k.name != name]
        if len(remaining) == len(infos):
            return False
        self._write(remaining)
        if self.keychain is not None:
            try:
                self.keychain.delete(keychain_entry(name))
            except SecretStoreUnavailable:
                pass
        return True

    def import_legacy(self) -> None:
        """Move a key from the old plaintext ``access-key`` file (first releases) into the index."""
        legacy = self.index.with_name("access-key")
        if not legacy.exists() or self.infos():
            return
        try:
            keys = json.loads(legacy.read_text(encoding="utf-8"))["keys"]
        except (ValueError, KeyError, OSError):
            return
        infos = []
        for k in keys:
            value = str(k["value"])
            if self.keychain is not None:
                try:
                    self.keychain.set(keychain_entry(str(k["name"])), value)
                except SecretStoreUnavailable:
                    pass
            infos.append(AccessKeyInfo(str(k["name"]), key_hash(value), legacy.stat().st_mtime, mask(value)))
        self._write(infos)
        legacy.unlink()
