"""The typed answers of :class:`proxy.api.GatewayControl`: frozen values, safe on any thread.

A window decides what to say from these fields (an outcome, a status), never by reading the
text meant for people. None of them holds a live gateway object; none of their ``repr`` shows
a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from proxy.config.schema import GatewayConfig
from proxy.providers.keytest import KeyTest


class KeyOutcome(StrEnum):
    """What a provider said about a key (the values are :mod:`proxy.providers.keytest`'s)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RATE_LIMITED = "rate_limited"
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    NOT_NEEDED = "not_needed"


@dataclass(frozen=True, slots=True)
class KeyTestResult:
    """The answer to "Test key"."""

    outcome: KeyOutcome
    message: str
    """For people, redacted: never the key."""
    ms: float = 0.0
    status: int | None = None
    """The provider's HTTP status when it answered one (``None``: not known or not reached)."""

    @property
    def ok(self) -> bool:
        return self.outcome in (KeyOutcome.ACCEPTED, KeyOutcome.NOT_NEEDED)

    @classmethod
    def of(cls, test: KeyTest) -> KeyTestResult:
        """The border's form of a :class:`KeyTest`; an outcome this version does not know is a failure."""
        try:
            outcome = KeyOutcome(test.outcome)
        except ValueError:
            outcome = KeyOutcome.FAILED
        # today's KeyTest carries no status; the one on the new upstream transport may, so it is
        # read when present rather than parsed out of the message
        status = getattr(test, "status", None)
        return cls(outcome, test.message, test.ms, status if isinstance(status, int) else None)

    @classmethod
    def failed(cls, message: str) -> KeyTestResult:
        return cls(KeyOutcome.FAILED, message)


@dataclass(frozen=True, slots=True)
class AccessKeyRow:
    """One access key as the Settings page lists it: never its value (nor its hash)."""

    name: str
    hint: str
    """A masked form (``sb-local-…a1b2``) to tell keys apart."""
    created: float
    last_used: float | None
    """When a request last presented it (from the request log), ``None`` if never."""


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    """A key just made: its value is shown once, by the page, and never logged."""

    name: str
    value: str = field(repr=False)
    kept: bool
    """Whether a keychain keeps it (else it cannot be shown again)."""


@dataclass(frozen=True, slots=True)
class StatePaths:
    """Where this gateway keeps its files (fixed when it is made)."""

    config_file: Path
    log_db: Path
    connect_state: Path | None = None
    """The tools Connect applied (``connect.json`` in the data dir)."""


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """The running gateway's state, copied on its own thread: keep it and read it anywhere."""

    config: GatewayConfig
    """The config in force (pydantic models are frozen)."""
    base_url: str | None
    """``http://host:port`` while listening (follows a port change)."""
    made_access_key: bool
    """This start made the first access key: a first run."""
