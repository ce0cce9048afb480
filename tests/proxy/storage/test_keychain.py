"""The OS keychain store, against a real Secret Service (gnome-keyring on a private D-Bus)."""

from __future__ import annotations

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from proxy.config.schema import SecretRef
from proxy.storage.keychain import SERVICE, KeychainStore, pick_secure_backend
from proxy.storage.secrets import SecretResolver, SecretStoreUnavailable, SecretUnavailable


def test_roundtrip_on_a_real_secret_service(secret_service):
    store = KeychainStore()
    assert store.backend_name == "keyring.backends.SecretService.Keyring"
    store.set("provider.test", "sk-keychain-canary-0123456789")
    assert store.get("provider.test") == "sk-keychain-canary-0123456789"
    resolver = SecretResolver(keychain=store)
    assert resolver.resolve(SecretRef(keychain="provider.test")) == "sk-keychain-canary-0123456789"
    assert store.delete("provider.test") is True
    assert store.delete("provider.test") is False
    assert store.get("provider.test") is None
    with pytest.raises(SecretUnavailable, match="does not exist"):
        resolver.resolve(SecretRef(keychain="provider.test"))


def test_no_keychain_is_explained_and_never_falls_back(monkeypatch, tmp_path):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pick_secure_backend() is None
    store = KeychainStore()
    assert not store.available
    for call in (
        lambda: store.get("x"),
        lambda: store.set("x", "sk-never-written-anywhere-123"),
        lambda: store.delete("x"),
    ):
        with pytest.raises(SecretStoreUnavailable, match="No OS keychain is available") as err:
            call()
        assert "environment variables" in str(err.value)
    assert not any(p.is_file() for p in tmp_path.rglob("*")), "nothing written as a fallback"


class _PlaintextLike(KeyringBackend):
    """Stands in for keyrings.alt's PlaintextKeyring: high priority, not an OS keychain."""

    priority = 100

    def get_password(self, service, username):
        return "plaintext!"

    def set_password(self, service, username, password):
        raise AssertionError("must never be used")

    def delete_password(self, service, username):
        raise AssertionError("must never be used")


def test_plaintext_backends_are_never_picked(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(_PlaintextLike())
    try:
        assert pick_secure_backend() is None
    finally:
        keyring.set_keyring(previous)


def test_locked_keychain_is_reported():
    class Locked(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            raise keyring.errors.KeyringLocked("locked")

        def set_password(self, service, username, password):
            raise keyring.errors.KeyringLocked("locked")

        def delete_password(self, service, username):
            raise keyring.errors.KeyringLocked("locked")

    store = KeychainStore(Locked())
    with pytest.raises(SecretStoreUnavailable, match="locked"):
        store.get("x")
    with pytest.raises(SecretStoreUnavailable, match="locked"):
        store.set("x", "y")


def test_service_name():
    assert SERVICE == "Switchboard"
