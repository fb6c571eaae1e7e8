"""Commands that read: show, list, log; and use, which picks the incident `-` means."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import IncidentArg, JsonOpt, OptionalIncidentArg, workspace
from incidentctl.cli.report import finish


def show(
    ctx: typer.Context,
    incident: OptionalIncidentArg = "-",
    chart: Annotated[
        bool,
        typer.Option(
            "--chart",
            help="Draw the phases (detected, declared, acknowledged, identified, mitigated, "
            "resolved) as bars, as the review's Mermaid chart does.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show an incident (default: the current one): header, roles, impact, clocks, timeline."""
    from incidentctl.services.queries import show

    view = show(workspace(ctx), incident)
    for note in view.notes:
        terminal.warn(note)
    if as_json:
        terminal.out_json(view.to_dict())
    elif chart:
        from incidentctl.cli.views.chart import phase_chart
        from incidentctl.domain.chart import phases

        now = workspace(ctx).now()
        terminal.print_rich(phase_chart(phases(view.state, now), terminal.console().width))
    else:
        from incidentctl.cli.views.incident import incident_view

        terminal.print_rich(incident_view(view, terminal.console().width))
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

        color = terminal.stdout_is_tty() and terminal.color_allowed()
        lines = incident_lines(listing, ws.now(), columns=terminal.page_width(), color=color)
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


def use(
    ctx: typer.Context,
    incident: Annotated[
        str | None,
        typer.Argument(
            metavar="[INC]",
            help="The incident - means from now on, in this clone (an ID or a ULID prefix).",
        ),
    ] = None,
    clear: Annotated[
        bool,
        typer.Option(
            "--clear",
            help="Forget the current incident: - is then the only open incident, if just one is.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Choose the current incident, the one - means; without INC, print its ID. `declare`
    makes the new incident current, naming an incident never changes it, and it stays
    current after it is resolved. Kept in the repo's .git dir: each clone has its own."""
    from incidentctl.errors import UsageError
    from incidentctl.services import lookup

    if clear and incident is not None:
        raise UsageError("give INC or --clear, not both", hint="see: incidentctl use --help")
    ws = workspace(ctx)
    if clear:
        was_set = lookup.forget_current(ws)
        if as_json:
            terminal.out_json({"cleared": was_set})
        terminal.talk(
            "cleared the current incident: - is now the only open incident, if just one is"
            if was_set
            else "no current incident was set"
        )
        return
    current = (
        lookup.use_incident(ws, incident) if incident is not None else lookup.current_incident(ws)
    )
    state = current.state
    if current.found.note:
        terminal.warn(current.found.note)
    if as_json:
        terminal.out_json(current.to_dict())
    elif incident is None:
        terminal.out(state.human_id)  # `$(incidentctl use)` is the ID
    if incident is not None:
        said = f"{state.human_id} is now the current incident: - means it in this clone"
    elif current.how == "only open":
        said = "no current incident is set: - is the only open incident"
    else:
        said = "the current incident, the one - means"
    terminal.talk(f"{said} ({state.severity} {state.status}: {state.title})")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Read")(show)
    app.command(rich_help_panel="Read")(use)
    app.command("list", rich_help_panel="Read")(list_)
    app.command(rich_help_panel="Read")(log)
