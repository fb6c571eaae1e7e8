"""Posting messages to a Slack incoming webhook, through the outbox.

`--post` queues the message and then flushes just that one; `outbox flush` sends
whatever is still queued. Each post ends in one of three outcomes
(adapters/webhook.py tells them apart):

- sent: a 2xx came back; the message leaves the outbox (and is recorded, if asked);
- failed: it was not sent (no connection, a bad URL) or was answered with a refusal
  (4xx, 5xx but 502/504); nothing reached the channel, so it is queued again and the
  next flush retries it;
- in doubt: it was sent and no answer came back (a read timeout, a reset, a flush
  killed mid-post, a gateway's 502/504). Slack may or may not have it, so it is
  listed and re-sent only with `--retry-in-doubt`.

A message is marked in flight (written `.sending`, fsynced) before the request, so
even a killed flush leaves it in doubt rather than queued. That trades a possible
lost message, which a person can see and resend, for never posting a message twice,
which no one can take back.

A message keeps the text (and the times) it was rendered with. Sent a minute or more
after it was queued, it says so: a last line "(queued at 14:23 UTC, sent late at
14:50 UTC)", and a "Next update" time that has passed by then reads "was due 14:45
UTC (this message was sent late)" instead of a promise in the past.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incidentctl.errors import IncidentctlError, NotFoundError
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.adapters.destinations import Destination, Prepared, Result
    from incidentctl.domain.incident import IncidentState
    from incidentctl.services.comms import Rendered
    from incidentctl.services.record import RecordResult
    from incidentctl.store.outbox import Outbox, OutboxEntry, UnreadableEntry

VIA_WEBHOOK = "slack-webhook"
LATE_AFTER_SECONDS = 60  # sent this long after it was queued, a message says so
SENT = "sent"
FAILED = "failed"
IN_DOUBT = "in doubt"
INTERRUPTED = "a flush stopped while posting it"


@dataclass
class Delivery:
    """What happened to one message in a flush."""

    id: str
    incident: str
    template: str
    outcome: str  # "sent", "failed" (not sent, or refused: retried) or "in doubt"
    error: str = ""
    attempts: int = 0
    recorded: RecordResult | None = None
    record_error: str = ""
    late: bool = False  # sent a minute or more after it was queued, and said so
    tried: bool = False  # posted in this flush (an in-doubt message skipped is not)
    destination: str = VIA_WEBHOOK
    response: dict[str, Any] = field(default_factory=dict)  # what the destination answered
    summary: str = ""  # the request in a few words: "trigger On-call SRE"

    @property
    def pending(self) -> bool:
        """Still in the outbox: queued for the next flush, or in doubt."""
        return self.outcome != SENT

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "destination": self.destination,
            "incident": self.incident,
            "template": self.template,
            "outcome": self.outcome,
            "error": self.error,
            "attempts": self.attempts,
            "recorded": [r.to_dict() for r in self.recorded.recorded] if self.recorded else [],
            "record_error": self.record_error,
            "late": self.late,
        }


@dataclass
class FlushReport:
    deliveries: list[Delivery] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome == SENT]

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome == FAILED]

    @property
    def in_doubt(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome == IN_DOUBT]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": len(self.sent),
            "failed": len(self.failed),
            "in_doubt": len(self.in_doubt),
            "messages": [d.to_dict() for d in self.deliveries],
            "problems": list(self.problems),
        }


@dataclass
class OutboxItem:
    id: str
    state: str  # "queued" or "in doubt"
    message: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        m = self.message
        return {
            "id": self.id,
            "state": self.state,
            "destination": m.get("destination") or VIA_WEBHOOK,
            "summary": m.get("summary", ""),
            "incident": m.get("incident", ""),
            "template": m.get("template", ""),
            "channel": m.get("channel", ""),
            "created_at": m.get("created_at", ""),
            "attempts": m.get("attempts", 0),
            "last_error": m.get("last_error", "")
            or (INTERRUPTED if self.state == IN_DOUBT else ""),
            "record": bool(m.get("record")),
            "excerpt": m.get("excerpt", ""),
        }


def _outbox(ws: Workspace) -> Outbox:
    from incidentctl.store.outbox import Outbox

    return Outbox(ws.repo.git_dir)


def enqueue(
    ws: Workspace,
    rendered: Rendered,
    *,
    record: bool,
    by: str | None = None,
    state: IncidentState | None = None,
) -> dict[str, Any]:
    """Queue a Slack-format message (slack or blocks) for posting. It goes to the
    Slack channel of the webhook, whatever the template's family: a status-page text
    posted to Slack reached the team, not the customers. `state` (the incident the
    message was rendered from; else looked up) gives the "Next update" time the text
    promises, so a late send can tell it has passed."""
    from incidentctl.domain.timeparse import iso
    from incidentctl.domain.ulid import new_ulid
    from incidentctl.services.comms import slack_payload

    current = ws.now()
    next_at = _next_update_at(ws, state, rendered.uid, current)
    message = {
        "id": new_ulid(current),
        "created_at": iso(current),
        "incident": rendered.incident,
        "uid": rendered.uid,
        "template": rendered.template,
        "stage": rendered.stage,
        "format": rendered.format,
        "channel": ws.config.comms.channel,
        "payload": slack_payload(rendered),
        "digest": rendered.digest,
        "excerpt": rendered.excerpt,
        "record": record,
        "by": by or "",
        "attempts": 0,
        "last_error": "",
        "next_update_at": iso(next_at) if next_at else "",
    }
    _outbox(ws).add(message)
    return message


def _next_update_at(
    ws: Workspace, state: IncidentState | None, uid: str, current: datetime
) -> datetime | None:
    """When the message's "Next update" falls, as rendered now (services/comms.py)."""
    from incidentctl.services.comms import next_update_for

    if state is None:
        from incidentctl.services.lookup import find_incident

        try:
            state = find_incident(ws, uid).incident.state
        except IncidentctlError:
            return None
    return next_update_for(ws, state, current)


