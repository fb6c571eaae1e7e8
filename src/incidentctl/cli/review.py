"""After the incident: `pir` (the review), `action` (action items) and `metrics`."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import completion as complete
from incidentctl.cli import terminal
from incidentctl.cli.common import AtOpt, ByOpt, IncidentArg, JsonOpt, publish, workspace
from incidentctl.cli.report import finish

REPEATS_SHOWN = 10  # repeat incidents that `metrics` lists without --all

pir_app = typer.Typer(
    help="The post-incident review: record its facts, schedule it, generate the document.",
    no_args_is_help=True,
)
action_app = typer.Typer(
    help="Action items from reviews, tracked until done (IDs like INC-2026-02-12-001#A2).",
    no_args_is_help=True,
)

ActionIdArg = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Action ID: INC-YYYY-MM-DD-NNN#A<n> (or ULID-prefix#A<n>).",
        autocompletion=complete.complete_action,
    ),
]
NoteOpt = Annotated[str, typer.Option("-m", "--message", metavar="NOTE", help="A note to record.")]


# -- pir ----------------------------------------------------------------------------


@pir_app.command("add")
def pir_add(
    ctx: typer.Context,
    incident: IncidentArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The entry's text.")],
    section: Annotated[
        str,
        typer.Option(
            "--section",
            metavar="SECTION",
            help="why, factor, went-well, went-wrong, lesson, summary, customers-affected, "
            "revenue-impact or attendee.",
        ),
    ],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a fact to the review. summary, customers-affected and revenue-impact keep the
    latest entry; the other sections are lists (the 5 Whys in order)."""
    from incidentctl.services.pir import add_entry

    result = add_entry(workspace(ctx), incident, section, text, by=by, at=at)
    publish(ctx, result, as_json)


