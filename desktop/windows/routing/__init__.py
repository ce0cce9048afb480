"""Routing: the visual editor for routes (public model names and where they go).

A list of routes on the left; on the right, the selected route: its own settings (:mod:`.form`,
bound to ``RouteConfig``'s fields), its targets in fallback order (:mod:`.targets`: drag a row,
or Alt+Up/Alt+Down, to reorder; a weight slider per target when the strategy uses weights), an
A/B split into variants (:mod:`.variants`), fallback triggers, retries, cooldown and hedging,
cache and limits. Every edit is checked at once against the same pydantic rules as the config
file; a valid edit is saved as a new config version shortly after the last change and applied to
the running gateway without dropping requests (requests in flight keep the config they started
with). "Test this route" sends a small request through it and "Simulate failure" makes a chosen
target fail for its next calls (:mod:`.trying`); "History" shows every version with a diff and
rolls back (:mod:`.history`). :mod:`.page` puts it together.
"""

from desktop.windows.routing.changes import describe_change
from desktop.windows.routing.history import HistoryDialog
from desktop.windows.routing.page import RoutingPage
from desktop.windows.routing.targets import TargetsModel, TargetsView

__all__ = ["HistoryDialog", "RoutingPage", "TargetsModel", "TargetsView", "describe_change"]
