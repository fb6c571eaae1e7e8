"""Record, then announce: the one use case behind every event command and `render`.

After the events are committed: render the message the procedure calls for (from the
incident's state *after* the events), copy it, post it, record the communication, and
run the automatic sync once, after the last commit. The result says what happened;
the command prints it and nothing changes it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from incidentctl.errors import ExitCode, IncidentctlError
from incidentctl.services.outcome import Outcome, Problem

if TYPE_CHECKING:
    from incidentctl.services.comms import Rendered
    from incidentctl.services.outbox import Delivery, FlushReport
    from incidentctl.services.record import RecordResult
    from incidentctl.services.sync import AutoSync
    from incidentctl.services.workspace import Workspace


@dataclass
class MessageRequest:
    """What to do with a message besides printing it: the message flags of a command."""

    copy: bool = False
    post: bool = False
    record: bool = False
    no_emoji: bool = False
    by: str | None = None
    at: str | None = None  # when the communication happened, for --record without --post
    page: bool = False  # declare --page: trigger the severity's page list
    pager: str = ""  # "acknowledge" (ack) or "resolve": follow a page up, if there was one
    drill: bool = False  # a drill's --post goes to [drills] webhook, or nowhere

    @property
    def emoji(self) -> bool | None:
        return False if self.no_emoji else None

    def check(self, ws: Workspace) -> None:
        """Refuse, before anything is committed, what could not be carried out."""
        if self.drill and self.page:
            from incidentctl.services.delivery import refuse_drill

            refuse_drill(True, "the incident")
        if self.post and not self.drill:
            from incidentctl.services.posting import check_slack_bot, slack_bot

            if slack_bot(ws):  # the bot (the Web API) posts it: its table must be right
                check_slack_bot(ws)
            else:
                from incidentctl.services.comms import webhook_url

                webhook_url(ws)
        if self.page or (self.pager and ws.config.pagerduty is not None):
            from incidentctl.services.destinations import settings_for

            settings_for(ws, "pagerduty")  # a bad [pagerduty]: exit 2, nothing recorded
        if self.record and not self.post and self.at is not None:
            from incidentctl.services.record import when

            when(ws, self.at)


@dataclass
class Published(Outcome):
    """What an event command (or `render`) did after its events were committed."""

    record: RecordResult | None = None  # the command's own events, as true after the sync
    rendered: Rendered | None = None
    copied_via: str = ""  # "xclip", "osc52", ...: set once the text is on the clipboard
    delivery: Delivery | None = None  # the --post outcome
    communication: RecordResult | None = None  # the communication_sent event
    synced: AutoSync | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pages: list[Delivery] = field(default_factory=list)  # declare --page, ack, resolve
    notes: list[str] = field(default_factory=list)  # what was paged, for the user
    others: list[Delivery] = field(default_factory=list)  # the bot's war room, chat.update

    @property
    def recorded(self) -> list[RecordResult]:
        """Every commit this command made, in order."""
        return [r for r in (self.record, self.communication) if r is not None and r.recorded]

    @property
    def exit_status(self) -> ExitCode:
        """A message left in the outbox (queued or in doubt) makes it PENDING (4), over
        any other problem after the commit: the events stand and the message will go
        (or waits for a person), so running the command again would record twice and
        post twice. Otherwise the problems decide (0 without any)."""
        status = super().exit_status
        if self.delivery is not None and self.delivery.pending:
            return max(status, ExitCode.PENDING)
        if any(d.pending for d in self.pages + self.others):
            return max(status, ExitCode.PENDING)
        return status


def publish(
    ws: Workspace,
    record: RecordResult | None,
    *,
    template: str | None = None,
    request: MessageRequest | None = None,
    rendered: Rendered | None = None,
    render_args: dict[str, Any] | None = None,
) -> Published:
    """After `record` was committed: announce it through `template` (rendered from the
    state after the events) or the already `rendered` message, as `request` asks; then
    sync once ([sync] mode = "auto"). Never raises for what happens after the commit:
    the events stand, and every later failure is a problem in the result."""
    request = request or MessageRequest()
    out = Published(record, rendered)
    announcing = template is not None or rendered is not None
    records_communication = announcing and request.record
    if record is not None and not records_communication:
        # the last commit is the event: sync now, so the message carries the ID that stands
        _sync(ws, out)
    if template is not None and out.record is not None:
        out.rendered = _render(ws, out.record, template, request, out)
        render_args = {"emoji": request.emoji}
    if out.rendered is not None:
        _deliver(ws, out, out.rendered, render_args or {}, request)
    if out.record is not None and (request.page or request.pager):
        _page(ws, out, request)
    if records_communication:
        _sync(ws, out)
    return out


def _page(ws: Workspace, out: Published, request: MessageRequest) -> None:
    """declare --page: trigger the page list; ack/resolve: acknowledge or resolve
    the pages the incident had. Never raises: the events stand."""
    from incidentctl.services import integrations

    state = out.record.state
    try:
        if request.page:
            sent = integrations.page(ws, state.uid, [], by=request.by, state=state)
        else:
            sent = integrations.follow_up(ws, state, request.pager, by=request.by)
    except IncidentctlError as exc:
        out.problems.append(Problem.of(exc))
        return
    out.pages = sent.deliveries
    out.problems += sent.problems
    for d in sent.deliveries:
        if d.outcome == "sent":
            out.notes.append(f"PagerDuty: {d.summary} delivered")


def _render(
    ws: Workspace, record: RecordResult, template: str, request: MessageRequest, out: Published
) -> Rendered | None:
    from incidentctl.services.comms import render_for_state

    try:
        return render_for_state(ws, record.state, template, fmt="slack", emoji=request.emoji)
    except IncidentctlError as exc:
        state = record.state
        out.problems.append(
            Problem(
                exc.message,
                f"{state.human_id}: the event was recorded; fix the template, "
                f"then: incidentctl render {template} {state.human_id}",
                exc.exit_code,
            )
        )
        return None


def _deliver(
    ws: Workspace,
    out: Published,
    rendered: Rendered,
    render_args: dict[str, Any],
    request: MessageRequest,
) -> None:
    """Copy, post and record one message, each as asked."""
    if request.copy:
        from incidentctl.adapters.clipboard import ClipboardError, copy_text

        try:
            out.copied_via = copy_text(rendered.paste_text)
        except ClipboardError as exc:
            out.problems.append(Problem.of(exc))
    state = out.record.state if out.record is not None else None
    if request.post and state is not None and state.drill:
        _deliver_drill(ws, out, rendered, render_args, request)
        return
    if request.post:
        from incidentctl.services.posting import slack_bot

        if slack_bot(ws):
            _post_as_bot(ws, out, rendered, render_args, request)
            return
        from incidentctl.services.comms import for_slack
        from incidentctl.services.outbox import post_now

        try:
            slack = for_slack(ws, rendered, rendered.uid, **render_args)
            out.delivery = delivery = post_now(
                ws, slack, record=request.record, by=request.by, state=state
            )
        except IncidentctlError as exc:
            out.problems.append(Problem.of(exc))
            return
        if delivery.outcome == "sent":
            out.communication = delivery.recorded
            if delivery.record_error:
                out.warnings.append(f"posted, but recording it failed: {delivery.record_error}")
        elif delivery.outcome == "in doubt":
            out.problems.append(
                Problem(
                    f"posting {rendered.template} to Slack is in doubt ({delivery.error}); "
                    f"it stays in the outbox as {delivery.id} and is not sent again on its own",
                    f"check the channel: if it is there, incidentctl outbox drop {delivery.id}; "
                    "if not, incidentctl outbox flush --retry-in-doubt",
                    ExitCode.PENDING,
                )
            )
        else:
            out.problems.append(
                Problem(
                    f"posting {rendered.template} to Slack failed ({delivery.error}); "
                    f"it is queued in the outbox as {delivery.id}",
                    "send it later with: incidentctl outbox flush (not by running this "
                    "command again)",
                    ExitCode.PENDING,
                )
            )
    elif request.record:
        from incidentctl.services.comms import record_communication

        try:
            out.communication = record_communication(
                ws, rendered.uid, rendered, at=request.at, by=request.by
            )
        except IncidentctlError as exc:
            out.problems.append(Problem.of(exc))


def _post_as_bot(
    ws: Workspace,
    out: Published,
    rendered: Rendered,
    render_args: dict[str, Any],
    request: MessageRequest,
) -> None:
    """--post with a Slack bot token: the bot posts it (services/posting.py); the
    declaration also opens the war room, the resolution also rewrites the declaration."""
    from incidentctl.services.comms import for_slack
    from incidentctl.services.posting import post_slack

    try:
        slack = for_slack(ws, rendered, rendered.uid, **render_args)
        state = out.record.state if out.record is not None else None
        sent = post_slack(ws, slack, state=state, record=request.record, by=request.by)
    except IncidentctlError as exc:
        out.problems.append(Problem.of(exc))
        return
    main = [d for d in sent.deliveries if d.template == slack.template]
    out.delivery = main[0] if main else None
    out.others += [d for d in sent.deliveries if d is not out.delivery]
    out.problems += sent.problems
    if out.delivery is not None and out.delivery.outcome == "sent":
        out.communication = out.delivery.recorded if request.record else None
    for d in sent.deliveries:
        if d.outcome == "sent":
            out.notes.append(f"Slack: {d.summary}")


def _deliver_drill(
    ws: Workspace,
    out: Published,
    rendered: Rendered,
    render_args: dict[str, Any],
    request: MessageRequest,
) -> None:
    """--post of a drill: only to [drills] webhook, straight (no outbox: a lost drill
    message is not worth a retry); without one, not posted, and the result says so."""
    from incidentctl.services.drills import post_drill

    try:
        said = post_drill(ws, rendered, render_args, record=request.record, by=request.by)
    except IncidentctlError as exc:
        out.problems.append(Problem.of(exc))
        return
    out.warnings.append(said.note)
    if said.recorded is not None:
        out.communication = said.recorded


def _sync(ws: Workspace, out: Published) -> None:
    from incidentctl.services.sync import sync_after_recording

    if not out.recorded:
        return
    out.synced = synced = sync_after_recording(ws, out.recorded)
    if synced is not None:  # the records as true after the sync, in the same order
        fresh = iter(synced.records)
        if out.record is not None and out.record.recorded:
            out.record = next(fresh)
        if out.communication is not None and out.communication.recorded:
            out.communication = next(fresh)


@dataclass
class Flushed(Outcome):
    """`outbox flush`: what each queued message did, and the one sync after the
    communications it recorded. A message left in the outbox, failed (queued again)
    or in doubt, makes it PENDING (4), like a command whose --post did not go out."""

    report: FlushReport
    synced: AutoSync | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def exit_status(self) -> ExitCode:
        if self.report.failed or self.report.in_doubt:
            return max(ExitCode.PENDING, super().exit_status)
        return super().exit_status


def flush_outbox(ws: Workspace, *, retry_in_doubt: bool = False) -> Flushed:
    from incidentctl.services.outbox import flush
    from incidentctl.services.sync import sync_after_recording

    report = flush(ws, retry_in_doubt=retry_in_doubt)
    recorded = [d.recorded for d in report.deliveries if d.recorded is not None]
    return Flushed(report, sync_after_recording(ws, recorded) if recorded else None)
