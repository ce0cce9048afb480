"""The line that keeps a key in an environment variable, for the user's own shell.

Without an OS keychain, a provider's key can live in an environment variable instead
(``{"env": "OPENAI_API_KEY"}`` in the config). People need the exact line for *their* shell and
the file it goes in, not JSON: :func:`env_line` picks bash, zsh, fish or PowerShell from
``$SHELL`` and the OS. Pure functions: safe on any thread.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class EnvLine:
    shell: str
    """``bash``, ``zsh``, ``fish`` or ``powershell``."""
    line: str
    """The line to run or add (with the value as given)."""
    where: str
    """Where it goes, for people (``~/.bashrc``...)."""


def which_shell(shell: str | None = None, platform: str | None = None) -> str:
    """The user's shell: from ``$SHELL`` (its file name) on Unix, PowerShell on Windows."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return "powershell"
    name = os.path.basename(shell if shell is not None else os.environ.get("SHELL", "")).lower()
    for known in ("zsh", "fish", "bash"):
        if name.startswith(known):
            return known
    if name.startswith("pwsh"):
        return "powershell"
    return "zsh" if platform == "darwin" and not name else "bash"


def _quoted(value: str) -> str:
    """``value`` in POSIX single quotes (a ``'`` inside closed, escaped and reopened)."""
    return "'" + value.replace("'", "'\\''") + "'"


def env_line(name: str, value: str, shell: str | None = None, platform: str | None = None) -> EnvLine:
    """The line that sets environment variable ``name`` to ``value`` for good in the user's shell.

    Raises:
        ValueError: ``name`` is not a valid variable name.
    """
    if not ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid variable name: use letters, digits and _, not starting with a digit")
    kind = which_shell(shell, platform)
    if kind == "fish":
        return EnvLine(kind, f"set -Ux {name} {_quoted(value)}", "run it once in fish (it is kept)")
    if kind == "powershell":
        escaped = value.replace("'", "''")
        return EnvLine(
            kind,
            f"[Environment]::SetEnvironmentVariable('{name}', '{escaped}', 'User')",
            "run it once in PowerShell (it is kept for your user)",
        )
    profile = "~/.zshrc" if kind == "zsh" else "~/.bashrc"
    return EnvLine(kind, f"export {name}={_quoted(value)}", f"add it to {profile}")
