"""The lifecycle an incident's timeline must follow. Pure.

An incident is declared, then open (investigating, identified, monitoring) until it is
resolved; a resolved incident can be reopened, and resolved again. Before an event is
written, its incident is folded with it in its `at` place (the fold order is
`(at, recorded_at, id)`, `state.py`), with any correction or retraction applied, and
`check` names the first way the timeline would become impossible:

- before the declaration, only notes: an earlier deploy, the ticket that came in, are
  timeline context and start no clock (the alert is the declaration's `detected_at`,
  which cannot be after it);
- an acknowledgement, a status change, a mitigation or a resolution needs the incident
  open: none may come after a resolution unless a reopening comes between, so a
  resolution cannot be dated before a mitigation, nor a second resolution before the
  reopening;
- only a resolved incident can be reopened;
- a status change, a mitigation that moves the status, a resolution or a reopening is
  the latest of them when it is recorded: dated back past a later one, the status it
  announces would not be the status the record holds. A correction may move one, but
  never past another.

A timeline an earlier version already wrote wrong keeps loading, and keeps taking new
events: only what a new event (or a correction, or a retraction) would make impossible
is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from incidentctl.domain import events as ev
from incidentctl.domain.corrections import corrected_view, is_retracted

# what may come before the declaration: timeline context, and the record's own
# bookkeeping (a correction or retraction is about the record, not the incident)
BEFORE_DECLARED = frozenset({"note_added", "corrected", "retracted", "renumbered"})
# what needs an open incident
OPEN_ONLY = frozenset({"acknowledged", "status_changed", "mitigated"})

_NAMES = {
    "declared": "the declaration",
    "acknowledged": "the acknowledgement",
    "mitigated": "the mitigation",
    "resolved": "the resolution",
    "reopened": "the reopening",
    "note_added": "the note",
    "severity_changed": "the severity change",
    "impact_changed": "the impact change",
    "role_assigned": "the role assignment",
    "escalated": "the escalation",
    "notified": "the notification",
    "communication_sent": "the communication",
    "paged": "the page",
    "pir_entry": "the review entry",
    "pir_scheduled": "the review scheduling",
    "pir_completed": "the review's completion",
    "action_added": "the action item",
    "action_updated": "the action item update",
    "runbook_step": "the runbook step",
}


@dataclass(frozen=True)
class Breach:
    """One way a timeline breaks the lifecycle: `first` comes before `then` in the fold
    order, and cannot."""

    rule: str  # before-declared, detected-after, needs-open, reopen-open, status-order
    first: ev.EventBase
    then: ev.EventBase
    why: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.first.id, self.then.id)

    def message(self, new: frozenset[str] = frozenset()) -> str:
        """One sentence naming both events and their times; `new` are the IDs of events
        not written yet (they have no ID to show)."""
        if self.rule == "detected-after":
            return (
                f"the detection at {stamp(self.first.detected_at)} "  # type: ignore[attr-defined]
                f"would come after the declaration at {stamp(self.first.at)}: {self.why}"
            )
        return (
            f"{describe(self.first, new)} at {stamp(self.first.at)} would come before "
            f"{describe(self.then, new)} at {stamp(self.then.at)}: {self.why}"
        )


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC" if at.second else "%Y-%m-%d %H:%M UTC")


def name(e: ev.EventBase) -> str:
    """What the event is, in words: "the mitigation", "the status change to identified"."""
    if isinstance(e, ev.StatusChanged):
        return f"the status change to {e.status}"
    return _NAMES.get(e.type, f"the {e.type} event")


def describe(e: ev.EventBase, new: frozenset[str] = frozenset()) -> str:
    """Its name, and the start of its ID if it is in the record (`new` are not yet)."""
    return name(e) if e.id in new else f"{name(e)} {e.id[:12]}"


def _resolves(e: ev.EventBase) -> bool:
    return isinstance(e, ev.Resolved) or (
        isinstance(e, ev.StatusChanged) and e.status == "resolved"
    )


def sets_status(e: ev.EventBase) -> bool:
    """Whether `e` moves the incident's status."""
    if isinstance(e, ev.Mitigated):
        return bool(e.status)
    return isinstance(e, ev.StatusChanged | ev.Resolved | ev.Reopened)


