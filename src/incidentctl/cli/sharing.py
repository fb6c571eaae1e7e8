"""Commands that share the history with a team: sync, clone, verify (and init --remote)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import GlobalOptions, JsonOpt, workspace
from incidentctl.cli.report import finish, plural, sync_summary

if TYPE_CHECKING:
    from incidentctl.services.sharing import JoinResult


def sync(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Share events with the team's remote: commit pending, fetch, rebase, renumber, push."""
    from incidentctl.services.sync import sync as run_sync

    result = run_sync(workspace(ctx), terminal.talk)
    for warning in result.warnings:
        terminal.warn(warning)
    if as_json:
        terminal.out_json(result.to_dict())
    terminal.talk(sync_summary(result))


def _report_join(result: JoinResult, as_json: bool) -> None:
    what = {
        "cloned": f"cloned {result.url}",
        "published": f"published the incident repo to {result.url}",
        "joined": f"joined {result.url}",
    }[result.how]
    terminal.talk(f"{what} · remote {result.remote!r}")
    for note in result.notes:
        terminal.warn(note)
    terminal.talk(f"{result.user_config} now points at {result.root}")
    if as_json:
        terminal.out_json(result.to_dict())
    else:
        terminal.out(str(result.root))


def clone(
    url: Annotated[str, typer.Argument(metavar="URL", help="The team's incident repo.")],
    path: Annotated[
        Path | None,
        typer.Argument(metavar="[PATH]", help="Where to put it (default: named after the URL)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Join a team: clone its incident repo and make it your default repo."""
    from incidentctl.services.sharing import clone_repo

    _report_join(clone_repo(url, path, terminal.talk), as_json)


def init_with_remote(path: Path, example: str | None, url: str) -> None:
    """`init PATH --remote URL`: called by the init command."""
    from incidentctl.services.sharing import init_with_remote as join

    _report_join(join(path, example, url, terminal.talk), as_json=False)


def verify(
    ctx: typer.Context,
    revisions: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[REVISION]...",
            help="What to check: HEAD (default), a branch, or a range such as OLD..NEW.",
        ),
    ] = None,
    signatures: Annotated[
        bool,
        typer.Option("--signatures", help="Also require every commit to carry a good signature."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the history is append-only: every event added once, alone, and never changed."""
    from incidentctl.services.verify import verify_history
    from incidentctl.store.locate import locate

    options = ctx.find_object(GlobalOptions) or GlobalOptions()
    # no workspace: verify needs only the git history, so it also runs in a bare repo
    report = verify_history(locate(options.repo).root, revisions or [], signatures=signatures)
    if as_json:
        terminal.out_json(report.to_dict())
    else:
        for problem in report.problems:
            terminal.out(str(problem))
    checked = f"{plural(report.commits, 'commit')}, {plural(report.event_files, 'event file')}" + (
        ", signatures" if signatures else ""
    )
    if report.ok:
        terminal.talk(f"history ok: {checked} checked")
    else:
        terminal.talk(f"history NOT ok: {plural(len(report.problems), 'problem')} in {checked}")
    finish(report)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Team")(sync)
    app.command(rich_help_panel="Team")(clone)
    app.command(rich_help_panel="Team")(verify)
