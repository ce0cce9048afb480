"""The OS keychain as a :class:`~proxy.storage.secrets.SecretStore`, through ``keyring``.

One entry per secret under the service name ``Switchboard``. The backend is pinned to a real
OS keychain (Secret Service, KWallet, macOS Keychain, Windows Credential Locker): an installed
plaintext or encrypted-file backend (keyrings.alt, keyrings.cryptfile) is never picked, even
when keyring would choose it by priority. Without a keychain, every call raises
:class:`SecretStoreUnavailable` with a message that says what is missing and what to do;
nothing is ever written anywhere else as a fallback.

Keychain calls can block (D-Bus round trips, an unlock prompt): call them off the event loop.
"""

from __future__ import annotations

import logging
import sys
import threading

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from proxy.storage.secrets import SecretStoreUnavailable
from proxy.support.redact import REDACTOR

log = logging.getLogger(__name__)

SERVICE = "Switchboard"
SECURE_BACKEND_MODULES = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
)


def no_keychain_help() -> str:
    if sys.platform.startswith("linux"):
        how = (
            "install and unlock a Secret Service provider (e.g. `sudo apt install gnome-keyring` and log in to a "
            "desktop session, or KWallet)"
        )
    elif sys.platform == "darwin":
        how = "make sure the login keychain is unlocked"
    else:
        how = "make sure Windows Credential Manager is available"
    return (
        f"No OS keychain is available: {how}. Until then, give providers keys from environment variables "
        '({"env": "OPENAI_API_KEY"}); Switchboard never stores keys in plaintext instead.'
    )


def _secure_backend_classes() -> list[type[KeyringBackend]]:
    import importlib

    classes: list[type[KeyringBackend]] = []
    for module_name in SECURE_BACKEND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except Exception:  # a platform's backend may not import elsewhere
            continue
        classes += [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, KeyringBackend) and obj.__module__ == module_name
        ]
    return classes


def pick_secure_backend() -> KeyringBackend | None:
    """The best OS keychain backend usable right now, or ``None``.

    Checked afresh on every call (keyring caches its own choice for the process, which would
    miss a keychain that appears later) and limited to real OS keychains: plaintext or
    encrypted-file backends never count, whatever their priority.
    """
    viable = []
    for cls in _secure_backend_classes():
        try:
            if cls.viable:
                viable.append((cls.priority, cls))
        except Exception:
            continue
    for _, cls in sorted(viable, key=lambda pc: pc[0], reverse=True):
        try:
            return cls()
        except Exception as exc:
            log.info("keychain backend %s unusable: %s", cls.__name__, exc)
    return None


class KeychainStore:
    """Secrets in the OS keychain (service ``Switchboard``)."""

    label = "OS keychain"

    def __init__(self, backend: KeyringBackend | None = None, *, discover: bool = True) -> None:
        """``backend`` pins one; otherwise the OS keychain is found on first use (it can block)."""
        self._backend = backend
        self._pending_discovery = backend is None and discover
        self._lock = threading.Lock()

    def _get_backend(self) -> KeyringBackend | None:
        with self._lock:
            if self._pending_discovery:
                self._backend = pick_secure_backend()
                self._pending_discovery = False
            return self._backend

    @property
    def available(self) -> bool:
        return self._get_backend() is not None

    @property
    def backend_name(self) -> str | None:
        b = self._get_backend()
        return None if b is None else f"{type(b).__module__}.{type(b).__name__}"

    def _require(self) -> KeyringBackend:
        backend = self._get_backend()
        if backend is None:
            raise SecretStoreUnavailable(no_keychain_help())
        return backend

    def get(self, name: str) -> str | None:
        backend = self._require()
        try:
            value = backend.get_password(SERVICE, name)
        except keyring.errors.KeyringLocked:
            raise SecretStoreUnavailable(
                "The OS keychain is locked: unlock it (log in to your desktop session) and try again."
            ) from None
        except Exception as exc:
            raise SecretStoreUnavailable(f"The OS keychain could not be read: {_describe(exc)}") from None
        if value is not None:
            REDACTOR.add(value)
        return value

    def set(self, name: str, value: str) -> None:
        backend = self._require()
        REDACTOR.add(value)
        try:
            backend.set_password(SERVICE, name, value)
        except keyring.errors.KeyringLocked:
            raise SecretStoreUnavailable("The OS keychain is locked: unlock it and try again.") from None
        except Exception as exc:
            raise SecretStoreUnavailable(f"The OS keychain refused to store the key: {_describe(exc)}") from None

    def delete(self, name: str) -> bool:
        """Delete an entry; ``False`` if there was none."""
        backend = self._require()
        try:
            backend.delete_password(SERVICE, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as exc:
            raise SecretStoreUnavailable(f"The OS keychain could not delete the key: {_describe(exc)}") from None
        return True


def _describe(exc: BaseException) -> str:
    return REDACTOR.redact(f"{type(exc).__name__}: {exc}".rstrip(": "))
