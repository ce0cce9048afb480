"""The floor plan is a failing check, not a wish: the import contracts hold on the tree, and a
deliberately wrong import in a copy of it makes ``lint-imports`` fail, naming the contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's packages, not the installed ones
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("proxy/routing/strategies.py", "import proxy.server.app", "routing and providers never know the HTTP server"),
        ("proxy/domain/errors.py", "import proxy.engine.gateway", "proxy: layers point one way"),
        ("proxy/support/sse.py", "import PySide6.QtCore", "proxy is headless: never Qt, never the desktop app"),
        ("proxy/engine/snapshot.py", "import proxy.engine.gateway", "no import cycles in proxy or desktop"),
    ],
)
def test_a_forbidden_import_fails_the_check(tmp_path: Path, module: str, line: str, broken: str) -> None:
    for part in ("proxy", "desktop"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # deliberately wrong\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stdout.split("Broken contracts", 1)[-1]
    assert broken in report, result.stdout


MAX_MODULE_LINES = 600


def test_no_module_outgrows_its_room() -> None:
    """Modules stay under about 600 lines (split by responsibility above that)."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for part in ("proxy", "desktop")
        for path in (ROOT / part).rglob("*.py")
    }
    too_big = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_big, f"split these by responsibility: {too_big}"
