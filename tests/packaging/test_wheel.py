"""Install without cloning: ``python -m build`` makes a wheel, a fresh venv installs it (and
``uv tool`` / ``pipx`` where they are on PATH), and the installed ``switchboard --selftest`` passes
(the gateway, the log and the Qt check with the bundled icons) outside the source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (found,) = out.glob("switchboard-*.whl")
    return found


def selftest(executable: Path, tmp_path: Path) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SWITCHBOARD_HOME": str(tmp_path / "untouched")}
    env.pop("SWITCHBOARD_ACCESS_KEY", None)
    done = subprocess.run(
        [str(executable), "--selftest"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0 and report["ok"], done.stdout + done.stderr
    assert not (tmp_path / "untouched").exists()
    return report


def test_the_wheel_installs_into_a_fresh_venv_and_passes_its_selftest(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    report = selftest(venv / "bin" / "switchboard", tmp_path)
    site = Path(report["qt"]["resources"])
    assert site.is_relative_to(venv) and (site / "icons").is_dir()  # the icons came in the wheel
    version = subprocess.run([str(venv / "bin" / "switchboard"), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == "switchboard 0.1.0"


@pytest.mark.parametrize("tool", ["uv", "pipx"])
def test_the_wheel_installs_as_a_tool(tool: str, wheel: Path, tmp_path: Path) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed here")
    bin_dir = tmp_path / "bin"
    env = {**os.environ, "UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(bin_dir)}
    env |= {"PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(bin_dir)}
    command = [tool, "tool", "install", str(wheel)] if tool == "uv" else [tool, "install", str(wheel)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    selftest(bin_dir / "switchboard", tmp_path)
