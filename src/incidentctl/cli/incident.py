"""Commands that record events: declare, ack, update, assign, note, mitigate, resolve, reopen."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import completion as complete
from incidentctl.cli.common import (
    AtOpt,
    ByOpt,
    CopyOpt,
    IncidentArg,
    JsonOpt,
    NoEmojiOpt,
    PostOpt,
    RecordOpt,
    publish,
    workspace,
)

CustomersOpt = Annotated[
    int | None,
    typer.Option(
        "--customers-affected",
        metavar="N",
        help="How many customers are affected (customer communication may depend on it).",
    ),
]
SeverityOpt = Annotated[
    str | None,
    typer.Option(
        "-s",
        "--severity",
        metavar="SEV",
        help="Severity: P0, P1, P2 or P3 (from config).",
        autocompletion=complete.complete_severity,
    ),
]


def declare(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="One line saying what is broken.")],
    severity: Annotated[
        str,
        typer.Option(
            "-s",
            "--severity",
            metavar="SEV",
            help="Severity: P0, P1, P2 or P3 (from config).",
            autocompletion=complete.complete_severity,
        ),
    ],
    service: Annotated[
        list[str] | None,
        typer.Option("--service", metavar="NAME", help="Affected service (repeatable)."),
    ] = None,
    impact: Annotated[
        str, typer.Option("--impact", metavar="TEXT", help="Who or what is affected.")
    ] = "",
    commander: Annotated[
        str | None, typer.Option("--commander", "--ic", metavar="@USER", help="Incident commander.")
    ] = None,
    responder: Annotated[
        list[str] | None,
        typer.Option("--responder", metavar="@USER", help="Responder (repeatable)."),
    ] = None,
    detected_at: Annotated[
        str | None,
        typer.Option("--detected-at", metavar="TIME", help="When the alert fired (for MTTD)."),
    ] = None,
    runbook: Annotated[
        str | None,
        typer.Option(
            "--runbook",
            metavar="NAME",
            help="Attach a runbook (see: runbook list).",
            autocompletion=complete.complete_runbook,
        ),
    ] = None,
    category: Annotated[
        str,
        typer.Option(
            "--category",
            metavar="TAG",
            help="Category, e.g. security (rules with when = security apply).",
        ),
    ] = "",
    customers_affected: CustomersOpt = None,
    drill: Annotated[
        bool,
        typer.Option(
            "--drill",
            help="A practice incident: marked DRILL in every message, posted only to the "
            "drill webhook, left out of metrics.",
        ),
    ] = False,
    drill_kind: Annotated[
        str,
        typer.Option(
            "--drill-kind",
            metavar="KIND",
            help="With --drill: simulation, tabletop, major... (default: [drills] kind).",
        ),
    ] = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    copy: CopyOpt = False,
    post: PostOpt = False,
    record: RecordOpt = False,
    no_emoji: NoEmojiOpt = False,
    page: Annotated[
        bool,
        typer.Option(
            "--page", help="Page the severity's page list through PagerDuty ([pagerduty])."
        ),
    ] = False,
) -> None:
    """Declare an incident: allocate INC-YYYY-MM-DD-NNN, commit it, print the Slack declaration."""
    from incidentctl.services.announce import MessageRequest
    from incidentctl.services.incidents import Declaration, declare

    ws = workspace(ctx)
    request = MessageRequest(copy, post, record, no_emoji, by=by, page=page, drill=drill)
    request.check(ws)
    result = declare(
        ws,
        Declaration(
            title=title,
            severity=severity,
            services=service or [],
            impact=impact,
            commander=commander,
            responders=responder,
            detected_at=detected_at,
            at=at,
            by=by,
            runbook=runbook or "",
            category=category,
            customers_affected=customers_affected,
            drill=drill,
            drill_kind=drill_kind,
        ),
    )
    publish(ctx, result, as_json, template="slack/declared", request=request)


def ack(
    ctx: typer.Context,
    incident: IncidentArg,
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="Optional note.")
    ] = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge: a first responder is engaged (stops the MTTA clock). A paged
    incident's pages are acknowledged in PagerDuty too."""
    from incidentctl.services.announce import MessageRequest
    from incidentctl.services.incidents import acknowledge

    ws = workspace(ctx)
    request = MessageRequest(by=by, pager="acknowledge")
    request.check(ws)
    result = acknowledge(ws, incident, by=by, at=at, message=message)
    publish(ctx, result, as_json, request=request)


def update(
    ctx: typer.Context,
    incident: IncidentArg,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="investigating, identified or monitoring (resolve with: incidentctl resolve).",
            autocompletion=complete.complete_status,
        ),
    ] = None,
    severity: SeverityOpt = None,
    impact: Annotated[
        str | None, typer.Option("--impact", metavar="TEXT", help="New impact statement.")
    ] = None,
    message: Annotated[
        str | None,
        typer.Option(
            "-m", "--message", metavar="TEXT", help="What changed, or a note if nothing else does."
        ),
    ] = None,
    customers_affected: CustomersOpt = None,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    copy: CopyOpt = False,
    post: PostOpt = False,
    record: RecordOpt = False,
    no_emoji: NoEmojiOpt = False,
) -> None:
    """Record a status, severity or impact change, or an update note; print the Slack update."""
    from incidentctl.services.announce import MessageRequest
    from incidentctl.services.incidents import Update, update

    ws = workspace(ctx)
    request = MessageRequest(copy, post, record, no_emoji, by=by)
    request.check(ws)
    changes = Update(
        status=status,
        severity=severity,
        impact=impact,
        message=message,
        customers_affected=customers_affected,
    )
    result = update(ws, incident, changes, by=by, at=at)
    publish(ctx, result, as_json, template="slack/update", request=request)


