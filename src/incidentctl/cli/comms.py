"""Commands for messages: render, template list/show, comms sent/list, outbox; and the
message options that the event commands (declare, update, mitigate, resolve) share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from incidentctl.cli import completion as complete
from incidentctl.cli import terminal
from incidentctl.cli.common import (
    CURRENT_HELP,
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

if TYPE_CHECKING:
    from incidentctl.services.integrations import Sent

StageOpt = Annotated[
    str | None,
    typer.Option(
        "--stage", metavar="STAGE", help="investigating, identified, monitoring or resolved."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Fill or override a template field (repeatable; repeating a key makes a list).",
    ),
]


# -- render ----------------------------------------------------------------------------


def render(
    ctx: typer.Context,
    template: Annotated[
        str,
        typer.Argument(
            help="A template (slack/update, email/customer, ...), or a family (statuspage) "
            "to pick the incident's stage.",
            autocompletion=complete.complete_template,
        ),
    ],
    incident: Annotated[
        str | None,
        typer.Argument(
            metavar="[INC]",
            help=CURRENT_HELP + " Default: -.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text, slack, blocks (Block Kit JSON) or markdown (default: the template's own).",
        ),
    ] = None,
    stage: StageOpt = None,
    settings: SetOpt = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the message to FILE."),
    ] = None,
    copy: CopyOpt = False,
    post: PostOpt = False,
    record: RecordOpt = False,
    no_emoji: NoEmojiOpt = False,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="ADDR",
            help="email/ with --post: send to ADDR (repeatable; default: [email] to).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="With --post: print the exact request (secrets masked); send and record nothing.",
        ),
    ] = False,
) -> None:
    """Render a message template for an incident: print it, write it, copy, post or record it.

    An email/ template with --post is sent over SMTP ([email]); delivered, it is
    recorded as customer communication."""
    from incidentctl.cli import report
    from incidentctl.services.announce import MessageRequest, publish
    from incidentctl.services.comms import parse_settings, render_message

    ws = workspace(ctx)
    overrides = parse_settings(settings or [])
    if post and template.strip().startswith("email/"):
        from incidentctl.services.destinations import settings_for

        settings_for(ws, "email")  # a bad [email]: exit 2 before anything is written
        rendered = render_message(
            ws, template, incident, fmt=fmt, stage=stage, overrides=overrides,
            emoji=False if no_emoji else None,
        )  # fmt: skip
        _send_email(ws, rendered, to or [], by, dry_run, as_json)
        return
    if post:
        from incidentctl.services.posting import statuspage_configured

        if statuspage_configured(ws, template):
            _post_statuspage(ws, template, incident, fmt, stage, overrides, by, dry_run, as_json)
            return
    request = MessageRequest(copy, post, record, no_emoji, by=by, at=at)
    request.check(ws)  # a bad --at or a missing webhook is refused before anything is written
    render_args = {
        "stage": stage,
        "overrides": overrides,
        "emoji": request.emoji,
    }
    rendered = render_message(ws, template, incident, fmt=fmt, **render_args)
    if output is not None:
        from incidentctl.store.atomic import write_atomic

        try:
            write_atomic(output, (rendered.paste_text + "\n").encode("utf-8"))
        except OSError as exc:
            from incidentctl.errors import IncidentctlError

            raise IncidentctlError(
                f"cannot write {output}: {exc.strerror or exc}", hint="check the path"
            ) from None
        terminal.talk(f"wrote {rendered.template} for {rendered.incident} to {output}")
    elif as_json:
        terminal.out_json(rendered.to_dict())
    else:
        report.show_message(rendered)
    report.published(publish(ws, None, rendered=rendered, render_args=render_args, request=request))


def _post_statuspage(ws, template, incident, fmt, stage, overrides, by, dry_run, as_json) -> None:
    """render statuspage INC --post with a [statuspage] table: post it to the status page."""
    from incidentctl.services.comms import render_message
    from incidentctl.services.destinations import settings_for
    from incidentctl.services.posting import post_statuspage

    settings_for(ws, "statuspage")  # a bad [statuspage]: exit 2 before anything is written
    rendered = render_message(
        ws, template, incident, fmt=fmt or "text", stage=stage, overrides=overrides
    )
    sent = post_statuspage(ws, rendered, by=by, dry_run=dry_run)
    show_sent(sent, "Statuspage: {}", dry_run=dry_run, as_json=as_json)


def _send_email(ws, rendered, to: list[str], by: str | None, dry_run: bool, as_json: bool) -> None:
    from incidentctl.services.integrations import send_email

    sent = send_email(ws, rendered, to=to, by=by, dry_run=dry_run)
    show_sent(sent, "emailed {}", dry_run=dry_run, as_json=as_json)


def show_sent(sent: Sent, said: str, *, dry_run: bool, as_json: bool, spaced: bool = False) -> None:
    """What a delivering command did (page, --post, email): the --dry-run requests
    (`spaced`: a blank line after each), the deliveries as JSON, a line per delivery
    sent (`said` with its summary in the {}) and what it recorded; then the exit."""
    from incidentctl.cli import report

    for text in sent.dry_run:
        terminal.out(text)
        if spaced:
            terminal.out("")
    if dry_run:
        terminal.talk("dry run: nothing was sent or recorded")
    if as_json:
        terminal.out_json([d.to_dict() for d in sent.deliveries])
    for d in sent.deliveries:
        if d.outcome == "sent":
            terminal.talk(said.format(d.summary))
            if d.recorded is not None:
                report.recorded(d.recorded, False)
    report.finish(sent)


# -- template list / show -------------------------------------------------------------

template_app = typer.Typer(
    help="The message templates: built-in, and the repo's own under templates/.",
    no_args_is_help=True,
)


@template_app.command("list")
def template_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List every template, and where it comes from (a repo template hides the built-in)."""
    from incidentctl.templating.sandbox import available_templates

    root = workspace(ctx).repo.root
    templates = list(available_templates(root).values())
    if as_json:
        terminal.out_json(
            [
                {"name": t.name, "format": t.ext, "origin": t.origin, "path": t.display_path}
                for t in templates
            ]
        )
        return
    from incidentctl.cli.views.messages import short_path, template_table

    if terminal.stdout_is_tty():
        terminal.print_rich(template_table(templates, root))
    else:  # one line each, never wrapped, for grep and cut
        width = max((len(t.name) for t in templates), default=0)
        for t in templates:
            terminal.out(f"{t.name:<{width}}  {t.origin:<8}  {short_path(t, root)}")


