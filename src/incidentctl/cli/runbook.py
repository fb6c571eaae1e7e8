"""`incidentctl runbook ...`: list, show, lint, new, import, walk, step, progress."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from incidentctl.cli import completion as complete
from incidentctl.cli import terminal
from incidentctl.cli.common import AtOpt, ByOpt, IncidentArg, JsonOpt, publish, workspace
from incidentctl.cli.report import finish

runbook_app = typer.Typer(
    name="runbook",
    help="Runbooks: list, show, lint, write or import them; walk one step by step; record and follow progress.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="Runbook name (see: runbook list).",
        autocompletion=complete.complete_runbook,
    ),
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        metavar="NAME=VALUE",
        help="A command variable's value, over [runbooks.vars] (repeatable).",
    ),
]


@runbook_app.command("list")
def list_(
    ctx: typer.Context,
    for_incident: Annotated[
        str | None,
        typer.Option(
            "--for",
            metavar="INC",
            help="Only runbooks that fit this incident (an ID, or - for the current one), best first.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the runbooks: built-in, and the repo's runbooks/*.toml (which add or override)."""
    from incidentctl.services.runbooks import list_runbooks

    listing = list_runbooks(workspace(ctx), for_incident)
    if as_json:
        terminal.out_json(listing.to_dict())
    elif listing.runbooks:
        from incidentctl.cli.views.runbooks import runbook_table

        terminal.print_rich(runbook_table(listing))
    else:
        terminal.talk(f"no runbook fits {listing.incident}" if listing.incident else "no runbooks")
    finish(listing)


@runbook_app.command()
def show(
    ctx: typer.Context,
    name: NameArg,
    var: VarOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a runbook: phases, steps, commands (with your variables) and warnings."""
    from incidentctl.services.runbooks import parse_var_options, runbook_view

    overrides = parse_var_options(var)
    view = runbook_view(workspace(ctx), name, overrides)
    if as_json:
        terminal.out_json(view.to_dict())
    elif terminal.stdout_is_tty():
        from incidentctl.cli.views.runbooks import runbook_rich

        terminal.print_rich(runbook_rich(view))
    else:
        from incidentctl.cli.views.runbooks import runbook_plain

        terminal.out(runbook_plain(view))


@runbook_app.command()
def lint(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE...", help="Runbook TOML files to check.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Check runbook files: TOML syntax, schema (with field paths), commands, message templates.

    Each template a step names must be one the repo can render (its templates/ and the
    built-ins; outside a repo, the built-ins).
    """
    from incidentctl.cli.common import GlobalOptions
    from incidentctl.errors import DataError
    from incidentctl.services.runbooks import lint_file, message_templates

    options = ctx.find_object(GlobalOptions)
    templates = message_templates(options.repo if options else None)
    results = [lint_file(path, templates) for path in files]
    if as_json:
        terminal.out_json([r.to_dict() for r in results])
    else:
        for r in results:
            for line in r.problems:
                terminal.out(line)
            for line in r.warnings:
                terminal.warn(line)
            if r.ok:
                terminal.talk(f"ok: {r.path} (runbook {r.name})")
    bad = [r for r in results if not r.ok]
    if bad:
        count = sum(len(r.problems) for r in bad)
        raise DataError(
            f"{count} problem{'s' if count != 1 else ''} in {', '.join(r.path for r in bad)}",
            hint="each problem names the field: fix it and lint again",
        )


OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="Write here (a file or a folder) instead of the repo's runbooks/; - prints it.",
    ),
]


def _written(result, as_json: bool) -> None:
    if as_json:
        terminal.out_json(result.to_dict())
    elif result.path is None:
        terminal.out(result.text.rstrip("\n"))
    for note in result.notes:
        terminal.warn(note)
    if result.path is not None and not as_json:
        terminal.talk(
            f"wrote {result.display}: edit it, check it with"
            f" `incidentctl runbook lint {result.display}`, and commit it"
        )
    finish(result)


