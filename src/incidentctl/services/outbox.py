"""Posting messages to a Slack incoming webhook, through the outbox.

`--post` queues the message and then flushes just that one; `outbox flush` sends
whatever is still queued. Each message is posted at most once on its own: it is
marked in flight (renamed `.sending`, fsynced) before the request, and deleted
after a 2xx. A flush that dies between the two leaves it "in doubt": Slack may or
may not have it, so it is listed and re-sent only with `--retry-in-doubt`. That
trades a possible lost message, which a person can see and resend, for never
posting a message twice, which no one can take back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from incidentctl.errors import IncidentctlError, NotFoundError
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.services.comms import Rendered
    from incidentctl.services.record import RecordResult
    from incidentctl.store.outbox import Outbox, OutboxEntry, UnreadableEntry

VIA_WEBHOOK = "slack-webhook"


@dataclass
class Delivery:
    """What happened to one message in a flush."""

    id: str
    incident: str
    template: str
    outcome: str  # "sent", "failed" or "in doubt"
    error: str = ""
    attempts: int = 0
    recorded: RecordResult | None = None
    record_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident,
            "template": self.template,
            "outcome": self.outcome,
            "error": self.error,
            "attempts": self.attempts,
            "recorded": [r.to_dict() for r in self.recorded.recorded] if self.recorded else [],
            "record_error": self.record_error,
        }


@dataclass
class FlushReport:
    deliveries: list[Delivery] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome == "sent"]

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome == "failed"]

    @property
    def in_doubt(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.outcome == "in doubt"]

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
            "incident": m.get("incident", ""),
            "template": m.get("template", ""),
            "channel": m.get("channel", ""),
            "created_at": m.get("created_at", ""),
            "attempts": m.get("attempts", 0),
            "last_error": m.get("last_error", ""),
            "record": bool(m.get("record")),
            "excerpt": m.get("excerpt", ""),
        }


def _outbox(ws: Workspace) -> Outbox:
    from incidentctl.store.outbox import Outbox

    return Outbox(ws.repo.git_dir)


def enqueue(
    ws: Workspace, rendered: Rendered, *, record: bool, by: str | None = None
) -> dict[str, Any]:
    """Queue a Slack-format message (slack or blocks) for posting."""
    from incidentctl.domain.timeparse import iso
    from incidentctl.domain.ulid import new_ulid
    from incidentctl.services.comms import default_channel, slack_payload

    current = ws.now()
    message = {
        "id": new_ulid(current),
        "created_at": iso(current),
        "incident": rendered.incident,
        "uid": rendered.uid,
        "template": rendered.template,
        "stage": rendered.stage,
        "format": rendered.format,
        "channel": default_channel(ws, rendered.template),
        "payload": slack_payload(rendered),
        "digest": rendered.digest,
        "excerpt": rendered.excerpt,
        "record": record,
        "by": by or "",
        "attempts": 0,
        "last_error": "",
    }
    _outbox(ws).add(message)
    return message


def post_now(ws: Workspace, rendered: Rendered, *, record: bool, by: str | None = None) -> Delivery:
    """--post: queue the message, then flush only it. A failure leaves it queued."""
    from incidentctl.services.comms import webhook_url

    webhook_url(ws)  # refuse before queueing anything if there is nowhere to post
    message = enqueue(ws, rendered, record=record, by=by)
    report = flush(ws, only=message["id"])
    if report.deliveries:
        return report.deliveries[0]
    # gone from the outbox before we got the lock: a concurrent flush posted it (a
    # failed or interrupted post would have left it there, queued or in doubt)
    return Delivery(message["id"], rendered.incident, rendered.template, "sent")


def list_outbox(ws: Workspace) -> tuple[list[OutboxItem], list[UnreadableEntry]]:
    entries, bad = _outbox(ws).entries()
    items = [OutboxItem(e.id, "in doubt" if e.in_doubt else "queued", e.message) for e in entries]
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
    return OutboxItem(entry.id, "in doubt" if entry.in_doubt else "queued", entry.message)


def flush(ws: Workspace, *, only: str | None = None, retry_in_doubt: bool = False) -> FlushReport:
    """Post every queued message (or just `only`), oldest first, each at most once."""
    from incidentctl.services.comms import webhook_url

    timeout = ws.config.comms.webhook_timeout.total_seconds() or 5.0
    box = _outbox(ws)
    report = FlushReport()
    if not box.dir.is_dir():
        return report
    with box.lock():
        entries, bad = box.entries()
        report.problems = [f"{b.path}: {b.problem}" for b in bad]
        entries = [e for e in entries if only is None or e.id == only]
        to_send = [e for e in entries if retry_in_doubt or not e.in_doubt]
        url = webhook_url(ws) if to_send else ""
        for entry in entries:
            if entry in to_send:
                report.deliveries.append(_send(ws, box, entry, url, timeout))
            else:
                report.deliveries.append(_delivery(entry, "in doubt"))
    return report


def _delivery(entry: OutboxEntry, outcome: str, error: str = "") -> Delivery:
    m = entry.message
    return Delivery(
        entry.id,
        str(m.get("incident", "")),
        str(m.get("template", "")),
        outcome,
        error or str(m.get("last_error", "")),
        int(m.get("attempts", 0)),
    )


def _send(ws: Workspace, box: Outbox, entry: OutboxEntry, url: str, timeout: float) -> Delivery:
    from incidentctl.domain.timeparse import iso

    if not entry.in_doubt:
        box.claim(entry)  # durable "in flight" mark before the request leaves
    message = entry.message
    message["attempts"] = int(message.get("attempts", 0)) + 1
    message["last_attempt_at"] = iso(ws.now())
    from incidentctl.adapters.webhook import PostFailed, post_json

    try:
        post_json(url, message.get("payload", {}), timeout)
    except PostFailed as exc:
        message["last_error"] = str(exc)
        box.release(entry)
        return _delivery(entry, "failed", str(exc))
    box.remove(entry)
    delivery = _delivery(entry, "sent")
    delivery.error = ""  # an earlier attempt's error is history now
    if message.get("record"):
        try:
            delivery.recorded = _record_delivery(ws, message)
        except IncidentctlError as exc:
            delivery.record_error = exc.message
    return delivery


def _record_delivery(ws: Workspace, message: dict[str, Any]) -> RecordResult:
    from incidentctl.services.comms import Rendered, record_communication

    payload = message.get("payload", {})
    text = payload.get("text", "") if isinstance(payload, dict) else ""
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
        channel=str(message.get("channel", "")) or None,
        via=VIA_WEBHOOK,
        by=str(message.get("by", "")) or None,
    )