def post_now(
    ws: Workspace,
    rendered: Rendered,
    *,
    record: bool,
    by: str | None = None,
    state: IncidentState | None = None,
) -> Delivery:
    """--post: queue the message, then flush only it. A failure leaves it queued, a
    post with no answer in doubt."""
    from incidentctl.services.comms import webhook_url

    webhook_url(ws)  # refuse before queueing anything if there is nowhere to post
    message = enqueue(ws, rendered, record=record, by=by, state=state)
    report = flush(ws, only=message["id"])
    if report.deliveries:
        return report.deliveries[0]
    # gone from the outbox before we got the lock: a concurrent flush posted it (a
    # failed or interrupted post would have left it there, queued or in doubt)
    return Delivery(message["id"], rendered.incident, rendered.template, SENT)


def list_outbox(ws: Workspace) -> tuple[list[OutboxItem], list[UnreadableEntry]]:
    entries, bad = _outbox(ws).entries()
    items = [OutboxItem(e.id, IN_DOUBT if e.in_doubt else "queued", e.message) for e in entries]
    return items, bad


def drop(ws: Workspace, message_id: str) -> OutboxItem:
    """Remove one message (queued or in doubt) without posting it."""
    box = _outbox(ws)
    with box.lock():
        entries, _bad = box.entries()
        matches = [e for e in entries if e.id.startswith(message_id.strip().upper())]
        if len(matches) != 1 or not message_id.strip():
            raise NotFoundError(
                f"no outbox message {message_id!r}"
                if not matches
                else f"{message_id!r} matches {len(matches)} messages",
                hint="see them with: incidentctl outbox",
            )
        entry = matches[0]
        box.remove(entry)
    return OutboxItem(entry.id, IN_DOUBT if entry.in_doubt else "queued", entry.message)


