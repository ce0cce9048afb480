"""Numbers for people: money, durations, counts (shared by the dashboard and the playground)."""

from __future__ import annotations

import json
import math
import re

from desktop.widgets.chart import short_number


def money(value: float | None) -> str:
    """US dollars: cents when it is dollars, more digits when it is fractions of a cent."""
    if value is None:
        return "price unknown"
    if value == 0:
        return "$0.00"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.3f}"
    digits = min(9, 1 - math.floor(math.log10(abs(value))))  # two significant digits, never 1e-05
    return f"${value:.{digits}f}"


def money_axis(value: float) -> str:
    """Dollars on a chart axis: as few digits as the tick needs ($0, $0.005, $0.01, $1.50)."""
    if value == 0:
        return "$0"
    text = f"{value:.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def count(value: float) -> str:
    return f"{value:,.0f}" if value < 10_000 else short_number(value)


def percent(fraction: float) -> str:
    if fraction == 0:
        return "0%"
    return f"{fraction * 100:.1f}%" if fraction < 0.1 else f"{fraction * 100:.0f}%"


_QUOTED_MESSAGE = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"')


def provider_words(message: str) -> str:
    """What a provider said, for people: the ``message`` inside an error body such as
    ``key rejected (401): {"error": {"message": "Incorrect API key provided", ...}}`` (even when
    the body was clipped), as ``Incorrect API key provided (HTTP 401).``; other text as it is."""
    head, sep, body = message.partition(": ")
    status = re.search(r"\b([1-5]\d\d)\b", head) if sep else None
    found = _QUOTED_MESSAGE.search(body) if sep else None
    if found is None:
        text = message.strip()
        return text if text.endswith(".") else f"{text}."
    try:
        said = json.loads(f'"{found.group(1)}"')
    except ValueError:
        said = found.group(1)
    said = " ".join(str(said).split()).rstrip(".")
    return f"{said} (HTTP {status.group(1)})." if status else f"{said}."
