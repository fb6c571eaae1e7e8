"""Commands that amend the timeline with new events: correct, retract."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli.common import AtOpt, ByOpt, JsonOpt, publish, workspace

EventArg = Annotated[
    str,
    typer.Argument(
        metavar="EVENT", help="The event: its ULID or a unique prefix (see: incidentctl show INC)."
    ),
]


def correct(
    ctx: typer.Context,
    event: EventArg,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="TIME",
            help="When the event really happened: ISO 8601, HH:MM, -15m or '15m ago'.",
        ),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", metavar="TEXT", help="What its text should say.")
    ] = None,
    field: Annotated[
        str | None,
        typer.Option(
            "--field",
            metavar="NAME",
            help="Which text to replace when the event has several (default: its main one).",
        ),
    ] = None,
    reason: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="Why it is corrected.")
    ] = "",
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct an event's time or text with a new `corrected` event; the original stays in the log."""
    from incidentctl.services.corrections import correct as record_correction

    result = record_correction(
        workspace(ctx), event, at=at, text=text, field=field, reason=reason, by=by
    )
    publish(ctx, result, as_json)


def retract(
    ctx: typer.Context,
    event: EventArg,
    reason: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="Why it no longer counts.")
    ],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retract an event with a new `retracted` event: it stays in the history but no longer counts."""
    from incidentctl.services.corrections import retract as record_retraction

    result = record_retraction(workspace(ctx), event, reason, at=at, by=by)
    publish(ctx, result, as_json)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Record")(correct)
    app.command(rich_help_panel="Record")(retract)