def flush(
    ws: Workspace, *, only: str | set[str] | None = None, retry_in_doubt: bool = False
) -> FlushReport:
    """Send every queued message (or just `only`: an ID or a set of them), oldest
    first, each at most once. An in-doubt entry is sent again with `retry_in_doubt`,
    or when its destination says that is safe (it deduplicates) or finds it did not
    arrive (services/delivery.py). Entries of one stream (a PagerDuty dedup key) go
    in order: one left pending holds the later ones of its stream."""
    from incidentctl.services.comms import webhook_url

    timeout = ws.config.comms.webhook_timeout.total_seconds() or 5.0
    box = _outbox(ws)
    report = FlushReport()
    if not box.dir.is_dir():
        return report
    wanted = {only} if isinstance(only, str) else only
    with box.lock():
        entries, bad = box.entries()
        report.problems = [f"{b.path}: {b.problem}" for b in bad]
        held: set[str] = set()  # streams with an entry left pending in this flush
        url = ""
        for entry in entries:
            stream = _stream(entry)
            if wanted is not None and entry.id not in wanted:
                if stream:  # an older entry of the stream is still waiting: so do these
                    held.add(stream)
                continue
            if stream and stream in held:
                delivery = _delivery(entry, IN_DOUBT if entry.in_doubt else FAILED)
                delivery.error = "waits for an earlier message of the same page or post"
            elif _destination(entry) != VIA_WEBHOOK:
                delivery = send_entry(ws, box, entry, resend=retry_in_doubt)
            elif retry_in_doubt or not entry.in_doubt:
                url = url or webhook_url(ws)
                delivery = _send(ws, box, entry, url, timeout)
            else:
                delivery = _delivery(entry, IN_DOUBT)
            if stream and delivery.pending:
                held.add(stream)
            report.deliveries.append(delivery)
    return report


def _destination(entry: OutboxEntry) -> str:
    return str(entry.message.get("destination") or VIA_WEBHOOK)


def _stream(entry: OutboxEntry) -> str:
    prepared = entry.message.get("prepared")
    if isinstance(prepared, dict) and prepared.get("stream"):
        return f"{_destination(entry)}:{prepared['stream']}"
    return ""


def _delivery(entry: OutboxEntry, outcome: str, error: str = "") -> Delivery:
    m = entry.message
    error = error or str(m.get("last_error", ""))
    if outcome == IN_DOUBT and not error:
        error = INTERRUPTED
    return Delivery(
        entry.id,
        str(m.get("incident", "")),
        str(m.get("template", "")),
        outcome,
        error,
        int(m.get("attempts", 0)),
        destination=_destination(entry),
        summary=str(m.get("summary", "")),
    )


def _send(ws: Workspace, box: Outbox, entry: OutboxEntry, url: str, timeout: float) -> Delivery:
    from incidentctl.adapters.webhook import PostFailed, post_json
    from incidentctl.domain.timeparse import iso

    current = ws.now()
    message = entry.message
    message["attempts"] = int(message.get("attempts", 0)) + 1
    message["last_attempt_at"] = iso(current)
    message["last_error"] = ""
    box.claim(entry)  # durable "in flight" mark before the request leaves
    payload, late = as_sent(ws, message, current)
    try:
        post_json(url, payload, timeout)
    except PostFailed as exc:
        message["last_error"] = str(exc)
        if exc.in_doubt:  # sent, no answer: it stays marked in flight
            box.keep_in_doubt(entry)
            delivery = _delivery(entry, IN_DOUBT, str(exc))
        else:
            box.release(entry)
            delivery = _delivery(entry, FAILED, str(exc))
        delivery.tried = True
        return delivery
    box.remove(entry)
    delivery = _delivery(entry, SENT)
    delivery.error = ""  # an earlier attempt's error is history now
    delivery.late, delivery.tried = late, True
    if message.get("record"):
        try:
            delivery.recorded = _record_delivery(ws, message, payload)
        except IncidentctlError as exc:
            delivery.record_error = exc.message
    return delivery


# -- a late message says so ---------------------------------------------------------------


def as_sent(ws: Workspace, message: dict[str, Any], current: datetime) -> tuple[dict, bool]:
    """The payload to post now, and whether it goes late. The text keeps the times it
    was rendered with; sent LATE_AFTER_SECONDS or more after it was queued, it gains
    the line "(queued at 14:23 UTC, sent late at 14:50 UTC)", and a "Next update"
    line whose time has passed says it was due then, instead of promising it."""
    import copy

    from incidentctl.domain.wording import clock_time

    payload = message.get("payload", {})
    payload = copy.deepcopy(payload) if isinstance(payload, dict) else {}
    queued = _instant(message.get("created_at"))
    if queued is None:
        return payload, False
    if (current - queued).total_seconds() < LATE_AFTER_SECONDS:
        return payload, False
    zone = ws.config.zone
    note = f"(queued at {clock_time(queued, zone)}, sent late at {clock_time(current, zone)})"
    next_at = _instant(message.get("next_update_at"))
    if next_at is not None and next_at <= current:
        _rewrite_texts(payload, _stale_next_update(clock_time(next_at, zone)))
    _add_note(payload, note)
    return payload, True


