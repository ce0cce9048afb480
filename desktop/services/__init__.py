"""The desktop's services over :mod:`proxy.api`: one per page, named for what it serves.

:class:`GatewayBridge` starts and stops the gateway, turns its events into Qt signals and keeps
its :attr:`~GatewayBridge.status`; the pages reach everything else through its services:

==================  =====================================================================
``bridge.config``    the config in force, changes, versions, diffs, rollback
``bridge.providers`` providers and keys: save, delete, on/off, test key, model lists, local servers
``bridge.routing``   test a route, simulated failures
``bridge.log``       requests as they run, pages of the request log
``bridge.dashboard`` the dashboard's aggregates
``bridge.playground`` streams to several models at once
``bridge.access_keys`` the access keys tools present, and the one this app sends
``bridge.connect_tools`` Connect a tool: the diff, Apply, Restore, Check, what was applied
``bridge.activity``  recent requests and today's counts (the tray)
==================  =====================================================================

Each waits for the gateway on short-lived workers and answers with a signal, so the GUI thread
never blocks on the network, the disk or the keychain.
"""

from desktop.services.bridge import GatewayBridge
from desktop.services.lifecycle import FailedStart, GatewayLifecycle

__all__ = ["FailedStart", "GatewayBridge", "GatewayLifecycle"]
