"""A private, unlocked Secret Service (gnome-keyring on its own D-Bus session) for keychain tests.

Never the developer's own keyring: when the tests do not already run inside a private session
(``.ci/test`` provides one), this starts ``dbus-daemon`` and ``gnome-keyring-daemon`` with
temporary XDG directories, and stops both afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

SECRETS_NAME = "org.freedesktop.secrets"


def _name_owned(address: str) -> bool:
    result = subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            f"string:{SECRETS_NAME}",
        ],
        capture_output=True,
        text=True,
        timeout=5,
    )
    return "boolean true" in result.stdout


class Unavailable(RuntimeError):
    """The machine lacks dbus-daemon or gnome-keyring-daemon."""


@contextlib.contextmanager
def private_secret_service() -> Iterator[str]:
    """Yield a D-Bus session address on which an unlocked Secret Service answers."""
    existing = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if existing and os.environ.get("SWITCHBOARD_PRIVATE_DBUS") == "1" and _name_owned(existing):
        yield existing  # .ci/test already started a private one for this run
        return
    for tool in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed (Debian packages: dbus gnome-keyring)")
    tmp = tempfile.mkdtemp(prefix="sb-secrets-")
    env = {**os.environ, "XDG_RUNTIME_DIR": f"{tmp}/run", "XDG_DATA_HOME": f"{tmp}/data", "HOME": tmp}
    env.pop("DISPLAY", None)  # an unlock prompt must never appear (and hang) on a screen
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    os.makedirs(env["XDG_DATA_HOME"])
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    keyring_daemon = None
    try:
        address = bus.stdout.readline().strip()
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        keyring_daemon.stdin.write(b"test-keyring-password")
        keyring_daemon.stdin.close()
        deadline = time.monotonic() + 10
        while not _name_owned(address):
            if time.monotonic() > deadline:
                raise Unavailable("gnome-keyring-daemon did not come up on the private bus")
            time.sleep(0.05)
        saved = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME")}
        os.environ.update({k: env[k] for k in saved})
        try:
            yield address
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        for proc in (keyring_daemon, bus):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if bus.stdout:
            bus.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)