@template_app.command("show")
def template_show(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            help="The template name, e.g. slack/declared.",
            autocompletion=complete.complete_template,
        ),
    ],
) -> None:
    """Print a template's source, exactly (copy it to templates/ to override it)."""
    from incidentctl.templating.sandbox import TemplateError, find_template

    source = find_template(name.strip().strip("/"), workspace(ctx).repo.root)
    try:
        text = source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{source.path}: cannot read template: {exc}") from None
    terminal.talk(f"{source.name} ({source.origin}): {source.display_path}")
    terminal.out(text)


# -- comms sent / list ------------------------------------------------------------------

comms_app = typer.Typer(help="Record and review what was communicated.", no_args_is_help=True)


@comms_app.command("sent")
def comms_sent(
    ctx: typer.Context,
    incident: IncidentArg,
    template: Annotated[
        str,
        typer.Argument(
            help="The template that was sent, e.g. email/customer.",
            autocompletion=complete.complete_template,
        ),
    ],
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            metavar="WHERE",
            help="Where it went (default: [comms] channel, the status page, or email).",
        ),
    ] = None,
    stage: StageOpt = None,
    settings: SetOpt = None,
    no_emoji: NoEmojiOpt = False,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a message went out (a communication_sent event), e.g. an email sent by hand."""
    from incidentctl.services.comms import parse_settings, record_communication, render_message

    ws = workspace(ctx)
    rendered = render_message(
        ws,
        template,
        incident,
        fmt=None,
        stage=stage,
        overrides=parse_settings(settings or []),
        emoji=False if no_emoji else None,
    )
    result = record_communication(ws, incident, rendered, channel=channel, at=at, by=by)
    publish(ctx, result, as_json)


@comms_app.command("list")
def comms_list(
    ctx: typer.Context,
    incident: IncidentArg,
    as_json: JsonOpt = False,
) -> None:
    """The messages recorded as sent for an incident, oldest first."""
    from incidentctl.services.lookup import find_incident

    state = find_incident(workspace(ctx), incident).incident.state
    records = [c.to_record() for c in state.communications]
    if as_json:
        terminal.out_json(records)
    elif records and terminal.stdout_is_tty():
        from incidentctl.cli.views.messages import communications_table

        terminal.print_rich(communications_table(records))
    elif records:  # one tab-separated line each, for scripts
        for r in records:
            fields = ("at", "template", "channel", "via", "author", "excerpt")
            terminal.out("\t".join(str(r.get(f, "")) for f in fields))
    else:
        terminal.talk(f"{state.human_id}: no communications recorded")


# -- outbox -----------------------------------------------------------------------------

outbox_app = typer.Typer(
    help="Messages waiting to be posted to Slack. Without a subcommand: list them.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@outbox_app.callback()
def outbox(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Messages waiting to be posted to Slack. Without a subcommand: list them."""
    if ctx.invoked_subcommand is not None:
        return
    from incidentctl.services.outbox import list_outbox

    items, bad = list_outbox(workspace(ctx))
    if as_json:
        terminal.out_json([item.to_dict() for item in items])
    elif items and terminal.stdout_is_tty():
        from incidentctl.cli.views.messages import outbox_table

        terminal.print_rich(outbox_table(items))
    elif items:  # one tab-separated line each, for scripts
        for item in items:
            data = item.to_dict()
            fields = (
                "id",
                "state",
                "destination",
                "incident",
                "template",
                "created_at",
                "attempts",
                "last_error",
            )
            terminal.out("\t".join(str(data[f]) for f in fields))
    else:
        terminal.talk("the outbox is empty")
    for problem in bad:
        terminal.warn(f"unreadable outbox file {problem.path}: {problem.problem}")
    if any(item.state == "in doubt" for item in items):
        terminal.talk(
            "hint: an 'in doubt' message may have reached Slack; check the channel, then "
            "incidentctl outbox flush --retry-in-doubt, or incidentctl outbox drop ID"
        )


