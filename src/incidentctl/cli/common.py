"""Options shared by many commands, and opening the workspace for a command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from incidentctl.cli import terminal

if TYPE_CHECKING:
    from incidentctl.services.record import RecordResult
    from incidentctl.services.workspace import Workspace


@dataclass
class GlobalOptions:
    repo: str | None = None


IncidentArg = Annotated[
    str,
    typer.Argument(
        metavar="INC", help="Incident: INC-YYYY-MM-DD-NNN, a ULID prefix, or - (last open)."
    ),
]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at", metavar="TIME", help="When it happened: ISO 8601, HH:MM, -15m or '15m ago'."
    ),
]
ByOpt = Annotated[
    str | None, typer.Option("--by", metavar="@USER", help="Who did it, if not your git identity.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

# The workspace this command opened: report_recorded auto-syncs it ([sync] mode = "auto").
_opened: Workspace | None = None


def workspace(ctx: typer.Context) -> Workspace:
    from incidentctl.services.workspace import open_workspace

    options = ctx.find_object(GlobalOptions) or GlobalOptions()
    ws = open_workspace(options.repo)
    global _opened
    _opened = ws
    for notice in ws.notices:
        terminal.talk(notice)
    return ws


def report_recorded(result: RecordResult, as_json: bool, verb: str) -> None:
    """Talk about what an event command committed; JSON on stdout if asked."""
    from incidentctl.cli.sharing import sync_after_recording

    sync_after_recording(_opened, result)  # first, so the report shows renumbered IDs
    for item in result.recovered:
        terminal.talk(
            f"recovered {item.path} ({item.commit}), left uncommitted by an interrupted command"
        )
    for note in result.notes:
        terminal.warn(note)
    if as_json:
        terminal.out_json(result.to_dict())
    for rec in result.recorded:
        terminal.talk(f"{result.state.human_id}: {verb} {rec.event.type} · commit {rec.commit}")
