"""A command's first use of the repo on a terminal: the one question (your handle),
asked once, and the notice after its first write saying which repo it went to.
cli/common.workspace() calls `on_open`."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from incidentctl.cli import terminal

if TYPE_CHECKING:
    import typer

    from incidentctl.services.workspace import Workspace

NO_FIRST_RUN_ENV = "INCIDENTCTL_NO_FIRST_RUN"  # set: never ask for the handle


def terminal_name() -> str | None:
    """This terminal (the tty of stderr, and the session), or None off a terminal."""
    try:
        if not sys.stderr.isatty():
            return None
        return f"{os.ttyname(sys.stderr.fileno())}:{os.getsid(0)}"
    except (OSError, ValueError, AttributeError):
        return None


def on_open(ctx: typer.Context, ws: Workspace) -> None:
    """A command opened `ws`: on a terminal, ask for the handle if none is set (once),
    and when the command ends, say where its first write went."""
    where = terminal_name()
    if where is None:
        return
    if ws.handle is None and sys.stdin.isatty() and not os.environ.get(NO_FIRST_RUN_ENV):
        ask_handle(ws)
    ctx.find_root().call_on_close(lambda: say_where(ws, where))


def say_where(ws: Workspace, where: str) -> None:
    """After a command that committed: which repo it went to. Once per terminal for the
    configured repo (or one named with --repo); every time for any other."""
    if ws.commits_made == 0:
        return
    from incidentctl.services.workspace import repo_in_use
    from incidentctl.store.userconfig import remember_told, told

    used = repo_in_use(None, ws.located)
    chosen = used.is_configured or used.how == "--repo"
    if chosen and told(where, used.root):
        return
    line = f"recorded in {used.root} ({used.why})"
    if used.passed_over is not None:
        line += f"; {used.passed_over} is a git repo, not an incident repo"
    if not chosen:
        line += "; make a repo your default: incidentctl init PATH --default"
    terminal.talk(line)
    if chosen:
        remember_told(where, used.root)


def suggested_handle(ws: Workspace) -> str:
    """@ and the git email's local part (or the login name), as a handle."""
    import getpass
    import re

    _name, email = ws.repo.git.identity()
    local = email.split("@", 1)[0] if "@" in email else ""
    if not local:
        try:
            local = getpass.getuser()
        except (OSError, KeyError):
            local = "me"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", local).strip("-._") or "me"
    return f"@{slug[:63]}"


def ask_handle(ws: Workspace) -> None:
    """Ask once for the handle that authors the events (as roles name people), and keep
    it in the user config. Enter takes the suggestion; end of input asks next time."""
    from incidentctl.store.locate import HANDLE, HANDLE_HINT
    from incidentctl.store.userconfig import set_user_config

    suggestion = suggested_handle(ws)
    name, _email = ws.repo.git.identity()
    print(
        "incidentctl names who did what by handle, as roles do (@sarah-sre); "
        f"without one, events say {name!r} (your git name).",
        file=sys.stderr,
    )
    while True:
        sys.stderr.write(f"Your handle [{suggestion}]: ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if not answer:  # end of input: no one to ask
            sys.stderr.write("\n")
            return
        answer = answer.strip() or suggestion
        if not answer.startswith("@"):
            answer = f"@{answer}"
        if HANDLE.fullmatch(answer):
            break
        print(f"{answer!r} is not a handle: {HANDLE_HINT}", file=sys.stderr)
    path = set_user_config("handle", answer)
    ws.__dict__["handle"] = answer  # the cached property, for this command too
    terminal.talk(f"saved handle = {answer!r} in {path} (edit it there to change it)")
