"""Secret stores: where provider keys come from, behind one small interface.

A config never holds a key; it holds a :class:`~proxy.config.SecretRef` naming a source.
:class:`SecretResolver` turns a ref into the value through the store for that source.
This module has the environment-variable store and an in-memory store (tests, and
session-only keys); the OS keychain store plugs in behind the same :class:`SecretStore`.

Not-found behaviour: ``get`` returns ``None`` when the store works but has no such entry, and
raises :class:`SecretStoreUnavailable` when the store itself cannot be used (no keychain,
locked keychain). Keychain calls may block, so callers run ``get`` off the event loop.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from proxy.config.schema import SecretRef
from proxy.support.redact import REDACTOR


class SecretStoreUnavailable(Exception):
    """The store cannot be used at all (as opposed to: this entry does not exist)."""


class SecretStore(Protocol):
    """A place secrets live."""

    label: str

    def get(self, name: str) -> str | None:
        """The secret, or ``None`` if there is no entry of that name."""
        ...


class WritableSecretStore(SecretStore, Protocol):
    """A store that can also keep and forget secrets (the keychain, memory)."""

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> bool | None: ...


class EnvSecretStore:
    """Secrets from environment variables (read-only)."""

    label = "environment"

    def get(self, name: str) -> str | None:
        return os.environ.get(name) or None


class MemorySecretStore:
    """Secrets held in memory only: for tests and session-only keys."""

    label = "memory"

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self._data = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._data.get(name)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            self._data[name] = value

    def delete(self, name: str) -> bool:
        with self._lock:
            return self._data.pop(name, None) is not None


class SecretUnavailable(Exception):
    """A ref could not be resolved; the message says why and what to do (never the value)."""


class SecretResolver:
    """Resolves :class:`SecretRef` values through the store for each source."""

    def __init__(self, *, env: SecretStore | None = None, keychain: WritableSecretStore | None = None) -> None:
        self.env = env or EnvSecretStore()
        self.keychain = keychain

    def resolve(self, ref: SecretRef) -> str:
        """Return the secret value.

        Raises:
            SecretUnavailable: the variable is unset, the entry is missing, or the store is down.
        """
        if ref.env is not None:
            value = self.env.get(ref.env)
            if value is None:
                raise SecretUnavailable(f"environment variable {ref.env} is not set")
        else:
            assert ref.keychain is not None
            if self.keychain is None:
                raise SecretUnavailable(
                    f"keychain entry {ref.keychain!r} cannot be read: no OS keychain store is configured; "
                    "keys from environment variables still work"
                )
            try:
                value = self.keychain.get(ref.keychain)
            except SecretStoreUnavailable as exc:
                raise SecretUnavailable(str(exc)) from None
            if value is None:
                raise SecretUnavailable(f"keychain entry {ref.keychain!r} does not exist")
        REDACTOR.add(value)
        return value
