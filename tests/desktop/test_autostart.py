"""Start at login: the XDG autostart entry on Linux (and the macOS LaunchAgent, which is a plain
file and can be checked here too)."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess

import pytest

from desktop.autostart import LaunchAgentAutostart, XdgAutostart, _desktop_exec, default_command, for_this_os


def unquote_exec(value: str) -> list[str]:
    """Split an Exec value by the Desktop Entry spec's rules: %% is %, arguments are separated by
    spaces, a double-quoted argument may escape ", `, $ and \\ with a backslash."""
    value = value.replace("%%", "%")
    args, current, quoted, i, has = [], [], False, 0, False
    while i < len(value):
        c = value[i]
        if quoted and c == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
            current.append(value[i + 1])
            i += 2
            continue
        if c == '"':
            quoted, has = not quoted, True
        elif c == " " and not quoted:
            if current or has:
                args.append("".join(current))
            current, has = [], False
        else:
            current.append(c)
        i += 1
    if current or has:
        args.append("".join(current))
    return args


def test_xdg_entry_round_trip(tmp_path):
    autostart = XdgAutostart(config_home=tmp_path)
    assert not autostart.is_enabled()
    command = ["/opt/Switch Board/switchboard", "--home", '/home/me/100% "sure"']
    autostart.enable(command)
    assert autostart.is_enabled()
    entry = configparser.RawConfigParser(strict=True)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(tmp_path / "autostart" / "switchboard.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "Switchboard"
    # The Exec value un-quotes (desktop entry rules: %% is %, then shell-like double quotes) to the command.
    assert unquote_exec(section["Exec"]) == command
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(
            ["desktop-file-validate", str(autostart.path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    autostart.disable()
    assert not autostart.is_enabled() and not autostart.path.exists()
    autostart.disable()  # idempotent


def test_plain_arguments_are_not_quoted():
    assert _desktop_exec(["/usr/bin/switchboard"]) == "/usr/bin/switchboard"


def test_launch_agent_round_trip(tmp_path):
    agent = LaunchAgentAutostart(home=tmp_path)
    agent.enable(["/Applications/Switchboard.app/Contents/MacOS/switchboard"])
    data = plistlib.loads(agent.path.read_bytes())
    assert data["RunAtLoad"] is True and data["ProgramArguments"][0].endswith("switchboard")
    assert agent.is_enabled()
    agent.disable()
    assert not agent.is_enabled()


def test_this_os_uses_xdg_and_the_default_command_starts_the_launcher(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    autostart = for_this_os()
    assert isinstance(autostart, XdgAutostart) and autostart.path.parent == tmp_path / "autostart"
    assert default_command()[-2:] == ["-m", "desktop.launcher"]


@pytest.mark.parametrize("arg", ["a b", "x$y", "back\\slash", 'q"uote'])
def test_exec_quoting_round_trips(arg):
    assert unquote_exec(_desktop_exec(["prog", arg])) == ["prog", arg]
