"""Delivering to the destinations (adapters/destinations/), through the outbox.

A command builds `Job`s, `prepare()` turns each into the exact request (refusing a
bad configuration, exit 2, before anything is recorded or sent), `deliver()` queues
the requests in the outbox and flushes just those: each ends delivered, failed (queued
again, retried by `outbox flush`) or in doubt (kept; resent on its own only where the
destination says that is safe, or where it can check that it did not arrive).

Every delivered request is recorded: the destination's own events (`paged`,
`statuspage_linked`, `slack_posted`) and, for a rendered message, a
`communication_sent` event with the destination as `via` and its audience. A page is
recorded whatever its outcome on its first try, so the review sees a page that failed.

Drills never reach a real destination: `deliver()` refuses a drill's jobs before
anything is queued (exit 2, nothing recorded or sent; a drill's messages go only to
`[drills] webhook`, services/drills.py), and an entry marked `drill` that reached the
outbox some other way is refused again in `send_entry` (`DRILL_GUARD`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from incidentctl.services.destinations import (
    IntegrationConfigError,
    configured,
    secret_lookup,
    settings_for,
)

if TYPE_CHECKING:
    from incidentctl.adapters.destinations import Job, Prepared
    from incidentctl.services.outbox import Delivery
    from incidentctl.services.workspace import Workspace

__all__ = ["IntegrationConfigError", "configured", "secret_lookup", "settings_for"]


def prepare(ws: Workspace, name: str, job: Job) -> Prepared:
    """The exact request for `job`. A request the destination cannot build (no
    recipient, a bad --to) is bad usage."""
    from incidentctl.errors import UsageError

    dest, settings = settings_for(ws, name)
    try:
        return dest.prepare(job, settings)
    except ValueError as exc:
        raise UsageError(
            f"{dest.label}: {exc}", hint=f"see [{dest.section}] in docs/integrations.md"
        ) from None


def refuse_drill(drill: bool, human_id: str) -> None:
    """A drill never pages, posts to the status page or Slack bot, or emails."""
    if drill:
        from incidentctl.errors import UsageError

        raise UsageError(
            f"{human_id} is a drill: drills never page, post or email real destinations",
            hint="a drill's messages go only to [drills] webhook (docs/drills.md)",
        )


def dry_run(ws: Workspace, prepared: list[Prepared]) -> list[str]:
    """The exact requests, secrets masked; nothing is queued or sent."""
    texts = []
    for p in prepared:
        dest, settings = settings_for(ws, p.destination, check=False)
        texts.append(dest.dry_run(p, settings, secret_lookup(ws)))
    return texts


def enqueue(
    ws: Workspace,
    prepared: Prepared,
    job: Job,
    *,
    by: str | None = None,
    communication: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Queue one prepared request in the outbox. `communication` (template, stage,
    channel, excerpt, digest) makes its delivery a `communication_sent` event too."""
    from incidentctl.domain.timeparse import iso
    from incidentctl.store.outbox import Outbox

    current = ws.now()
    box = Outbox(ws.repo.git_dir)
    message = {
        "id": job.event_id or next_id(box, current),
        "created_at": iso(current),
        "destination": prepared.destination,
        "incident": job.state.human_id,
        "uid": job.state.uid,
        "template": job.template or f"{prepared.destination}/{prepared.action}",
        "summary": prepared.summary,
        "stage": job.stage,
        "prepared": prepared.to_dict(),
        "communication": communication or {},
        "record": True,
        "by": by or "",
        "attempts": 0,
        "last_error": "",
        "drill": bool(job.state.drill),
    }
    box.add(message)
    return message


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def next_id(box: Any, current: Any) -> str:
    """A ULID for a new outbox entry that sorts after every entry already there: the
    outbox sends oldest first by ID, and two entries made in the same millisecond (or
    under a pinned clock) must still go in the order they were queued."""
    return next_ids(box, current, 1)[0]


def next_ids(box: Any, current: Any, count: int) -> list[str]:
    """`count` ULIDs for entries queued together, in order, each after every entry
    already in the outbox and after the one before it."""
    from incidentctl.domain.ulid import new_ulid

    entries, _bad = box.entries()
    latest = max((e.id for e in entries), default="")
    ids: list[str] = []
    for _ in range(count):
        candidate = new_ulid(current)
        latest = candidate if candidate > latest else _successor(latest)
        ids.append(latest)
    return ids


def _successor(ulid: str) -> str:
    digits = list(ulid)
    for i in range(len(digits) - 1, -1, -1):
        n = _CROCKFORD.index(digits[i]) + 1
        if n < len(_CROCKFORD):
            digits[i] = _CROCKFORD[n]
            break
        digits[i] = "0"
    return "".join(digits)


@dataclass
class DeliverReport:
    deliveries: list[Delivery] = field(default_factory=list)
    dry_run: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.pending]


def deliver(
    ws: Workspace,
    jobs: list[tuple[Prepared, Job, dict[str, Any] | None]],
    *,
    by: str | None = None,
) -> DeliverReport:
    """Queue each (prepared, job, communication) and flush just those, in order."""
    from incidentctl.services.outbox import flush

    for _prepared, job, _communication in jobs:
        refuse_drill(job.state.drill, job.state.human_id)

    ids = [enqueue(ws, p, j, by=by, communication=c)["id"] for p, j, c in jobs]
    report = flush(ws, only=set(ids))
    by_id = {d.id: d for d in report.deliveries}
    out = DeliverReport()
    for message_id in ids:
        if message_id in by_id:
            out.deliveries.append(by_id[message_id])
    return out
