"""The line that keeps a key in an environment variable, for the user's own shell."""

from __future__ import annotations

import pytest

from desktop.services.shell import env_line, which_shell


def test_the_line_for_each_shell() -> None:
    assert which_shell("/bin/bash", "linux") == "bash" and which_shell("/usr/bin/zsh", "linux") == "zsh"
    assert which_shell("", "darwin") == "zsh" and which_shell("", "linux") == "bash"
    assert which_shell("/usr/local/bin/fish", "darwin") == "fish" and which_shell(None, "win32") == "powershell"
    bash = env_line("OPENAI_API_KEY", "sk-a'b", "/bin/bash", "linux")
    assert (bash.line, bash.where) == ("export OPENAI_API_KEY='sk-a'\\''b'", "add it to ~/.bashrc")
    assert env_line("K", "v", "/bin/zsh", "linux").where == "add it to ~/.zshrc"
    assert env_line("K", "v", "/usr/bin/fish", "linux").line == "set -Ux K 'v'"
    assert env_line("K", "it's", None, "win32").line == "[Environment]::SetEnvironmentVariable('K', 'it''s', 'User')"
    with pytest.raises(ValueError, match="not a valid variable name"):
        env_line("1BAD NAME", "v", "/bin/bash", "linux")
