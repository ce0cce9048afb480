"""README.md stays true: every test the compatibility table names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_compatibility_table_names_real_tests() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| cell | tests |", 1)[1].split("\n\n", 1)[0]
    named = 0
    for line in table.splitlines()[2:]:
        current: Path | None = None
        for ref in re.findall(r"`([^`]+)`", line):
            path, _, name = ref.partition("::")
            if path.startswith("tests/"):
                current = ROOT / path
                assert current.exists(), ref
            if not name and path.startswith("test_"):
                name = path
            if name:
                assert current is not None, line
                function = name.split("[")[0]
                assert re.search(rf"def {re.escape(function)}\(", current.read_text(encoding="utf-8")), ref
                named += 1
    assert named >= 15
