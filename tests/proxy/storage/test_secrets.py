"""Secret stores and resolution; resolved secrets are registered with the redactor."""

from __future__ import annotations

import pytest

from proxy.config.schema import SecretRef
from proxy.storage.secrets import MemorySecretStore, SecretResolver, SecretStoreUnavailable, SecretUnavailable
from proxy.support.redact import REDACTOR, mask


def test_env_source(monkeypatch):
    monkeypatch.setenv("SB_TEST_KEY", "sk-test-env-value-1234567890")
    resolver = SecretResolver()
    assert resolver.resolve(SecretRef(env="SB_TEST_KEY")) == "sk-test-env-value-1234567890"
    assert REDACTOR.redact("key=sk-test-env-value-1234567890!") == "key=[REDACTED]!"
    monkeypatch.delenv("SB_TEST_KEY")
    with pytest.raises(SecretUnavailable, match="environment variable SB_TEST_KEY is not set"):
        resolver.resolve(SecretRef(env="SB_TEST_KEY"))


def test_keychain_source_through_a_store():
    store = MemorySecretStore({"openai": "value-from-store-0001"})
    resolver = SecretResolver(keychain=store)
    assert resolver.resolve(SecretRef(keychain="openai")) == "value-from-store-0001"
    with pytest.raises(SecretUnavailable, match="does not exist"):
        resolver.resolve(SecretRef(keychain="other"))
    store.delete("openai")
    with pytest.raises(SecretUnavailable):
        resolver.resolve(SecretRef(keychain="openai"))
    with pytest.raises(SecretUnavailable, match="no OS keychain store is configured"):
        SecretResolver().resolve(SecretRef(keychain="openai"))


def test_unavailable_store_is_reported_not_crashed():
    class Locked:
        label = "locked"

        def get(self, name: str) -> str | None:
            raise SecretStoreUnavailable("the keychain is locked; unlock it and retry")

    with pytest.raises(SecretUnavailable, match="locked"):
        SecretResolver(keychain=Locked()).resolve(SecretRef(keychain="x"))


def test_key_shapes_are_redacted_and_masked():
    text = "sk-proj-abcdefghijklmnop1234 and Bearer abc.def-ghi and ?key=AIzaSECRET&x=1 sb-local-abcdefghijklmnopqrstu"
    clean = REDACTOR.redact(text)
    assert "abcdefghijklmnop1234" not in clean and "abc.def-ghi" not in clean and "AIzaSECRET" not in clean
    assert "sb-local-abcdefghij" not in clean
    assert mask("sk-abcdefghijklmnopa1b2") == "sk-…a1b2"
    assert mask("short") == "…"