@pir_app.command("schedule")
def pir_schedule(
    ctx: typer.Context,
    incident: IncidentArg,
    review_at: Annotated[
        str,
        typer.Option(
            "--at",
            metavar="TIME",
            help="When the review meeting is: ISO 8601 (2026-02-14T10:00), or HH:MM today.",
        ),
    ],
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the review meeting; warns when it is past the severity's review deadline."""
    from incidentctl.services.pir import schedule

    result = schedule(workspace(ctx), incident, review_at, by=by)
    publish(ctx, result, as_json)


@pir_app.command("complete")
def pir_complete(
    ctx: typer.Context,
    incident: IncidentArg,
    message: NoteOpt = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark the review as held (at --at, default now)."""
    from incidentctl.services.pir import complete

    result = complete(workspace(ctx), incident, message, by=by, at=at)
    publish(ctx, result, as_json)


@pir_app.command("generate")
def pir_generate(
    ctx: typer.Context,
    incident: IncidentArg,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            metavar="NAME",
            help="waooaw, white-room, or a template name (default: [pir] template in config).",
        ),
    ] = None,
    output: Annotated[
        str | None, typer.Option("-o", "--output", metavar="FILE", help="Write it to FILE.")
    ] = None,
    commit: Annotated[
        bool,
        typer.Option("--commit", help="Write pir.md into the incident folder and commit it."),
    ] = False,
    copy: Annotated[bool, typer.Option("--copy", help="Also copy it to the clipboard.")] = False,
    review_date: Annotated[
        str | None,
        typer.Option(
            "--date", metavar="DATE", help="The review date (default: when held, else scheduled)."
        ),
    ] = None,
) -> None:
    """Generate the post-incident review as Markdown from the committed timeline."""
    from incidentctl.services.pir import commit_review, generate, write_file

    ws = workspace(ctx)
    review = generate(ws, incident, template=template, review_date=review_date)
    for warning in review.warnings:
        terminal.warn(warning)
    printed = output is None and not commit
    if printed:
        terminal.out(review.text)
    if output is not None:
        path = write_file(output, review.text)
        terminal.talk(f"{review.state.human_id}: wrote {path} ({review.template})")
    if commit:
        written = commit_review(ws, review)
        if written.commit is None:
            terminal.talk(f"{review.state.human_id}: {written.path} is already up to date")
        else:
            terminal.talk(
                f"{review.state.human_id}: committed {written.path} · commit {written.commit}"
            )
    if copy:
        _copy(review.text, printed)
    finish(review)


def _copy(text: str, printed: bool) -> None:
    from incidentctl.adapters.clipboard import copy_text
    from incidentctl.errors import IncidentctlError

    try:
        how = copy_text(text)
    except IncidentctlError:
        if not printed:
            terminal.out(text)  # nothing is lost
        raise
    terminal.talk(f"copied to the clipboard ({how})")


# -- action -----------------------------------------------------------------------


def _report_action(ctx: typer.Context, result, as_json: bool) -> None:
    from incidentctl.cli import report
    from incidentctl.services.announce import publish as run

    report.published(run(workspace(ctx), result.record))
    if as_json:
        terminal.out_json(result.to_dict())
    else:
        terminal.out(result.label)


@action_app.command("add")
def action_add(
    ctx: typer.Context,
    incident: IncidentArg,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="What will be done.")],
    owner: Annotated[str, typer.Option("--owner", metavar="@USER", help="Who owns it.")],
    due: Annotated[
        str, typer.Option("--due", metavar="DATE", help="Due date: 2026-02-20, +7d, 2w, tomorrow.")
    ],
    priority: Annotated[
        str, typer.Option("--priority", "-p", metavar="P0..P3", help="Priority (a severity name).")
    ],
    kind: Annotated[
        str,
        typer.Option("--type", metavar="TYPE", help="preventive, corrective or detective."),
    ] = "preventive",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an action item to an incident; prints its ID (INC-...#A<n>)."""
    from incidentctl.services.actions import add

    result = add(
        workspace(ctx),
        incident,
        title,
        owner=owner,
        due=due,
        priority=priority,
        kind=kind,
        by=by,
        at=at,
    )
    _report_action(ctx, result, as_json)


@action_app.command("list")
def action_list(
    ctx: typer.Context,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only not-started and in-progress items.")
    ] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open items past due.")] = False,
    owner: Annotated[
        str | None, typer.Option("--owner", metavar="@USER", help="Only this owner's items.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Action items across all incidents, soonest due first."""
    from incidentctl.services.actions import list_actions

    listing = list_actions(workspace(ctx), open_only=open_only, overdue_only=overdue, owner=owner)
    if as_json:
        terminal.out_json([row.to_dict() for row in listing.rows])
    elif listing.rows:
        from incidentctl.cli.views.review import action_table

        terminal.print_rich(action_table(listing))
    else:
        terminal.talk("no action items" + (" match" if open_only or overdue or owner else ""))
    finish(listing)


@action_app.command("update")
def action_update(
    ctx: typer.Context,
    action_id: ActionIdArg,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="not-started, in-progress, done or wont-do.",
            autocompletion=complete.complete_action_status,
        ),
    ] = None,
    message: NoteOpt = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an action item's status, and/or add a note to it."""
    from incidentctl.services.actions import update

    result = update(workspace(ctx), action_id, status=status, note=message, by=by, at=at)
    _report_action(ctx, result, as_json)


@action_app.command("done")
def action_done(
    ctx: typer.Context,
    action_id: ActionIdArg,
    message: NoteOpt = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark an action item done."""
    from incidentctl.services.actions import update

    result = update(workspace(ctx), action_id, status="done", note=message, by=by, at=at)
    _report_action(ctx, result, as_json)


# -- metrics --------------------------------------------------------------------------


def metrics(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Incidents declared on or after DATE."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Incidents declared on or before DATE."),
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", metavar="YYYY-MM", help="Incidents of one month.")
    ] = None,
    severity: Annotated[
        list[str] | None,
        typer.Option("--severity", "-s", metavar="SEV", help="Only this severity (repeatable)."),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help="table (default) or markdown."),
    ] = "table",
    show_all: Annotated[
        bool,
        typer.Option(
            "--all", help=f"List every repeat incident (else the {REPEATS_SHOWN} latest)."
        ),
    ] = False,
    drills: Annotated[
        bool, typer.Option("--drills", help="Count drills as incidents too (else left out).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Response metrics (MTTD, MTTA, MTTI, MTTM, MTTR), reviews, action items and repeats."""
    from incidentctl.errors import UsageError, choices_hint
    from incidentctl.services.metrics import markdown, metrics, period

    fmt = output_format.strip().lower()
    if fmt not in ("table", "markdown"):
        raise UsageError(
            f"unknown format {output_format!r}", hint=choices_hint("formats", ("table", "markdown"))
        )
    ws = workspace(ctx)
    chosen = period(ws, since=since, until=until, month=month, severities=severity or [])
    result = metrics(ws, chosen, drills=drills)
    if as_json:
        terminal.out_json({**result.report.to_dict(), **result.extra_dict()})
    elif fmt == "markdown":
        from incidentctl.cli.views.drills import extra_markdown

        terminal.out(
            markdown(ws, result.report, month).rstrip("\n") + "\n\n" + extra_markdown(result)
        )
    else:
        from incidentctl.cli.views.drills import extra_lines
        from incidentctl.cli.views.review import metrics_view

        terminal.print_rich(
            metrics_view(result.report, repeats_shown=None if show_all else REPEATS_SHOWN)
        )
        terminal.out("\n".join(extra_lines(result)))
    finish(result)


def register(app: typer.Typer) -> None:
    app.add_typer(pir_app, name="pir", rich_help_panel="After the incident")
    app.add_typer(action_app, name="action", rich_help_panel="After the incident")
    app.command(rich_help_panel="After the incident")(metrics)
