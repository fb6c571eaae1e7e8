"""Commands that read: show, list, log."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import IncidentArg, JsonOpt, workspace
from incidentctl.cli.report import finish


def show(ctx: typer.Context, incident: IncidentArg, as_json: JsonOpt = False) -> None:
    """Show an incident: header, roles, impact, clocks and timeline."""
    from incidentctl.services.queries import show

    view = show(workspace(ctx), incident)
    for note in view.notes:
        terminal.warn(note)
    if as_json:
        terminal.out_json(view.to_dict())
    else:
        from incidentctl.cli.views.incident import incident_view

        terminal.print_rich(incident_view(view))
    finish(view)


def list_(
    ctx: typer.Context,
    open_only: Annotated[
        bool, typer.Option("--open/--all", help="Only open incidents, or all.")
    ] = True,
    severity: Annotated[
        list[str] | None,
        typer.Option("--severity", "-s", metavar="SEV", help="Only this severity (repeatable)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Declared at or after DATE (or -7d)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List incidents, newest first."""
    from incidentctl.services.queries import list_incidents

    ws = workspace(ctx)
    listing = list_incidents(
        ws, include_resolved=not open_only, severities=severity or [], since=since
    )
    if as_json:
        terminal.out_json([s.summary_dict() for s in listing.incidents])
    elif listing.incidents:
        from incidentctl.cli.views.incident import incident_lines

        tty = terminal.stdout_is_tty()
        width = terminal.terminal_width() if tty else None
        lines = incident_lines(
            listing, ws.now(), columns=width, color=tty and terminal.color_allowed()
        )
        terminal.out("\n".join(lines), styled=True)
    else:
        terminal.talk("no open incidents" if open_only else "no incidents")
    finish(listing)


def log(ctx: typer.Context, incident: IncidentArg, as_json: JsonOpt = False) -> None:
    """The git history of an incident: commit, author, time, subject."""
    from incidentctl.services.queries import history

    result = history(workspace(ctx), incident)
    if as_json:
        terminal.out_json(
            [
                {
                    "commit": e.commit,
                    "author": e.author,
                    "at": e.at,
                    "subject": e.subject,
                    "trailers": e.trailers,
                }
                for e in result.entries
            ]
        )
    else:
        from incidentctl.cli.views.incident import history_table

        terminal.print_rich(history_table(result))
    finish(result)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Read")(show)
    app.command("list", rich_help_panel="Read")(list_)
    app.command(rich_help_panel="Read")(log)