@runbook_app.command()
def new(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The new runbook's name, e.g. widget-outage.")
    ],
    output: OutputOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a commented skeleton runbook that lints clean, into the repo's runbooks/ folder.

    An existing file is never overwritten. Nothing is committed: edit it, then commit it.
    """
    from incidentctl.services.runbooks import new_runbook

    ws = workspace(ctx) if output is None else None
    _written(new_runbook(ws, name, output), as_json)


@runbook_app.command("import")
def import_(
    ctx: typer.Context,
    document: Annotated[
        Path, typer.Argument(metavar="PROCEDURE.md", help="A Markdown procedure to import.")
    ],
    section: Annotated[
        str | None,
        typer.Option(
            "--section",
            metavar="TEXT",
            help="Import the section under the first heading containing TEXT (default: the whole document).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="The runbook's name (default: from its title)."
        ),
    ] = None,
    output: OutputOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn a Markdown procedure into a runbook draft that lints clean, in the repo's runbooks/.

    Headings and bold labels become phases (time boxes from "(First 5 minutes)",
    "(Minutes 0-5)"), numbered and bulleted items steps, fenced shell blocks their
    commands, "Option A/B/C" items a decision's options, "DO NOT" lines warnings.
    An existing file is never overwritten; nothing is committed.
    """
    from incidentctl.services.runbooks import import_runbook

    ws = workspace(ctx) if output is None else None
    result = import_runbook(ws, document, section=section, name=name, output=output)
    _written(result, as_json)


@runbook_app.command()
def walk(
    ctx: typer.Context,
    incident: IncidentArg,
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME]",
            help="Runbook (default: the one attached at declare, the one in progress, or a suggestion).",
            autocompletion=complete.complete_runbook,
        ),
    ] = None,
    var: VarOpt = None,
    at: AtOpt = None,
    by: ByOpt = None,
) -> None:
    """Walk a runbook step by step in the terminal, recording each answer. Resumes where it stopped.

    Commands run only after you confirm the exact command line; their output is
    committed as evidence with the step's answer.
    """
    from incidentctl.errors import UsageError
    from incidentctl.services.runbooks import parse_var_options

    if not sys.stdin.isatty():
        raise UsageError(
            "runbook walk is interactive and needs a terminal",
            hint="from a script, record steps with: incidentctl runbook step INC NAME STEP --done",
        )
    overrides = parse_var_options(var)
    from incidentctl.cli.runbook_walk import run_walk

    run_walk(workspace(ctx), incident, name, overrides, at=at, by=by)


@runbook_app.command()
def step(
    ctx: typer.Context,
    incident: IncidentArg,
    name: NameArg,
    step_id: Annotated[
        str,
        typer.Argument(
            metavar="STEP", help="The step's id.", autocompletion=complete.complete_step
        ),
    ],
    done: Annotated[bool, typer.Option("--done", help="The step is done.")] = False,
    skipped: Annotated[bool, typer.Option("--skipped", help="The step was skipped.")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="The step failed.")] = False,
    option: Annotated[
        str | None,
        typer.Option("--option", metavar="KEY", help="For a decision step: the option chosen."),
    ] = None,
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="NOTE", help="A note on the step.")
    ] = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record one step's answer without prompts (for scripts): --done, --skipped, --failed or --option."""
    from incidentctl.errors import UsageError
    from incidentctl.services.runbooks import StepAnswer, record_step

    given = [o for o, on in (("done", done), ("skipped", skipped), ("failed", failed)) if on]
    if option is not None:
        given.append("decided")
    if len(given) != 1:
        raise UsageError(
            "give exactly one of --done, --skipped, --failed or --option KEY",
            hint="e.g. incidentctl runbook step INC api-outage check-deployments --done",
        )
    answer = StepAnswer(given[0], option or "", message)
    result = record_step(workspace(ctx), incident, name, step_id, answer, at=at, by=by)
    publish(ctx, result, as_json)


@runbook_app.command()
def progress(ctx: typer.Context, incident: IncidentArg, as_json: JsonOpt = False) -> None:
    """Each runbook's progress on an incident, and any phase whose time box has run out."""
    from incidentctl.services.runbooks import progress as progress_of

    report = progress_of(workspace(ctx), incident)
    for note in report.notes:
        terminal.warn(note)
    if as_json:
        terminal.out_json(report.to_dict())
    elif not report.items:
        terminal.talk(
            f"{report.state.human_id} has no runbook yet;"
            f" start one with: incidentctl runbook walk {report.state.human_id} [NAME]"
        )
    else:
        from incidentctl.cli.views.runbooks import progress_renderable

        terminal.print_rich(progress_renderable(report))
    finish(report)


def register(app: typer.Typer) -> None:
    app.add_typer(runbook_app, name="runbook", rich_help_panel="Runbooks")
