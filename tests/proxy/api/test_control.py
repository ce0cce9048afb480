"""proxy.api: the typed border the desktop imports. A real gateway on a free port, driven the way
the desktop's workers drive it: blocking calls with frozen answers, never live gateway objects."""

from __future__ import annotations

import dataclasses
import json
import threading
from types import ModuleType

import pytest

import proxy.api as api
from proxy.api import GatewayControl, GatewayNotRunning, GatewayOptions, KeyOutcome, KeyTestResult, NewAccessKey
from proxy.providers.keytest import KeyTest
from tests.helpers import ACCESS_KEY, DEMO_CONFIG


@pytest.fixture
def control(tmp_path, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_ACCESS_KEY", ACCESS_KEY)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(DEMO_CONFIG))
    made = GatewayControl(GatewayOptions(home=tmp_path / "home", config_path=config, port=0, discover_local=False))
    yield made
    made.stop(10)


def test_exported_members():
    exported = {n for n in dir(api) if not n.startswith("_") and not isinstance(getattr(api, n), ModuleType)}
    assert exported | {"dashboard", "connect"} == set(api.__all__)


@pytest.mark.parametrize("outcome", list(KeyOutcome))
def test_a_key_test_keeps_its_outcome(outcome):
    result = KeyTestResult.of(KeyTest(outcome.value, "for people", 12.0))
    assert (result.outcome, result.message, result.ms, result.status) == (outcome, "for people", 12.0, None)
    assert result.ok == (outcome in (KeyOutcome.ACCEPTED, KeyOutcome.NOT_NEEDED))


def test_an_unknown_outcome_is_a_failure():
    assert KeyTestResult.of(KeyTest("exploded", "?")).outcome is KeyOutcome.FAILED


def test_a_new_key_never_shows_in_its_repr():
    made = NewAccessKey("ci", "sb-local-secret-value", kept=True)
    assert "sb-local-secret-value" not in repr(made) and made.value == "sb-local-secret-value"


def test_answers_are_frozen_and_made_on_the_gateway_thread(control):
    seen: list[tuple[str, object]] = []

    def on_event(event: object) -> None:  # gateway threads, as the desktop's bridge listens
        if type(event).__name__ in ("ServerStarted", "ConfigApplied"):
            seen.append((threading.current_thread().name, control.status()))

    control.subscribe(on_event)
    with pytest.raises(GatewayNotRunning):
        control.status()  # not started: nothing to copy
    url = control.start(15)
    status = control.status()  # from this (non-gateway) thread: handed to the loop and waited for
    assert status is not None and status.base_url == url and not status.made_access_key
    assert [r.name for r in status.config.routes] == ["demo", "demo-embed"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.base_url = "elsewhere"  # type: ignore[misc]  # proving it is frozen
    assert seen and seen[0][0] == "switchboard-gateway" and seen[0][1] == status

    control.update_config("rename", lambda d: d["routes"][0].update(name="renamed"))
    thread, applied = seen[-1]
    assert thread == "switchboard-gateway" and [r.name for r in applied.config.routes][0] == "renamed"
    assert [r.name for r in status.config.routes][0] == "demo"  # the earlier copy did not move


def test_checks_answer_with_results_and_never_raise(control):
    stopped = control.test_key("demo")
    assert stopped.outcome is KeyOutcome.FAILED and "not running" in stopped.message
    assert control.find_local_servers() == ()
    control.start(15)
    assert control.test_key("demo").outcome is KeyOutcome.NOT_NEEDED
    missing = control.test_key("nobody")
    assert missing.outcome is KeyOutcome.FAILED and "nobody" in missing.message
    routed = control.test_route("demo")
    assert routed.ok and routed.provider == "demo" and routed.attempts == 1
    assert not control.test_route("no-such-route").ok
    assert control.fetch_models("demo").models == ("echo", "embed")


def test_access_keys_and_the_log_are_read_models(secret_service, control, monkeypatch):
    monkeypatch.delenv("SWITCHBOARD_ACCESS_KEY")  # the stored keys are in force
    logged = threading.Event()
    control.subscribe(lambda event: logged.set() if type(event).__name__ == "RequestLogged" else None)
    control.start(15)
    [default] = control.access_keys()
    assert default.name == "default" and default.last_used is None
    assert not hasattr(default, "sha256")  # not even the hash crosses the border
    assert control.test_route("demo").ok
    assert logged.wait(10)
    made = control.create_access_key("ci-tool")
    assert made.value.startswith("sb-local-") and made.value not in repr(control.access_keys())
    assert control.revoke_access_key("ci-tool") and not control.revoke_access_key("ci-tool")
    page = control.log_page(10)
    assert [r.route for r in page] == ["demo"] and page[0].request_body is None
    data = control.dashboard("day", control.status().config)
    assert data.total.requests == 1


def test_the_app_stops_sending_a_revoked_first_run_key(secret_service, control, monkeypatch):
    """The key made by this start is the app's own until it is revoked; then another kept one is."""
    monkeypatch.delenv("SWITCHBOARD_ACCESS_KEY")
    control.start(15)
    first = control.client_access_key()
    assert first and [k.name for k in control.access_keys()] == ["default"]
    other = control.create_access_key("laptop").value
    assert control.client_access_key() == first
    assert control.revoke_access_key("default")
    assert control.client_access_key() == other
