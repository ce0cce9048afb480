"""Which desktop notifications to show, and when to hold one back so they never spam.

No Qt here: :class:`Notifier` turns gateway events into ``(title, message, level)`` notices, or
``None`` when the same kind of notice was shown too recently. The tray app shows what it returns.

- a fallback happened (a request succeeded after its first target failed): at most one per
  ``quiet_seconds`` (default 5 minutes), saying how many happened meanwhile;
- a provider rejected its key (401/403): once per provider per ``quiet_seconds``;
- a budget threshold was crossed (80% or 100% of a daily or monthly budget): always;
- an edit of the config file was refused: always (the person is editing right now).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from proxy.api import BudgetThreshold, ConfigRejected, KeyFailing, RequestFinished

INFO, WARNING = "info", "warning"


@dataclass(frozen=True)
class Notice:
    title: str
    message: str
    level: str = INFO


class Notifier:
    def __init__(self, quiet_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet = quiet_seconds
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held_fallbacks = 0

    def _may(self, kind: str) -> bool:
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.quiet:
            return False
        self._last[kind] = now
        return True

    def on_event(self, event: object) -> Notice | None:
        if isinstance(event, RequestFinished):
            record = event.record
            if record.status != "ok" or record.attempts < 2:
                return None
            self._held_fallbacks += 1
            if not self._may("fallback"):
                return None
            count, self._held_fallbacks = self._held_fallbacks, 0
            served = f"{record.provider}/{record.upstream_model}"
            more = f" ({count} fallbacks since the last notice)" if count > 1 else ""
            return Notice("Switchboard used a fallback", f"Route {record.route}: answered by {served}{more}.")
        if isinstance(event, KeyFailing):
            if not self._may(f"key:{event.provider}"):
                return None
            return Notice(
                f"{event.provider}: key rejected",
                f"The provider refused its API key. Check it with: switchboard keys test {event.provider}",
                WARNING,
            )
        if isinstance(event, BudgetThreshold):
            share = "reached" if event.fraction >= 1 else f"{event.fraction:.0%} used"
            return Notice(
                "Budget " + share,
                f"{event.scope} ({event.period}): ${event.spent_usd:.2f} spent.",
                WARNING if event.fraction >= 1 else INFO,
            )
        if isinstance(event, ConfigRejected):
            first = event.problems[0] if event.problems else "invalid"
            more = f" (+{len(event.problems) - 1} more)" if len(event.problems) > 1 else ""
            return Notice("Config edit not applied", f"{first}{more}. The previous config stays in force.", WARNING)
        return None