def assign(
    ctx: typer.Context,
    incident: IncidentArg,
    role: Annotated[
        str,
        typer.Argument(
            help="A role from config: commander, tech-lead, comms-lead, scribe, ...",
            autocompletion=complete.complete_role,
        ),
    ],
    user: Annotated[str, typer.Argument(metavar="@USER", help="Who takes the role.")],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Assign a role (commander, tech-lead, comms-lead, scribe, support-lead) to someone."""
    from incidentctl.services.incidents import assign

    publish(ctx, assign(workspace(ctx), incident, role, user, by=by, at=at), as_json)


def note(
    ctx: typer.Context,
    incident: IncidentArg,
    text: Annotated[str, typer.Argument(help="The note.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            metavar="KIND",
            help="note, finding, hypothesis, decision, action, or update (only an update "
            "counts toward the update cadence), runbook (a runbook was updated) or inject "
            "(a drill inject).",
            autocompletion=complete.complete_note_kind,
        ),
    ] = "note",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a note to the timeline."""
    from incidentctl.services.incidents import note

    publish(ctx, note(workspace(ctx), incident, text, kind, by=by, at=at), as_json)


def mitigate(
    ctx: typer.Context,
    incident: IncidentArg,
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="What restored service.")
    ],
    keep_status: Annotated[
        bool, typer.Option("--keep-status", help="Do not move the status to monitoring.")
    ] = False,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    copy: CopyOpt = False,
    post: PostOpt = False,
    record: RecordOpt = False,
    no_emoji: NoEmojiOpt = False,
) -> None:
    """Service restored: stop the MTTM clock, move to monitoring, print the Slack update."""
    from incidentctl.services.announce import MessageRequest
    from incidentctl.services.incidents import mitigate

    ws = workspace(ctx)
    request = MessageRequest(copy, post, record, no_emoji, by=by)
    request.check(ws)
    result = mitigate(ws, incident, message, keep_status, by=by, at=at)
    publish(ctx, result, as_json, template="slack/update", request=request)


def resolve(
    ctx: typer.Context,
    incident: IncidentArg,
    root_cause: Annotated[
        str, typer.Option("--root-cause", metavar="TEXT", help="What caused it.")
    ],
    resolution: Annotated[str, typer.Option("--resolution", metavar="TEXT", help="What fixed it.")],
    category: Annotated[
        str,
        typer.Option(
            "--category", metavar="TAG", help="Root-cause category, e.g. deploy, capacity."
        ),
    ] = "",
    impact: Annotated[
        str, typer.Option("--impact", metavar="TEXT", help="Final impact statement.")
    ] = "",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Resolve before monitoring has confirmed stability (stable_for); "
            "the event records it.",
        ),
    ] = False,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    copy: CopyOpt = False,
    post: PostOpt = False,
    record: RecordOpt = False,
    no_emoji: NoEmojiOpt = False,
) -> None:
    """Resolve the incident, with its root cause and resolution; print the Slack resolution."""
    from incidentctl.services.announce import MessageRequest
    from incidentctl.services.incidents import resolve

    ws = workspace(ctx)
    request = MessageRequest(copy, post, record, no_emoji, by=by, pager="resolve")
    request.check(ws)
    result = resolve(
        ws, incident, root_cause, resolution, category, impact, by=by, at=at, force=force
    )
    publish(ctx, result, as_json, template="slack/resolved", request=request)


def reopen(
    ctx: typer.Context,
    incident: IncidentArg,
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="Why it is back.")
    ],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reopen a resolved incident."""
    from incidentctl.services.incidents import reopen

    publish(ctx, reopen(workspace(ctx), incident, message, by=by, at=at), as_json)


def page(
    ctx: typer.Context,
    incident: IncidentArg,
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TARGET",
            help="Whom to page: entries of a severity's page list (default: this "
            "incident's severity's list).",
        ),
    ] = None,
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="Added to the page's details.")
    ] = "",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the exact requests (secrets masked); send nothing."),
    ] = False,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Page through PagerDuty (Events API v2): one trigger per target, recorded as `paged`.

    Not delivered, a page stays in the outbox and the command exits 4; the dedup key
    (the incident and the target) makes a retry one alert, never two."""
    from incidentctl.cli.comms import show_sent
    from incidentctl.services.integrations import page as run

    sent = run(workspace(ctx), incident, targets or [], message=message, by=by, dry_run=dry_run)
    show_sent(sent, "PagerDuty: {} delivered", dry_run=dry_run, as_json=as_json, spaced=True)


def register(app: typer.Typer) -> None:
    for command in (declare, ack, update, assign, note, mitigate, resolve, reopen):
        app.command(rich_help_panel="Record")(command)
    app.command(rich_help_panel="Communicate")(page)