@outbox_app.command("flush")
def outbox_flush(
    ctx: typer.Context,
    retry_in_doubt: Annotated[
        bool,
        typer.Option(
            "--retry-in-doubt",
            help="Also re-post the messages in doubt: sent once with no answer (a timeout, "
            "a reset, a killed flush). They may already be in the channel: check it first, "
            "or this may post them twice.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Post the queued messages, oldest first; each is posted at most once.

    A message not sent (no connection) or refused (an HTTP error) stays queued for the
    next flush. One sent with no answer is in doubt: kept, listed, never re-posted
    without --retry-in-doubt. Exit 4 when any message is left in the outbox."""
    from incidentctl.cli import report
    from incidentctl.services.announce import flush_outbox

    flushed = flush_outbox(workspace(ctx), retry_in_doubt=retry_in_doubt)
    if as_json:
        terminal.out_json(flushed.report.to_dict())
    for problem in flushed.report.problems:
        terminal.warn(f"unreadable outbox file {problem}")
    for d in flushed.report.deliveries:
        what = f"{d.id} ({d.incident} {d.template})"
        if d.outcome == "sent":
            terminal.talk(f"sent {what}")
            if d.recorded is not None:
                report.recorded(d.recorded, False)
            if d.record_error:
                terminal.warn(f"sent {d.id}, but recording it failed: {d.record_error}")
        elif d.outcome == "failed":
            terminal.error(
                f"{what}: {d.error}; still queued", "try again later: incidentctl outbox flush"
            )
        elif d.tried:
            terminal.error(f"{what}: {d.error}; in doubt, not sent again on its own")
        else:
            terminal.warn(f"{what} is in doubt ({d.error}); not re-posted")
    report.synced(flushed.synced)
    if not flushed.report.deliveries:
        terminal.talk("the outbox is empty; nothing to send")
    elif flushed.report.in_doubt:
        terminal.talk(
            "hint: check the channel, then: incidentctl outbox flush --retry-in-doubt, "
            "or incidentctl outbox drop ID"
        )
    report.finish(flushed)


@outbox_app.command("drop")
def outbox_drop(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(metavar="ID", help="The message ID (or a prefix).")],
) -> None:
    """Remove a message from the outbox without posting it."""
    from incidentctl.services.outbox import drop

    item = drop(workspace(ctx), message_id)
    terminal.talk(
        f"dropped {item.id} ({item.message.get('incident', '')} {item.message.get('template', '')})"
    )


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Communicate")(render)
    app.add_typer(template_app, name="template", rich_help_panel="Communicate")
    app.add_typer(comms_app, name="comms", rich_help_panel="Communicate")
    app.add_typer(outbox_app, name="outbox", rich_help_panel="Communicate")
