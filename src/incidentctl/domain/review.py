"""The post-incident review's vocabulary, action items, and review deadlines. Pure.

Action items are folded from `action_added` / `action_updated` events. An action is
identified by its `action_added` event's ULID, so an update always reaches the item
it was written for; the short number (`#A2`) is for people. When two clones each
allocate the same number on one incident, the fold keeps the number for the item
that sorts first and gives the other the next free one, the same way on every clone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal, get_args

from incidentctl.domain.timeparse import iso

PirSection = Literal[
    "why",
    "factor",
    "went-well",
    "went-wrong",
    "lesson",
    "summary",
    "customers-affected",
    "revenue-impact",
    "attendee",
]
PIR_SECTIONS: tuple[str, ...] = get_args(PirSection)

ActionStatus = Literal["not-started", "in-progress", "done", "wont-do"]
ACTION_STATUSES: tuple[str, ...] = get_args(ActionStatus)
OPEN_ACTION_STATUSES: tuple[str, ...] = ("not-started", "in-progress")
ActionKind = Literal["preventive", "corrective", "detective"]
ACTION_KINDS: tuple[str, ...] = get_args(ActionKind)

STATUS_LABELS = {
    "not-started": "Not Started",
    "in-progress": "In Progress",
    "done": "Done",
    "wont-do": "Won't Do",
}

_ACTION_REF = re.compile(r"^(?P<incident>.+)#[Aa](?P<number>\d+)$")


@dataclass(frozen=True)
class ActionNote:
    at: datetime
    author: str
    status: str  # the status set by this update, "" if unchanged
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at), "author": self.author, "status": self.status, "text": self.text}


@dataclass
class ActionItem:
    uid: str  # the action_added event's ID: stable, whatever the number becomes
    number: int
    title: str
    owner: str
    due: date
    priority: str
    kind: str
    added_at: datetime
    added_by: str = ""
    status: str = "not-started"
    updated_at: datetime | None = None
    closed_at: datetime | None = None  # when it became done or wont-do
    requested_number: int = 0  # the number it was recorded with, if the fold changed it
    notes: list[ActionNote] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due < today

    def label(self, human_id: str) -> str:
        return action_label(human_id, self.number)

    def to_dict(self, human_id: str) -> dict[str, Any]:
        return {
            "id": self.label(human_id),
            "incident": human_id,
            "number": self.number,
            "requested_number": self.requested_number,
            "uid": self.uid,
            "title": self.title,
            "owner": self.owner,
            "due": self.due.isoformat(),
            "priority": self.priority,
            "type": self.kind,
            "status": self.status,
            "added_at": iso(self.added_at),
            "added_by": self.added_by,
            "updated_at": iso(self.updated_at),
            "closed_at": iso(self.closed_at),
            "notes": [n.to_dict() for n in self.notes],
        }


def action_label(human_id: str, number: int) -> str:
    return f"{human_id}#A{number}"


def split_action_ref(text: str) -> tuple[str, int] | None:
    """'INC-2026-02-12-001#A2' -> ('INC-2026-02-12-001', 2); None if it is not one."""
    m = _ACTION_REF.match(text.strip())
    if not m or int(m["number"]) < 1:
        return None
    return m["incident"].strip(), int(m["number"])


def next_action_number(actions: list[ActionItem]) -> int:
    return max((a.number for a in actions), default=0) + 1


def add_action(actions: list[ActionItem], item: ActionItem, highest_requested: int) -> None:
    """Append `item` (folded in event order). If its number is taken, it gets one past
    every number any action of the incident asked for, so no other item moves."""
    item.requested_number = item.number
    if any(a.number == item.number for a in actions):
        item.number = max(highest_requested, *(a.number for a in actions)) + 1
    actions.append(item)


def update_action(
    actions: list[ActionItem], uid: str, at: datetime, author: str, status: str, text: str
) -> None:
    for item in actions:
        if item.uid != uid:
            continue
        if status:
            item.status = status
            item.closed_at = None if status in OPEN_ACTION_STATUSES else at
        item.updated_at = at
        item.notes.append(ActionNote(at, author, status, text))
        return
    # not added yet: the fold applies it when the action_added event comes (or, if that
    # file is unreadable, never; the loader reports the file)


# -- due dates ---------------------------------------------------------------------

DUE_HINT = "use a date (2026-02-20), today, tomorrow, or a span from today (+7d, 2w, in 3 days)"


class DueDateError(ValueError):
    pass


def parse_due(text: str, now: datetime, zone: tzinfo) -> date:
    """A due date as a responder types it; relative spans count from today in `zone`."""
    from incidentctl.domain.timeparse import (
        TimeParseError,
        parse_date,
        parse_duration,
        parse_time,
    )

    s = text.strip().lower()
    today = now.astimezone(zone).date()
    try:
        written = parse_date(s)
    except TimeParseError:
        raise DueDateError(f"not a date: {text!r}") from None
    if written is not None:
        return written
    if s == "today":
        return today
    if s == "tomorrow":
        return today + timedelta(days=1)
    span = s.removeprefix("+").removeprefix("in ").strip()
    if span and span[0].isdigit():
        try:
            return today + parse_duration(span)
        except TimeParseError:
            pass
    try:
        return parse_time(text, now, zone).astimezone(zone).date()
    except TimeParseError:
        raise DueDateError(f"not a date: {text!r}") from None
