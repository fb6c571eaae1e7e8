"""Options shared by many commands, and opening the workspace for a command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from incidentctl.cli import completion as complete
from incidentctl.cli import terminal

if TYPE_CHECKING:
    from incidentctl.services.announce import MessageRequest
    from incidentctl.services.record import RecordResult
    from incidentctl.services.workspace import Workspace


@dataclass
class GlobalOptions:
    """What the root command parsed, and the workspace opened for this invocation."""

    repo: str | None = None
    opened: Workspace | None = None


CURRENT_HELP = (
    "Incident: INC-YYYY-MM-DD-NNN, a ULID prefix, or - (the current incident: the one last "
    "declared or chosen with `incidentctl use` in this clone)."
)
IncidentArg = Annotated[
    str,
    typer.Argument(metavar="INC", help=CURRENT_HELP, autocompletion=complete.complete_incident),
]
OptionalIncidentArg = Annotated[
    str,
    typer.Argument(
        metavar="[INC]",
        help=CURRENT_HELP + " Default: -.",
        show_default=False,
        autocompletion=complete.complete_incident,
    ),
]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at", metavar="TIME", help="When it happened: ISO 8601, HH:MM, -15m or '15m ago'."
    ),
]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="@USER",
        help="Who did it, if not you (your handle in the user config, else your git name).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
# the message flags of the event commands and `render`
CopyOpt = Annotated[
    bool, typer.Option("--copy", help="Also copy the message to the clipboard (or OSC 52).")
]
PostOpt = Annotated[
    bool,
    typer.Option(
        "--post",
        help="Post it to the Slack webhook. Not delivered, it stays in the outbox and the "
        "command exits 4: queued if it was not sent, in doubt if it was sent with no answer "
        "(then never re-sent on its own).",
    ),
]
RecordOpt = Annotated[
    bool,
    typer.Option(
        "--record", help="Record a communication_sent event (with --post: once delivered)."
    ),
]
NoEmojiOpt = Annotated[
    bool, typer.Option("--no-emoji", help="Plain ASCII banners, for tools that mangle emoji.")
]


def workspace(ctx: typer.Context, *, check_config: bool = True) -> Workspace:
    """The workspace of this invocation, opened on first use and kept on the context's
    `GlobalOptions`: passed down explicitly, never a module global. Opening it refuses
    a broken incidentctl.toml, unless `check_config` is false (doctor reports it)."""
    options = ctx.find_object(GlobalOptions)
    if options is None:
        options = ctx.ensure_object(GlobalOptions)
    if options.opened is None:
        from incidentctl.services.workspace import open_workspace

        options.opened = open_workspace(options.repo, check_config=check_config)
        for notice in options.opened.notices:
            terminal.talk(notice)
        from incidentctl.cli.firstuse import on_open

        on_open(ctx, options.opened)
    return options.opened


def publish(
    ctx: typer.Context,
    record: RecordResult,
    as_json: bool = False,
    *,
    template: str | None = None,
    request: MessageRequest | None = None,
) -> None:
    """The end of every event command: record, then announce (services/announce.py),
    and report what happened."""
    from incidentctl.cli import report
    from incidentctl.services.announce import publish as run

    report.published(run(workspace(ctx), record, template=template, request=request), as_json)
