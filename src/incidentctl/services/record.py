"""Recording events: the times, authors and text of an event command, and what it did.
Writing and committing are the store's (`store.writer`): one file, one commit, locked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from incidentctl.domain.textsafety import REFUSED_IN_NAMES, REFUSED_INPUT
from incidentctl.domain.timeparse import TIME_HINT, TimeParseError, parse_time
from incidentctl.errors import DataError, UsageError
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path

    from incidentctl.domain.events import EventBase
    from incidentctl.domain.incident import IncidentState
    from incidentctl.store.repo import LoadedIncident
    from incidentctl.store.writer import Recovered, Writer

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # ULIDs count milliseconds from here
# C0 and C1 control characters except tab, newline and carriage return, and bidi controls
_CONTROL = REFUSED_INPUT
# ... and in a name, every control character, and the Unicode line separators
_NAME_CONTROL = REFUSED_IN_NAMES


@dataclass(frozen=True)
class Recorded:
    event: EventBase
    path: str
    commit: str

    def to_dict(self) -> dict:
        return {
            "id": self.event.id,
            "type": self.event.type,
            "path": self.path,
            "commit": self.commit,
        }


@dataclass
class RecordResult:
    """What an event command did: the incident after it, and the events it committed."""

    state: IncidentState
    recorded: list[Recorded] = field(default_factory=list)
    recovered: list[Recovered] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "id": self.state.human_id,
            "uid": self.state.uid,
            "status": self.state.status,
            "severity": self.state.severity,
            "events": [r.to_dict() for r in self.recorded],
        }


def clean_text(value: str, what: str, *, required: bool = False) -> str:
    """User text is kept exactly, but must be encodable and, when required, not blank."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid UTF-8 text") from None
    if _CONTROL.search(value):
        raise UsageError(
            f"{what} contains a control character",
            hint="terminal escapes and other control characters are refused; newlines and tabs are fine",
        )
    if required and not value.strip():
        raise UsageError(f"{what} must not be empty", hint=f"give {what} some text")
    return value


def clean_name(value: str, what: str) -> str:
    """A name (a person, a role, an owner, a service): one line of text, required.
    Newlines are refused here too: a name lands in commit subjects and trailers, where
    `--by $'@a\\nIncident-Uid: X'` would forge a second line."""
    value = clean_text(value, what, required=True)
    if _NAME_CONTROL.search(value):
        raise UsageError(
            f"{what} contains a newline, tab or other control character",
            hint="a name is one line of text",
        )
    return value.strip()


def time_option(ws: Workspace, text: str, what: str, zone: tzinfo | None = None) -> datetime:
    """Parse a time the user typed for option `what`, in `zone` (default: the team's),
    or raise a usage error that names the option."""
    try:
        return parse_time(text, ws.now(), zone or ws.config.zone)
    except TimeParseError as exc:
        raise UsageError(f"{what}: {exc}", hint=TIME_HINT) from None


def when(ws: Workspace, text: str | None, what: str = "--at") -> datetime:
    """Parse the time of an event; default now. A time ahead of now is taken only
    within `[incident] clock_skew` (another machine's clock a little ahead of this one)."""
    current = ws.now()
    if text is None:
        return current
    value = time_option(ws, text, what)
    skew = ws.config.incident.clock_skew
    if value - current > skew:
        from incidentctl.domain.timeparse import format_duration

        raise UsageError(
            f"{what} {text!r} is in the future, more than the {format_duration(skew)} "
            "clock skew ([incident] clock_skew) ahead of now",
            hint="an event is recorded when it happened: give a time up to now",
        )
    if value < EARLIEST:
        raise UsageError(f"{what} {text!r} is before 1970", hint=TIME_HINT)
    return value


def actor(ws: Workspace, by: str | None) -> str:
    if by is not None:
        return clean_name(by, "--by")
    return ws.author()


def refuse_damaged(loaded: LoadedIncident) -> None:
    """Nothing is added to an incident with an event file that cannot be read: the
    fold the new event is checked against may be missing an event. Other incidents
    are not affected. (A work-tree copy that differs from its commit is no bar: the
    committed content is what is folded.)"""
    damaged = loaded.damaged
    if not damaged:
        return
    first = damaged[0]
    more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
    raise DataError(
        f"{loaded.state.human_id}: cannot record an event while {first.path} cannot be "
        f"read: {first.problem}{more}",
        hint="run: incidentctl doctor (doctor --fix moves an uncommitted bad entry out of "
        "events/; a committed one is removed with git rm and a commit)",
    )


def one_line(text: str, limit: int = 60) -> str:
    from incidentctl.domain.wording import excerpt

    return excerpt(text, limit)


def new_event_id(at: datetime) -> str:
    from incidentctl.domain.ulid import new_ulid

    return new_ulid(at)


def record_event(
    w: Writer, folder: Path, human_id: str, event: EventBase, subject: str, body: str = ""
) -> Recorded:
    """Write and commit one event, in the write step `w`."""
    written = w.event(folder, human_id, event, subject, body)
    return Recorded(event, written.path, written.commit)
