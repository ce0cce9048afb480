"""Access keys: the keys tools present (Settings), and the one this app's own clients send."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from desktop.services.lifecycle import GatewayLifecycle
from desktop.services.worker import in_worker
from proxy.api import AccessKeyRow

log = logging.getLogger(__name__)


class AccessKeysService(QObject):
    """Each method starts a worker that waits for the gateway and answers with a signal.

    Signals:
        listed(object): tuple of ``AccessKeyRow`` (names, masked hints, dates; never values).
        created(str, bool, str): name, whether it worked, and the new key's value (shown once by
            the page; never logged) or, when it failed, a message for people.
        revoked(str, bool, str): name, whether it worked, a message for people.
        client_key_fetched(str): the answer to :meth:`fetch_client_key`; ``""`` when no key can be
            shown (none kept in a keychain, and none in ``SWITCHBOARD_ACCESS_KEY``).
    """

    listed = Signal(object)
    created = Signal(str, bool, str)
    revoked = Signal(str, bool, str)
    client_key_fetched = Signal(str)

    def __init__(self, bridge: GatewayLifecycle) -> None:
        super().__init__(bridge)
        self._api = bridge.api

    def load(self) -> None:
        """Read the access keys with when each was last used; ``listed`` follows."""
        in_worker("switchboard-bridge-keys", self._emit_listed)

    def _emit_listed(self) -> None:  # worker thread
        rows: tuple[AccessKeyRow, ...]
        try:
            rows = self._api.access_keys()
        except Exception:
            log.warning("could not list the access keys", exc_info=True)
            rows = ()
        self.listed.emit(rows)

    def create(self, name: str) -> None:
        """Make a new access key, in force at once; ``created`` then ``listed`` follow."""

        def work() -> None:
            try:
                made = self._api.create_access_key(name)
            except ValueError as exc:  # a bad or taken name: written for people
                self.created.emit(name, False, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
                return
            except Exception as exc:
                self.created.emit(name, False, f"The key could not be made: {exc}")
                return
            self.created.emit(name, True, made.value)
            self._emit_listed()

        in_worker("switchboard-bridge-keys", work)

    def revoke(self, name: str) -> None:
        """Revoke an access key at once; ``revoked`` then ``listed`` follow."""

        def work() -> None:
            try:
                revoked = self._api.revoke_access_key(name)
            except Exception as exc:
                self.revoked.emit(name, False, f"The key could not be revoked: {exc}")
                return
            if revoked:
                self.revoked.emit(name, True, f"Revoked {name}: tools using it are refused from now on.")
            else:
                self.revoked.emit(name, False, f"There is no access key named {name} any more.")
            self._emit_listed()

        in_worker("switchboard-bridge-keys", work)

    def fetch_client_key(self) -> None:
        """Look up the access key a client should use (the keychain may block); ``client_key_fetched``
        follows."""
        in_worker("switchboard-bridge-key", lambda: self.client_key_fetched.emit(self.read_client_key()))

    def read_client_key(self) -> str:
        """The access key this app's own clients send (blocking: call it on a worker)."""
        try:
            return self._api.client_access_key()
        except Exception:
            log.warning("could not read the access key", exc_info=True)
            return ""  # client_access_key answers from the environment before it can fail
