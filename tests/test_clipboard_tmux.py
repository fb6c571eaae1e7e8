"""--copy inside a real tmux: the copy goes the way tmux lets it through, and when
nothing can get through (set-clipboard off, allow-passthrough off) the command says
so and fails instead of claiming an OSC 52 copy that never reached the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, Cli, run_cli

INC = "INC-2026-02-12-001"
NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}


class Tmux:
    """A private tmux server (its own socket, no config) whose panes run commands."""

    def __init__(self, env: dict) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tmx", dir="/tmp"))  # sockets: short paths
        self.socket = self.dir / "s"
        self.env = env
        self("-f", "/dev/null", "new-session", "-d", "-s", "keep", "-x", "200", "-y", "50")
        self("set", "-g", "remain-on-exit", "on")

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    def run(self, command: str) -> tuple[int, str, str]:
        """Run `command` in a new pane, stdout to a file and stderr on the pane (a
        terminal); return its exit status, stdout and the pane's text."""
        n = len(list(self.dir.iterdir()))
        out, rc = self.dir / f"out{n}", self.dir / f"rc{n}"
        script = f"{command} > {out}; echo $? > {rc}.tmp; mv {rc}.tmp {rc}"
        pane = self("new-window", "-d", "-P", "-F", "#{pane_id}", "sh", "-c", script).strip()
        deadline = time.monotonic() + 60
        while not rc.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rc.exists(), self("capture-pane", "-p", "-J", "-t", pane)
        screen = self("capture-pane", "-p", "-J", "-t", pane, "-S", "-")
        return int(rc.read_text()), out.read_text(), screen

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-server"], env=self.env, capture_output=True
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def tmux(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    env = {
        **os.environ,
        **NOW,
        "DISPLAY": "",
        "WAYLAND_DISPLAY": "",
        "SSH_TTY": "",
        "SSH_CONNECTION": "",
        "TERM": "xterm-256color",
    }
    env.pop("TMUX", None)
    server = Tmux(env)
    yield server
    server.close()


@pytest.fixture
def waooaw(tmp_path) -> Cli:
    if any(shutil.which(t) for t in ("pbcopy", "clip.exe")):
        pytest.skip("a clipboard tool that needs no display is installed here")
    path = tmp_path / "waooaw"
    assert run_cli("init", str(path), "--example", "waooaw").code == 0
    cli = Cli(path)
    cli("declare", "Scheduler down", "-s", "P1", "--ic", "@sarah", env=NOW)
    return cli


def _copy(tmux: Tmux, cli: Cli) -> tuple[int, str, str]:
    return tmux.run(f"{BIN} --repo {cli.repo} render slack/declared {INC} --copy")


def test_inside_tmux_by_default_the_copy_goes_through_tmux_itself(tmux, waooaw):
    # tmux's defaults: set-clipboard external, allow-passthrough off
    assert tmux("show", "-gv", "allow-passthrough").strip() == "off"
    code, out, screen = _copy(tmux, waooaw)
    assert code == 0, screen
    assert "copied slack/declared to the clipboard via tmux load-buffer -w" in screen
    assert tmux("show-buffer") == out.rstrip("\n")  # the message, exactly


def test_inside_tmux_with_nothing_let_through_the_copy_fails_and_says_so(tmux, waooaw):
    tmux("set", "-g", "set-clipboard", "off")
    tmux("set", "-g", "allow-passthrough", "off")
    code, out, screen = _copy(tmux, waooaw)
    assert code == 1, screen
    assert out.startswith("🚨 INCIDENT DECLARED 🚨")  # the message is printed all the same
    assert "via OSC 52" not in screen and "copied" not in screen
    assert (
        "error: could not copy: inside tmux with set-clipboard off and allow-passthrough off"
        in screen
    )
    assert "hint: the message is printed above" in screen


def test_inside_tmux_with_passthrough_on_the_escape_is_wrapped_for_it(tmux, waooaw):
    tmux("set", "-g", "set-clipboard", "off")
    tmux("set", "-g", "allow-passthrough", "on")
    code, _out, screen = _copy(tmux, waooaw)
    assert code == 0, screen
    assert "via OSC 52 through tmux passthrough" in screen
