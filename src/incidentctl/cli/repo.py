"""Which repo the commands use: `incidentctl repo`, the notice after the first write
from a terminal, and the one question of a first use on a terminal (your handle)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import GlobalOptions, JsonOpt

if TYPE_CHECKING:
    from incidentctl.services.workspace import RepoInUse, Workspace

NO_FIRST_RUN_ENV = "INCIDENTCTL_NO_FIRST_RUN"  # set: never ask for the handle


def repo(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print the incident repo commands run here use, and why: --repo, $INCIDENTCTL_REPO,
    the enclosing repo, the user config or the default."""
    from incidentctl.services.workspace import repo_in_use

    options = ctx.find_object(GlobalOptions)
    used = repo_in_use(options.repo if options else None)
    if as_json:
        terminal.out_json(used.to_dict())
        return
    terminal.out(str(used.root))
    for line in explain(used):
        terminal.talk(line)


def explain(used: RepoInUse) -> list[str]:
    lines = [f"  because: {used.why}"]
    if not used.initialised:
        if used.how == "default":
            lines.append("  not created yet: the first command that needs it creates it")
        else:
            lines.append(
                f"  not an incident repo (no incidentctl.toml): incidentctl init {used.root}"
            )
    if used.passed_over is not None:
        lines.append(
            f"  {used.passed_over} (the enclosing git repo) is not an incident repo: "
            "it has no incidentctl.toml"
        )
    if used.configured is None:
        lines.append("  no repo is configured: incidentctl init PATH --default makes PATH the one")
    elif not used.is_configured:
        lines.append(f"  your configured repo is {used.configured}; {used.why} comes first")
    return lines


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


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Repo")(repo)
