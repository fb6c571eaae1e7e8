"""`incidentctl drill ...`: list, start, run, report (docs/drills.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import AtOpt, ByOpt, IncidentArg, JsonOpt, publish, workspace
from incidentctl.cli.report import finish

drill_app = typer.Typer(
    name="drill",
    help="Drills: practice incidents from a scenario, its injects played on a clock, and a scorecard.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ScenarioArg = Annotated[
    str, typer.Argument(metavar="SCENARIO", help="A scenario name (see: drill list).")
]
IcOpt = Annotated[
    str | None, typer.Option("--commander", "--ic", metavar="@USER", help="Incident commander.")
]


@drill_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The drill scenarios: built-in, and the repo's own under drills/."""
    from incidentctl.services.drills import list_scenarios

    listing = list_scenarios(workspace(ctx))
    if as_json:
        terminal.out_json(listing.to_dict())
    else:
        for file, s in listing.scenarios:
            terminal.out(
                f"{s.name}  {s.severity}  {s.title}  ({len(s.injects)} injects, "
                f"runbook {s.runbook or '-'}, {file.origin})"
            )
    finish(listing)


@drill_app.command("start")
def start(
    ctx: typer.Context,
    scenario: ScenarioArg,
    commander: IcOpt = None,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Declare the scenario's incident as a drill (its injects are yours to give; drill run plays them)."""
    from incidentctl.services.drills import load_scenario, start_drill

    ws = workspace(ctx)
    result = start_drill(ws, load_scenario(ws, scenario), commander=commander, by=by, at=at)
    publish(ctx, result, as_json, template="slack/declared")


@drill_app.command("run")
def run(
    ctx: typer.Context,
    scenario: ScenarioArg,
    speed: Annotated[
        float,
        typer.Option(
            "--speed",
            metavar="N",
            help="Play the injects N times faster than the scenario (the report scores in scenario time).",
        ),
    ] = 1.0,
    commander: IcOpt = None,
    by: ByOpt = None,
) -> None:
    """Declare the drill and play its injects on a clock while the team responds with the ordinary commands. Ctrl-C stops."""
    from incidentctl.services.drills import (
        check_speed,
        inject_text,
        load_scenario,
        play,
        start_drill,
    )

    ws = workspace(ctx)
    chosen = load_scenario(ws, scenario)
    rate = check_speed(speed)
    declared = start_drill(ws, chosen, speed=rate, commander=commander, by=by)
    inc = declared.state.human_id
    publish(ctx, declared, template="slack/declared")
    paced = "in real time" if rate == 1 else f"at {rate:g}x"
    terminal.talk(
        f"DRILL {inc}: playing {len(chosen.injects)} injects of {chosen.name} {paced}; "
        f"respond with the ordinary commands (ack {inc}, update {inc} ...); "
        f"score it with: incidentctl drill report {inc}"
    )

    def heard(inject, result) -> None:
        terminal.out(f"INJECT {inc} {inject_text(inject)}")

    try:
        played = play(ws, declared.state.uid, chosen, rate, heard)
    except KeyboardInterrupt:
        terminal.talk(f"drill stopped; {inc} stays open (resolve it, or drill report {inc})")
        return
    terminal.talk(f"all {played} injects played; drill report {inc} scores the response")


@drill_app.command("report")
def report(
    ctx: typer.Context,
    incident: IncidentArg,
    as_json: JsonOpt = False,
) -> None:
    """Score a drill: MTTA/MTTI/MTTM/MTTR, update cadence, obligations, runbook steps against their time boxes (Markdown)."""
    from incidentctl.services.drills import drill_report

    result = drill_report(workspace(ctx), incident)
    if as_json:
        terminal.out_json(result.to_dict())
    else:
        terminal.out(result.markdown.rstrip("\n"))
    finish(result)


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill", rich_help_panel="After the incident")
