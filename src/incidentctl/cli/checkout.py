"""`incidentctl checkout`: closed incidents' files into a sparse work tree."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import JsonOpt, workspace
from incidentctl.cli.report import finish


def checkout(
    ctx: typer.Context,
    incidents: Annotated[
        list[str] | None,
        typer.Argument(metavar="[INC]...", help="The incidents whose files to check out."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Check out every incident (the sparse index stays).")
    ] = False,
    done: Annotated[
        bool,
        typer.Option(
            "--done",
            help="Let checked-out incidents go (all of them without INC): closed ones past the window leave the work tree.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Put closed incidents' files in the work tree, to read them (a sparse checkout holds the open ones). Commands never need it: they read git."""
    from incidentctl.services.checkout import checkout as run

    result = run(workspace(ctx), list(incidents or []), every=every, done=done)
    if as_json:
        terminal.out_json(result.to_dict())
    elif not result.sparse:
        terminal.talk("a full checkout: every incident's files are in the work tree already")
    else:
        for folder in result.added:
            terminal.out(folder)
        for folder in result.already:
            terminal.talk(f"{folder}: in the work tree already")
        for folder in result.left:
            terminal.talk(f"{folder}: left the work tree (still read from git)")
    finish(result)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Repo")(checkout)