def _instant(value: Any) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(value or ""))
    except ValueError:
        return None
    return found if found.tzinfo else None


_NEXT_UPDATE = re.compile(r"next\s+update", re.IGNORECASE)


def _stale_next_update(worded: str) -> Callable[[str], str]:
    """A rewrite of the lines that promise the next update at `worded` ("14:45 UTC"):
    the time, and a "(in 22 minutes)" after it, become "was due 14:45 UTC (...)"."""
    promise = re.compile(re.escape(worded) + r"(?:\s*\([^)\n]*\))?")
    replacement = f"was due {worded} (this message was sent late)"

    def rewrite(text: str) -> str:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if _NEXT_UPDATE.search(line) and worded in line:
                lines[i] = promise.sub(lambda _m: replacement, line)
        return "\n".join(lines)

    return rewrite


def _rewrite_texts(node: Any, rewrite: Callable[[str], str]) -> None:
    """Apply `rewrite` to every "text" string of a payload: the fallback text and each
    Block Kit text object."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                node[key] = rewrite(value)
            else:
                _rewrite_texts(value, rewrite)
    elif isinstance(node, list):
        for item in node:
            _rewrite_texts(item, rewrite)


MAX_BLOCKS = 50  # Slack's limit for one message


def _add_note(payload: dict[str, Any], note: str) -> None:
    """The note as the message's last line (italic), and a context block for Block Kit."""
    text = payload.get("text")
    payload["text"] = (f"{text}\n\n" if isinstance(text, str) and text else "") + f"_{note}_"
    blocks = payload.get("blocks")
    if isinstance(blocks, list) and len(blocks) < MAX_BLOCKS:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{note}_"}]})


def _record_delivery(
    ws: Workspace, message: dict[str, Any], payload: dict[str, Any]
) -> RecordResult:
    """The communication_sent event of a delivered message, for the text as sent. A
    webhook post reached the Slack channel: the team, never the customers, whatever
    the template."""
    from incidentctl.services.comms import Rendered, record_communication

    text = payload.get("text", "")
    if message.get("format") == "blocks":
        text = json.dumps(payload, indent=2, ensure_ascii=False)
    rendered = Rendered(
        text=text,
        template=str(message.get("template", "")),
        format=str(message.get("format", "slack")),
        stage=str(message.get("stage", "")),
        incident=str(message.get("incident", "")),
        uid=str(message.get("uid", "")),
        source="",
        origin="",
    )
    return record_communication(
        ws,
        rendered.uid,
        rendered,
        channel=str(message.get("channel", "")) or ws.config.comms.channel,
        via=VIA_WEBHOOK,
        by=str(message.get("by", "")) or None,
    )


# -- the send path of an outbox entry (services/outbox.flush calls it) -----------------


DRILL_GUARD = "drills never send to real destinations (no drill destination is configured)"


def send_entry(ws: Workspace, box: Outbox, entry: OutboxEntry, *, resend: bool) -> Delivery:
    """Send one queued (or, with `resend`, in-doubt) entry and record what happened."""
    from incidentctl.adapters.destinations import DELIVERED, Prepared
    from incidentctl.adapters.destinations import IN_DOUBT as DOUBTFUL
    from incidentctl.domain.timeparse import iso

    message = entry.message
    prepared = Prepared.from_dict(message.get("prepared") or {})
    if message.get("drill"):  # issue 17: a drill destination would be chosen here
        return _delivery(entry, FAILED, DRILL_GUARD)
    from incidentctl.services.destinations import secret_lookup, settings_for

    try:
        dest, settings = settings_for(ws, prepared.destination)
    except (IncidentctlError, KeyError) as exc:
        problem = exc.message if isinstance(exc, IncidentctlError) else f"unknown {exc}"
        return _delivery(entry, IN_DOUBT if entry.in_doubt else FAILED, problem)
    secret = secret_lookup(ws)
    prepared = _bound(ws, dest, prepared, message)
    if entry.in_doubt and not resend and not dest.resend_safe:
        # a request that may have arrived: resent only when safe, or checked first
        arrived = dest.confirm(prepared, settings, secret)
        if arrived is None:
            return _delivery(entry, IN_DOUBT)
        if arrived:
            from incidentctl.adapters.destinations import Result

            return _delivered(ws, box, entry, dest, prepared, Result(DELIVERED, "found"))
    message["attempts"] = int(message.get("attempts", 0)) + 1
    message["last_attempt_at"] = iso(ws.now())
    message["last_error"] = ""
    box.claim(entry)  # durable "in flight" mark before the request leaves
    result = dest.send(prepared, settings, secret)
    if result.outcome == DELIVERED:
        return _delivered(ws, box, entry, dest, prepared, result)
    message["last_error"] = result.detail
    if result.outcome == DOUBTFUL:
        box.keep_in_doubt(entry)
        delivery = _delivery(entry, IN_DOUBT, result.detail)
    else:
        box.release(entry)
        delivery = _delivery(entry, FAILED, result.detail)
    delivery.tried = True
    if message["attempts"] == 1:  # a first try is recorded whatever became of it
        _record_safely(ws, entry, delivery, dest.events(prepared, result), None)
    return delivery