def live_events(events: Iterable[ev.EventBase]) -> list[ev.EventBase]:
    """The events as the fold applies them: corrected, in order, retracted ones out."""
    ordered, amended = corrected_view(sorted(events, key=lambda e: e.sort_key()))
    return [e for e in ordered if not is_retracted(amended, e.id)]


def breaches(events: Iterable[ev.EventBase]) -> list[Breach]:
    """Every way this timeline breaks the lifecycle, in fold order."""
    live = live_events(events)
    declared = next((e for e in live if isinstance(e, ev.Declared)), None)
    if declared is None:
        return []  # the fold refuses it with its own error
    out: list[Breach] = []
    if declared.detected_at is not None and declared.detected_at > declared.at:
        out.append(
            Breach("detected-after", declared, declared, "the alert comes before the declaration")
        )
    before = True
    opened: ev.EventBase = declared
    closed: ev.EventBase | None = None
    for i, e in enumerate(live):
        if e is declared:
            before = False
            continue
        if before:
            if e.type not in BEFORE_DECLARED:
                out.append(
                    Breach(
                        "before-declared",
                        e,
                        declared,
                        "only notes can come before the declaration",
                    )
                )
            continue
        if isinstance(e, ev.Reopened):
            if closed is None:
                out.append(_reopen_open(opened, e, live[i + 1 :]))
            closed, opened = None, e
        elif _resolves(e) or e.type in OPEN_ONLY:
            if closed is not None:
                out.append(_needs_open(closed, e, live[i + 1 :]))
            elif _resolves(e):
                closed = e
    return out


def _needs_open(closed: ev.EventBase, e: ev.EventBase, later: list[ev.EventBase]) -> Breach:
    what = name(e)
    reopening = next((x for x in later if isinstance(x, ev.Reopened)), None)
    if reopening is not None:
        # it belongs after the reopening: name the two the user has to put in order
        why = f"{what} needs an open incident, and it is resolved until the reopening"
        return Breach("needs-open", e, reopening, why)
    return Breach("needs-open", closed, e, f"{what} needs an open incident")


def _reopen_open(opened: ev.EventBase, e: ev.EventBase, later: list[ev.EventBase]) -> Breach:
    why = "only a resolved incident can be reopened"
    resolution = next((x for x in later if _resolves(x)), None)
    if resolution is not None:  # it belongs after that resolution
        return Breach("reopen-open", e, resolution, why)
    return Breach("reopen-open", opened, e, why)


def _status_order(
    before: list[ev.EventBase], after: list[ev.EventBase], new: frozenset[str]
) -> Breach | None:
    """The status changes keep the order they had, and a new one comes last."""
    setters = [e for e in after if sets_status(e)]
    live = {e.id for e in setters}
    expected = [e.id for e in before if sets_status(e) and e.id in live]
    expected += [e.id for e in setters if e.id in new]
    by_id = {e.id: e for e in setters}
    for want, got in zip(expected, setters, strict=False):
        if want != got.id:  # `got` now comes before `want`, which it used to follow
            why = "a status change cannot be dated back past a later one"
            return Breach("status-order", got, by_id[want], why)
    return None


def check(
    before: Iterable[ev.EventBase], after: Iterable[ev.EventBase], new: Iterable[str]
) -> Breach | None:
    """The first breach of the lifecycle that `after` (the timeline with the new events
    `new`, by ID) has and `before` had not; None when the new events may stand."""
    before, after, new_ids = list(before), list(after), frozenset(new)
    known = {b.key for b in breaches(before)}
    for breach in breaches(after):
        if breach.key not in known:
            return breach
    return _status_order(live_events(before), live_events(after), new_ids)
