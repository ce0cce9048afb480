"""Versioned config store: atomic saves, history, summaries, diff, rollback."""

from __future__ import annotations

import json
import os

import pytest

from proxy.config import store as config_store
from proxy.config.schema import GatewayConfig
from proxy.config.store import ConfigStore, atomic_write, summarize
from proxy.domain.errors import ConfigError

BASE = {
    "providers": [{"id": "demo", "preset": "demo"}],
    "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
}


def cfg(**changes) -> GatewayConfig:
    return GatewayConfig.model_validate({**BASE, **changes})


def test_save_history_and_summaries(tmp_path):
    store = ConfigStore(tmp_path / "config.json")
    v1 = store.save(cfg(), "cli")
    v2 = store.save(
        cfg(routes=[*BASE["routes"], {"name": "fast", "targets": [{"provider": "demo", "model": "echo"}]}]), "tray"
    )
    v3 = store.save(cfg(server={"port": 5000}), "cli")
    assert [(v.number, v.author) for v in store.history()] == [(1, "cli"), (2, "tray"), (3, "cli")]
    assert v1.summary == "initial config"
    assert v2.summary == "routes: +fast"
    assert v3.summary == "routes: -fast; server: port"
    assert store.load().server.port == 5000
    assert store.file_hash() == v3.sha256
    assert (tmp_path / "config.json").stat().st_mode & 0o077 == 0


def test_diff_and_rollback(tmp_path):
    store = ConfigStore(tmp_path / "config.json")
    store.save(cfg(), "cli")
    store.save(cfg(server={"port": 5000}), "cli")
    diff = store.diff(1, 2)
    assert '+    "port": 5000' in diff and diff.startswith("--- version 1\n+++ version 2\n")
    back = store.rollback()
    assert back.number == 3 and back.summary == "rollback to version 1"
    assert store.load().server.port == 4141
    store.rollback(2)
    assert store.load().server.port == 5000
    assert store.diff(2) == ""
    with pytest.raises(ConfigError, match="there is no config version 99"):
        store.rollback(99)


def test_rollback_needs_an_earlier_version(tmp_path):
    store = ConfigStore(tmp_path / "config.json")
    store.save(cfg(), "cli")
    with pytest.raises(ConfigError, match="no earlier version"):
        store.rollback()


def test_history_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(config_store, "KEEP_VERSIONS", 3)
    store = ConfigStore(tmp_path / "config.json")
    for port in range(5000, 5006):
        store.save(cfg(server={"port": port}), "cli")
    assert [v.number for v in store.history()] == [4, 5, 6]


def test_atomic_write_leaves_old_or_new_and_sweeps_temp_files(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    atomic_write(target, '{"old": true}\n')

    def crash(*args):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(target, '{"new": true}\n')
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"old": True}
    (tmp_path / "config.json.tmp-switchboard").write_text("partial")
    ConfigStore(target).sweep()
    assert not (tmp_path / "config.json.tmp-switchboard").exists()


def test_summarize_no_change():
    assert summarize(cfg(), cfg()) == "no change"