def _bound(
    ws: Workspace, dest: Destination, prepared: Prepared, message: dict[str, Any]
) -> Prepared:
    """The request bound to the incident as recorded now (Destination.bind): a status-page
    update queued before the create was delivered PATCHes what the create made. The
    bound request is kept in the entry, so a retry sends the same."""
    from incidentctl.services.lookup import find_incident

    try:
        state = find_incident(ws, str(message.get("uid") or message.get("incident"))).incident.state
    except IncidentctlError:
        return prepared
    bound = dest.bind(prepared, state)
    if bound is not prepared:
        message["prepared"] = bound.to_dict()
    return bound


def _delivered(
    ws: Workspace,
    box: Outbox,
    entry: OutboxEntry,
    dest: Destination,
    prepared: Prepared,
    result: Result,
) -> Delivery:

    box.remove(entry)
    delivery = _delivery(entry, SENT)
    delivery.error, delivery.tried = "", True
    delivery.response = dict(result.response)
    events = dest.events(prepared, result)
    communication = entry.message.get("communication") or {}
    _record_safely(ws, entry, delivery, events, communication or None, dest)
    return delivery


def _record_safely(
    ws: Workspace,
    entry: OutboxEntry,
    delivery: Delivery,
    events: list[dict[str, Any]],
    communication: dict[str, Any] | None,
    dest: Destination | None = None,
) -> None:
    if not events and not communication:
        return
    try:
        delivery.recorded = record_events(
            ws, entry.message, events, communication, dest, by=entry.message.get("by") or None
        )
    except IncidentctlError as exc:
        delivery.record_error = exc.message


def record_events(
    ws: Workspace,
    message: dict[str, Any],
    events: list[dict[str, Any]],
    communication: dict[str, Any] | None,
    dest: Destination | None,
    *,
    by: str | None,
):
    """Commit the events of one delivery: the destination's, then communication_sent."""
    from incidentctl.domain import events as ev
    from incidentctl.services.incidents import _fields, _record

    records = list(events)
    if communication and dest is not None:
        records.append(
            {
                "type": "communication_sent",
                "template": communication.get("template", ""),
                "channel": communication.get("channel", ""),
                "stage": communication.get("stage", ""),
                "audience": dest.audience,
                "via": dest.name,
                "excerpt": communication.get("excerpt", ""),
                "digest": communication.get("digest", ""),
            }
        )

    def build(loaded, base):
        planned = []
        for record in records:
            fields = dict(record)
            kind = fields.pop("type")
            event = ev._model_of(kind)(**_fields(base), **fields)
            planned.append((event, _subject(kind, fields), ""))
        return planned

    return _record(ws, str(message.get("uid") or message.get("incident")), None, by, build)


def _subject(kind: str, fields: dict[str, Any]) -> str:
    if kind == "paged":
        return f"paged {fields.get('target', '')}: {fields.get('action', '')} {fields['outcome']}"
    if kind == "communication_sent":
        where = fields.get("channel") or fields.get("via") or ""
        return f"sent {fields.get('template', '')}" + (f" to {where}" if where else "")
    return kind.replace("_", " ")
