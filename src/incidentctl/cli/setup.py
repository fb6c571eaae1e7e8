"""Commands that create and check the repo: init, doctor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import JsonOpt, workspace
from incidentctl.cli.report import finish


def init(
    path: Annotated[Path, typer.Argument(help="Where the incident repo lives.")] = Path("."),
    example: Annotated[
        str | None,
        typer.Option(
            "--example", metavar="NAME", help="Start from a team example: white-room or waooaw."
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            metavar="URL",
            help="Share it through this git remote: publish to an empty one, or join the team repo it holds.",
        ),
    ] = None,
    default: Annotated[
        bool,
        typer.Option(
            "--default",
            help="Make it your default repo (repo = in the user config), for commands run anywhere.",
        ),
    ] = False,
) -> None:
    """Create an incident repo (git init, incidentctl.toml, a first commit). Reuses an existing git repo."""
    from incidentctl.services.setup import init_repo

    if remote is not None:
        from incidentctl.cli.sharing import init_with_remote

        init_with_remote(path, example, remote)
        return

    result = init_repo(path, example)
    if not result.config_written:
        terminal.talk(f"{result.root} is already an incident repo; nothing changed")
    else:
        made = "created git repo and " if result.git_created else ""
        source = f" from the {result.example} example" if result.example else ""
        terminal.talk(f"{made}wrote incidentctl.toml{source} · commit {result.commit}")
        terminal.out(str(result.root))
    _offer_default(result.root, default)


def _offer_default(root: Path, default: bool) -> None:
    """Make `root` the default repo (--default, or yes on a terminal), or say how."""
    import sys

    from incidentctl.services.setup import default_repo, make_default

    if default_repo() == root:
        if default:
            terminal.talk(f"{root} is already your default repo")
        return
    if not default and sys.stdin.isatty() and sys.stderr.isatty():
        sys.stderr.write(
            f"Make {root} your default incident repo, for commands run anywhere? [y/N]: "
        )
        sys.stderr.flush()
        default = sys.stdin.readline().strip().lower() in ("y", "yes")
    if default:
        config = make_default(root)
        terminal.talk(f"{root} is now your default repo (repo = in {config})")
        return
    terminal.talk(
        f"to use it from anywhere: incidentctl init {root} --default "
        f"(or, per command, --repo {root} or INCIDENTCTL_REPO={root}; inside it, it is used)"
    )


def doctor(
    ctx: typer.Context,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Repair what is safe: commit recovered events, remove stale temp and git "
            "lock files, abort a rebase a killed sync left, reattach HEAD, rebuild a broken index.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the repo: unreadable files, uncommitted or changed events, config errors, git plumbing (locks, rebase, HEAD, index, remote). Works read-only without --fix."""
    from incidentctl.services.setup import doctor

    report = doctor(workspace(ctx, check_config=False).repo, fix=fix)
    if as_json:
        terminal.out_json(report.to_dict())
    else:
        for line in report.fixed:
            terminal.talk(f"fixed: {line}")
        for f in report.findings:
            extra = " (doctor --fix repairs this)" if f.fixable else ""
            advice = f"; {f.advice}" if f.advice else ""
            terminal.out(f"{f.level}: {f.path}: {f.problem}{extra}{advice}")
        status = "ok" if report.ok else "problems found"
        how = " (read-only: nothing can be fixed here)" if report.read_only else ""
        terminal.talk(
            f"{status}: {report.incidents} incidents, {report.events} events checked in "
            f"{report.root}{how}"
        )
    finish(report)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Repo")(init)
    app.command(rich_help_panel="Repo")(doctor)
