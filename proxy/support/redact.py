"""Scrub secrets out of text before it reaches a log, an error message or the database.

Two nets: the exact secret values currently loaded (registered as they are resolved), and
patterns for well-known key shapes and credential-bearing headers or query parameters.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from types import TracebackType

MASK = "[REDACTED]"

_PATTERNS = re.compile(
    "|".join(
        (
            r"\bsk-(?:ant-|or-|proj-)?[A-Za-z0-9_\-]{16,}",  # OpenAI, Anthropic, OpenRouter
            r"\bsb-local-[A-Za-z0-9_\-]{16,}",  # our own local access keys
            r"\bAIza[0-9A-Za-z_\-]{30,}",  # Google
            r"\b(?:gsk|xai|hf)_[A-Za-z0-9]{20,}",  # Groq, xAI, Hugging Face
            r"\bxai-[A-Za-z0-9]{20,}",
            r"(?<=[Bb]earer )[A-Za-z0-9._~+/=\-]{8,}",
            r"(?<=[?&]key=)[^&\s\"']+",
            r"(?<=api-key\": \")[^\"]+",
            r"(?<=[Aa]pi-[Kk]ey: )\S+",  # x-api-key, and Azure's api-key
            r"(?<=x-goog-api-key: )\S+",
            r"(?<=://)[^/\s:@\"']+:[^/\s@\"']+(?=@)",  # user:password in a URL (proxy URLs)
        )
    )
)


class Redactor:
    """Replaces known secret values and key-shaped strings with ``[REDACTED]``."""

    def __init__(self) -> None:
        self._values: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        """Remember a secret value (short values are ignored: they would mask ordinary words)."""
        if len(secret) >= 8:
            with self._lock:
                self._values = self._values | {secret}

    def redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return _PATTERNS.sub(MASK, text)


REDACTOR = Redactor()
"""The process-wide redactor: every resolved secret is added to it."""


def mask(secret: str) -> str:
    """A display form that identifies a key without revealing it: ``sk-…a1b2``."""
    if len(secret) < 12:
        return "…"
    prefix = secret[:3] if not secret.startswith("sb-local-") else "sb-local-"
    return f"{prefix}…{secret[-4:]}"


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (and exception text) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = REDACTOR.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = REDACTOR.redact(record.exc_text)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def install_log_redaction() -> None:
    """Attach the redacting filter to every handler of the root logger, and send uncaught
    exceptions (main thread and other threads) through logging, so their tracebacks are redacted
    too instead of being printed raw to stderr."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


_uncaught = logging.getLogger("switchboard.uncaught")


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    _uncaught.critical("uncaught exception", exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    value = args.exc_value if args.exc_value is not None else args.exc_type()
    _uncaught.error("uncaught exception in thread %s", name, exc_info=(args.exc_type, value, args.exc_traceback))
