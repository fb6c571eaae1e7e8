"""Putting text on the system clipboard: a clipboard tool when one can reach the user's
clipboard, else the OSC 52 terminal escape, which the user's own terminal turns into
a copy (the only way that works over SSH).

Inside tmux an escape written to the pane reaches the outer terminal only if tmux lets
it, so tmux is asked first (`tmux show -gv set-clipboard`, `allow-passthrough`):

- set-clipboard on or external: `tmux load-buffer -w -` puts the text in tmux's
  paste buffer and sends it on to the terminal's clipboard (tmux's own OSC 52);
- else allow-passthrough on (or a tmux older than 3.3, which always passes): the
  escape wrapped for passthrough (`ESC P tmux; ... ESC \\`);
- else nothing can reach the clipboard: ClipboardError says so (the message has
  been printed, and the command fails), rather than a copy that did not happen.
"""

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
    if over_ssh(env) and (terminal or env.get("TMUX")):
        return _terminal_copy(text, env, terminal)
    failures = []
    for name, command, encoding in _tools(env):
        executable = shutil.which(command[0])
        if executable is None:
            continue
        problem = _run(executable, command[1:], text.encode(encoding), env)
        if problem is None:
            return name
        failures.append(f"{name}: {problem}")
    if terminal or env.get("TMUX"):
        return _terminal_copy(text, env, terminal)
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


def osc52_sequence(
    text: str, env: Mapping[str, str] | None = None, *, passthrough: bool | None = None
) -> str:
    """The OSC 52 escape for `text`; wrapped for tmux passthrough when `passthrough`
    (None: when $TMUX is set)."""
    env = os.environ if env is None else env
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    sequence = f"\x1b]52;c;{payload}\x07"
    if passthrough is None:
        passthrough = bool(env.get("TMUX"))
    if passthrough:  # tmux passes an escape through only when wrapped
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def _terminal_copy(text: str, env: Mapping[str, str], terminal: bool) -> str:
    """OSC 52, or inside tmux whatever tmux lets through; the method used."""
    if not env.get("TMUX"):
        _osc52(osc52_sequence(text, env, passthrough=False))
        return "osc52"
    tmux = shutil.which("tmux")
    if tmux is None:
        raise ClipboardError(
            "could not copy: inside tmux ($TMUX is set) but there is no tmux command to ask "
            "whether OSC 52 gets through",
            hint=TMUX_HINT,
        )
    clipboard = _tmux_option(tmux, "set-clipboard", env)
    if clipboard in ("on", "external"):
        problem = _run(tmux, ["load-buffer", "-w", "-"], text.encode("utf-8"), env)
        if problem is None:
            return "tmux"
        # tmux before 3.2 has no -w; with set-clipboard on it takes OSC 52 from the pane
        if clipboard == "on" and terminal:
            _osc52(osc52_sequence(text, env, passthrough=False))
            return "osc52 through tmux"
    passthrough = _tmux_option(tmux, "allow-passthrough", env)
    if passthrough is None or passthrough in ("on", "all"):  # None: tmux < 3.3 passes all
        if terminal:
            _osc52(osc52_sequence(text, env, passthrough=True))
            return "osc52 through tmux passthrough"
        raise ClipboardError(
            "could not copy: inside tmux with set-clipboard off, OSC 52 needs a terminal, "
            "and there is none",
            hint=TMUX_HINT,
        )
    raise ClipboardError(
        f"could not copy: inside tmux with set-clipboard {clipboard or 'off'} and "
        f"allow-passthrough {passthrough}, nothing reaches your terminal's clipboard",
        hint=TMUX_HINT,
    )


TMUX_HINT = (
    "the message is printed above; to copy from tmux, turn on one of: "
    "tmux set -g set-clipboard on, or tmux set -g allow-passthrough on"
)


def _tmux_option(tmux: str, name: str, env: Mapping[str, str]) -> str | None:
    """A tmux option's value for this pane (its own, else the global one); None when
    this tmux does not know the option."""
    values = []
    pane = env.get("TMUX_PANE")
    queries = (["show", "-pqv", "-t", pane, name],) if pane else ()
    for args in (*queries, ["show", "-gv", name]):
        try:
            proc = subprocess.run(
                [tmux, *args],
                capture_output=True,
                env=dict(env),
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClipboardError(
                f"could not copy: inside tmux, but tmux {' '.join(args)} failed: {exc}",
                hint=TMUX_HINT,
            ) from None
        error = proc.stderr.decode("utf-8", "replace").strip()
        if proc.returncode != 0:
            if "invalid option" in error or "unknown option" in error:
                return None
            if args[1] == "-pqv":
                continue  # not a pane option in this tmux: the global one answers
            raise ClipboardError(
                f"could not copy: inside tmux, but tmux {' '.join(args)} failed: "
                f"{error or proc.returncode}",
                hint=TMUX_HINT,
            )
        values.append(proc.stdout.decode("utf-8", "replace").strip())
        if values[-1]:
            return values[-1]
    return values[-1] if values else ""


def _osc52(sequence: str) -> None:
    try:
        with open("/dev/tty", "w", encoding="ascii") as tty:
            tty.write(sequence)
            return
    except OSError:
        pass
    stream = sys.stderr if sys.stderr.isatty() else sys.stdout
    stream.write(sequence)
    stream.flush()
