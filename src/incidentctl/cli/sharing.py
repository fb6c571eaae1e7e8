"""Commands that share the history with a team: sync, clone, verify (and init --remote)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import GlobalOptions, JsonOpt, workspace

if TYPE_CHECKING:
    from incidentctl.services.record import RecordResult
    from incidentctl.services.sharing import JoinResult
    from incidentctl.services.sync import SyncResult
    from incidentctl.services.workspace import Workspace


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _sync_summary(result: SyncResult) -> str:
    where = f"{result.remote}/{result.branch}"
    parts = []
    if result.pulled:
        parts.append(f"took {_plural(result.pulled, 'commit')}")
    if result.pushed:
        parts.append(f"pushed {_plural(result.pushed, 'commit')}")
    if result.renumbered:
        parts.append(f"renumbered {_plural(len(result.renumbered), 'incident')}")
    if not parts:
        return f"synced with {where}: already up to date"
    return f"synced with {where}: " + ", ".join(parts)


def sync(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Share events with the team's remote: commit pending, fetch, rebase, renumber, push."""
    from incidentctl.services.sync import sync as run_sync

    result = run_sync(workspace(ctx), terminal.talk)
    for warning in result.warnings:
        terminal.warn(warning)
    if as_json:
        terminal.out_json(result.to_dict())
    terminal.talk(_sync_summary(result))


def _report_join(result: JoinResult, as_json: bool) -> None:
    what = {
        "cloned": f"cloned {result.url}",
        "published": f"published the incident repo to {result.url}",
        "joined": f"joined {result.url}",
    }[result.how]
    terminal.talk(f"{what} · remote {result.remote!r}")
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
    checked = (
        f"{_plural(report.commits, 'commit')}, {_plural(report.event_files, 'event file')}"
        + (", signatures" if signatures else "")
    )
    if report.ok:
        terminal.talk(f"history ok: {checked} checked")
    else:
        terminal.talk(f"history NOT ok: {_plural(len(report.problems), 'problem')} in {checked}")
        raise typer.Exit(1)


def sync_after_recording(ws: Workspace | None, result: RecordResult) -> None:
    """Called once an event command has committed: with [sync] mode = "auto", sync.
    A failure is a warning: the event is committed and goes out with the next sync."""
    if ws is None:
        return
    from incidentctl.services.sync import sync_after_recording as auto_sync

    outcome = auto_sync(ws, result)
    if outcome is None:
        return
    if outcome.result is None:
        if outcome.offline:  # the message already says the events stay committed
            terminal.warn(f"not synced: {outcome.failure}")
        else:
            terminal.warn(
                f"not synced: {outcome.failure}; the event is committed here and goes out "
                "with the next sync"
            )
        return
    for r in outcome.result.renumbered:
        terminal.talk(
            f"{r.old} was already taken on {outcome.result.remote}: "
            f"your incident {r.old} is now {r.new}"
        )
    terminal.talk(_sync_summary(outcome.result))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Team")(sync)
    app.command(rich_help_panel="Team")(clone)
    app.command(rich_help_panel="Team")(verify)
