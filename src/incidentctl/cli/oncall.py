"""The `oncall` command group: now, next, schedule, override, handover."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import AtOpt, ByOpt, JsonOpt, workspace
from incidentctl.cli.report import finish

oncall_app = typer.Typer(
    help="The weekly on-call rotation: who is on call, overrides, and the handover brief.",
    no_args_is_help=True,
)


@oncall_app.command()
def now(
    ctx: typer.Context,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", metavar="TIME", help="Who is on call at TIME instead (ISO 8601, HH:MM, -2h)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Who is on call now: the primary and the secondary (backup)."""
    from incidentctl.services.oncall import oncall_at

    view = oncall_at(workspace(ctx), at)
    if as_json:
        terminal.out_json(view.to_dict())
    else:
        from incidentctl.cli.views.oncall import oncall_text

        terminal.out(oncall_text(view))
    finish(view)


@oncall_app.command("next")
def next_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The next rotation: who takes over, and when."""
    from incidentctl.services.oncall import next_rotation

    upcoming = next_rotation(workspace(ctx))
    if as_json:
        terminal.out_json(upcoming.to_dict())
    else:
        from incidentctl.cli.views.oncall import next_text

        terminal.out(next_text(upcoming))
    finish(upcoming)


@oncall_app.command("schedule")
def schedule_(
    ctx: typer.Context,
    weeks: Annotated[
        int, typer.Option("--weeks", metavar="N", help="How many weeks, from this one.")
    ] = 4,
    as_json: JsonOpt = False,
) -> None:
    """The rotation ahead, week by week, with overrides."""
    from incidentctl.services.oncall import schedule

    result = schedule(workspace(ctx), weeks)
    if as_json:
        terminal.out_json(result.to_dict())
    else:
        from incidentctl.cli.views.oncall import schedule_table

        terminal.print_rich(schedule_table(result))
    finish(result)


@oncall_app.command()
def override(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(metavar="@USER", help="Who covers.")],
    start: Annotated[
        str, typer.Option("--from", metavar="TIME", help="Start (ISO 8601, HH:MM, -1h).")
    ],
    end: Annotated[str, typer.Option("--to", metavar="TIME", help="End (exclusive).")],
    role: Annotated[
        str, typer.Option("--role", metavar="ROLE", help="primary or secondary.")
    ] = "primary",
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="Why (optional).")
    ] = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put someone else on call from one time to another (a committed record)."""
    from incidentctl.services.oncall import add_override

    result = add_override(workspace(ctx), user, start, end, role=role, reason=message, by=by, at=at)
    for rel in result.recovered:
        terminal.talk(f"recovered {rel}, left uncommitted by an interrupted command")
    if as_json:
        terminal.out_json(result.to_dict())
    terminal.talk(f"recorded on-call override {result.path} · commit {result.commit}")


@oncall_app.command()
def handover(
    ctx: typer.Context,
    copy: Annotated[
        bool, typer.Option("--copy", help="Also copy the brief to the clipboard.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The handover brief: active incidents, this week's incidents, action items, checklists."""
    from incidentctl.services.oncall import handover_brief

    brief = handover_brief(workspace(ctx))
    if as_json:
        terminal.out_json(brief.to_dict())
    else:
        from incidentctl.cli.views.oncall import handover_text

        text = handover_text(brief)
        terminal.out(text)
        if copy:
            from incidentctl.adapters.clipboard import copy_text

            copy_text(text)
            terminal.talk("copied the handover brief to the clipboard")
    finish(brief)


def register(app: typer.Typer) -> None:
    app.add_typer(oncall_app, name="oncall", rich_help_panel="On-call")
