"""Putting text on the system clipboard: a clipboard tool when one can reach the user's
clipboard, else the OSC 52 terminal escape, which the user's own terminal turns into
a copy (the only way that works over SSH)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping

from incidentctl.errors import IncidentctlError

TOOL_TIMEOUT = 5.0  # seconds; the tools return at once, or never will


class ClipboardError(IncidentctlError):
    """Nothing could take the text."""


def _tools(env: Mapping[str, str]) -> list[tuple[str, list[str], str]]:
    """(name, command, encoding) of each tool worth trying here, best first. X and
    Wayland tools are tried only when their display is set; without it they can only fail."""
    tools = [("pbcopy", ["pbcopy"], "utf-8")]
    if env.get("WAYLAND_DISPLAY"):
        tools.append(("wl-copy", ["wl-copy"], "utf-8"))
    if env.get("DISPLAY"):
        tools.append(("xclip", ["xclip", "-selection", "clipboard", "-in"], "utf-8"))
        tools.append(("xsel", ["xsel", "--clipboard", "--input"], "utf-8"))
    # WSL: clip.exe reads UTF-16 correctly only with a byte-order mark
    tools.append(("clip.exe", ["clip.exe"], "utf-16"))
    return tools


def over_ssh(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("SSH_TTY") or env.get("SSH_CONNECTION"))


def _on_terminal() -> bool:
    return sys.stdout.isatty() or sys.stderr.isatty()


def copy_text(text: str) -> str:
    """Copy `text`; return how ("pbcopy", "wl-copy", "xclip", "xsel", "clip.exe" or "osc52").

    Over SSH a local tool would fill the remote machine's clipboard, so OSC 52 goes
    first there. Raises ClipboardError when nothing can take the text.
    """
    env = os.environ
    terminal = _on_terminal()
    if over_ssh(env) and terminal:
        _osc52(text)
        return "osc52"
    failures = []
    for name, command, encoding in _tools(env):
        executable = shutil.which(command[0])
        if executable is None:
            continue
        problem = _run(executable, command[1:], text.encode(encoding), env)
        if problem is None:
            return name
        failures.append(f"{name}: {problem}")
    if terminal:
        _osc52(text)
        return "osc52"
    detail = "; ".join(failures) if failures else "no clipboard tool found"
    raise ClipboardError(
        f"could not copy: {detail}, and there is no terminal for OSC 52",
        hint="install xclip, xsel or wl-clipboard (or use a terminal), "
        "or pipe the command's output instead",
    )


def _run(executable: str, args: list[str], data: bytes, env: Mapping[str, str]) -> str | None:
    """Run one tool; None on success, else what went wrong."""
    run_env = dict(env)
    run_env.setdefault("LC_CTYPE", "UTF-8")  # pbcopy reads bytes in the locale's encoding
    # xclip and wl-copy fork a child that keeps serving the selection; a pipe on its
    # stdout or stderr would stay open and hang us, so errors go to a temp file
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.run(
                [executable, *args],
                input=data,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=run_env,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)
        if proc.returncode == 0:
            return None
        from incidentctl.domain.wording import flat

        errors.seek(0)
        message = flat(errors.read(2000).decode("utf-8", "replace"))
        return message or f"exited with status {proc.returncode}"


def osc52_sequence(text: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    sequence = f"\x1b]52;c;{payload}\x07"
    if env.get("TMUX"):  # tmux passes an escape through only when wrapped
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def _osc52(text: str) -> None:
    sequence = osc52_sequence(text)
    try:
        with open("/dev/tty", "w", encoding="ascii") as tty:
            tty.write(sequence)
            return
    except OSError:
        pass
    stream = sys.stderr if sys.stderr.isatty() else sys.stdout
    stream.write(sequence)
    stream.flush()
