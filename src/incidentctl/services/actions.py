"""Action items: add, update and list them. Each change is an event on its incident."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from incidentctl.domain.wording import stamp
from incidentctl.errors import NotFoundError, UsageError, choices_hint
from incidentctl.services.incidents import _fields, _record
from incidentctl.services.outcome import Outcome
from incidentctl.services.record import RecordResult, clean_name, clean_text, one_line
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.review import ActionItem
    from incidentctl.store.repo import FileProblem, LoadedIncident

ACTION_ID_HINT = (
    "an action ID looks like INC-2026-02-12-001#A2; see them with: incidentctl action list"
)


@dataclass
class ActionResult:
    """What an action command did: the committed events and the action item after them."""

    record: RecordResult
    action: ActionItem

    @property
    def label(self) -> str:
        return self.action.label(self.record.state.human_id)

    def to_dict(self) -> dict[str, Any]:
        data = self.action.to_dict(self.record.state.human_id)
        data["events"] = [r.to_dict() for r in self.record.recorded]
        return data


def _kind(text: str) -> str:
    from incidentctl.domain.review import ACTION_KINDS

    value = text.strip().lower()
    if value not in ACTION_KINDS:
        raise UsageError(f"unknown action type {text!r}", hint=choices_hint("types", ACTION_KINDS))
    return value


def _status(text: str) -> str:
    from incidentctl.domain.review import ACTION_STATUSES

    value = text.strip().lower().replace("_", "-").replace(" ", "-")
    value = {"todo": "not-started", "open": "not-started", "wontdo": "wont-do"}.get(value, value)
    if value not in ACTION_STATUSES:
        raise UsageError(
            f"unknown action status {text!r}", hint=choices_hint("statuses", ACTION_STATUSES)
        )
    return value


def due_date(ws: Workspace, text: str) -> date:
    from incidentctl.domain.review import DUE_HINT, DueDateError, parse_due

    try:
        return parse_due(clean_text(text, "--due", required=True), ws.now(), ws.config.zone)
    except DueDateError as exc:
        raise UsageError(f"--due: {exc}", hint=DUE_HINT) from None


def _item(state: IncidentState, uid: str) -> ActionItem:
    return next(a for a in state.actions if a.uid == uid)


def add(
    ws: Workspace,
    ref: str,
    title: str,
    *,
    owner: str,
    due: str,
    priority: str,
    kind: str = "preventive",
    by: str | None = None,
    at: str | None = None,
) -> ActionResult:
    from incidentctl.domain import events as ev
    from incidentctl.domain.review import action_label, next_action_number

    title = clean_text(title, "the title", required=True).strip()
    owner = clean_name(owner, "--owner")
    due_on = due_date(ws, due)
    priority = ws.severity(priority, "priority", "priorities")
    kind = _kind(kind)
    today = ws.now().astimezone(ws.config.zone).date()

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        number = next_action_number(loaded.state.actions)
        event = ev.ActionAdded(
            **_fields(base),
            number=number,
            title=title,
            owner=owner,
            due=due_on,
            priority=priority,
            kind=kind,
        )
        label = action_label(loaded.state.human_id, number)
        subject = f"action A{number} added: {one_line(title)}"
        body = f"{label}\nOwner: {owner}\nDue: {due_on.isoformat()}\nPriority: {priority}\nType: {kind}"
        return [(event, subject, body)]

    record = _record(ws, ref, at, by, build)
    if due_on < today:
        record.notes.append(f"the due date {due_on.isoformat()} is already past")
    return ActionResult(record, _item(record.state, record.recorded[0].event.id))


def parse_action_ref(text: str) -> tuple[str, int]:
    from incidentctl.domain.review import split_action_ref

    parsed = split_action_ref(text)
    if parsed is None:
        raise UsageError(f"{text.strip()!r} is not an action ID", hint=ACTION_ID_HINT)
    return parsed


def _find_action(loaded: LoadedIncident, number: int, text: str) -> ActionItem:
    for item in loaded.state.actions:
        if item.number == number:
            return item
    known = ", ".join(f"A{a.number}" for a in loaded.state.actions) or "none"
    raise NotFoundError(
        f"no action {text.strip()!r}: {loaded.state.human_id} has no action A{number}",
        hint=f"its actions: {known}; see all with: incidentctl action list",
    )


def update(
    ws: Workspace,
    ref: str,
    *,
    status: str | None,
    note: str = "",
    by: str | None = None,
    at: str | None = None,
) -> ActionResult:
    from incidentctl.domain import events as ev
    from incidentctl.domain.review import STATUS_LABELS

    incident_ref, number = parse_action_ref(ref)
    new_status = _status(status) if status is not None else ""
    note = clean_text(note, "-m")
    if not new_status and not note.strip():
        raise UsageError("nothing to update", hint="give --status STATUS and/or -m NOTE")
    chosen: dict[str, str] = {}

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        item = _find_action(loaded, number, ref)
        label = item.label(loaded.state.human_id)
        if base["at"] < item.added_at:
            raise UsageError(
                f"--at is before {label} was added ({stamp(item.added_at)})",
                hint="an update happens after its action item is added; check --at",
            )
        if new_status == item.status and not note.strip():
            raise UsageError(
                f"{label} is already {new_status}", hint="add -m NOTE to record a note instead"
            )
        status_change = new_status if new_status != item.status else ""
        chosen["uid"] = item.uid
        event = ev.ActionUpdated(
            **_fields(base), action=item.uid, number=item.number, status=status_change, note=note
        )
        if status_change:
            subject = f"action A{item.number} {item.status} -> {status_change}"
        else:
            subject = f"action A{item.number} note: {one_line(note)}"
        body = "\n".join(
            p
            for p in (
                label,
                f"Status: {STATUS_LABELS[status_change]}" if status_change else "",
                note,
            )
            if p
        )
        return [(event, subject, body)]

    record = _record(ws, incident_ref, at, by, build)
    return ActionResult(record, _item(record.state, chosen["uid"]))


# -- listing -----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRow:
    state: IncidentState
    action: ActionItem
    overdue: bool

    @property
    def label(self) -> str:
        return self.action.label(self.state.human_id)

    def to_dict(self) -> dict[str, Any]:
        data = self.action.to_dict(self.state.human_id)
        data["overdue"] = self.overdue
        data["incident_title"] = self.state.title
        data["incident_status"] = self.state.status
        return data


@dataclass
class ActionListing(Outcome):
    rows: list[ActionRow]
    today: date
    problems: list[FileProblem] = field(default_factory=list)


def _owner_key(text: str) -> str:
    return text.strip().lstrip("@").lower()


def list_actions(
    ws: Workspace, *, open_only: bool = False, overdue_only: bool = False, owner: str | None = None
) -> ActionListing:
    """Action items across every incident, soonest due first."""
    wanted_owner = _owner_key(clean_name(owner, "--owner")) if owner else None
    today = ws.now().astimezone(ws.config.zone).date()
    loaded, problems = ws.repo.load_all()
    rows = []
    for item in loaded:
        for action in item.state.actions:
            overdue = action.is_overdue(today)
            if open_only and not action.is_open:
                continue
            if overdue_only and not overdue:
                continue
            if wanted_owner is not None and _owner_key(action.owner) != wanted_owner:
                continue
            rows.append(ActionRow(item.state, action, overdue))
    rows.sort(key=lambda r: (r.action.due, r.state.declared_at, r.state.uid, r.action.number))
    return ActionListing(rows, today, problems)
