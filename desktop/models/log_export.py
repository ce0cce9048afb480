"""Writing log rows to JSON Lines or CSV (no Qt: the log page runs it on a worker thread).

Both formats carry every column but the captured bodies, as ``switchboard logs --json`` does:
bodies stay in the database. JSON Lines keeps the values' types (``null`` for unknown); CSV has
one header row and writes an unknown value as an empty field. The file appears whole or not at
all: rows go to a temporary file next to it, which then replaces it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

from proxy.api import LIGHT_FIELDS, RequestRecord

FORMATS = ("jsonl", "csv")
FIELDS = LIGHT_FIELDS


def export(records: Sequence[RequestRecord], path: Path, fmt: str) -> int:
    """Write ``records`` to ``path`` as ``fmt`` (``jsonl`` or ``csv``); returns the rows written.

    Raises:
        ValueError: an unknown format.
        OSError: the file could not be written (nothing is left behind then).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    part = path.with_name(f".{path.name}.part")
    try:
        with part.open("w", encoding="utf-8", newline="") as out:
            if fmt == "jsonl":
                for r in records:
                    out.write(json.dumps({f: getattr(r, f) for f in FIELDS}, ensure_ascii=False))
                    out.write("\n")
            else:
                writer = csv.writer(out)
                writer.writerow(FIELDS)
                for r in records:
                    writer.writerow(["" if (v := getattr(r, f)) is None else v for f in FIELDS])
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return len(records)
