"""`correct` and `retract`: amend the timeline with new events, never by editing one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.domain.corrections import (
    NOT_CORRECTABLE,
    NOT_RETRACTABLE,
    is_retracted,
    text_fields,
)
from incidentctl.domain.ulid import ALPHABET
from incidentctl.domain.wording import stamp
from incidentctl.errors import NotFoundError, UsageError, choices_hint
from incidentctl.services.incidents import _record as record_on_incident
from incidentctl.services.record import RecordResult, clean_text, new_event_id, one_line, when
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.store.repo import LoadedIncident

EVENT_HINT = "event IDs are in the `event` column of: incidentctl show INC (or show INC --json)"


def find_event(ws: Workspace, ref: str) -> tuple[Path, str]:
    """(incident folder, event ULID) of the one event whose ULID starts with `ref`."""
    text = ref.strip().upper()
    if not 4 <= len(text) <= 26 or any(c not in ALPHABET for c in text):
        raise UsageError(
            f"not an event ID: {ref!r} (give a ULID or at least its first 4 characters)",
            hint=EVENT_HINT,
        )
    found: dict[str, Path] = {}  # event ULID -> its incident folder
    repo = ws.repo
    # what HEAD holds, from the object store (a sparse work tree has few incidents'
    # files), then any event a killed command left uncommitted in the work tree
    listed = repo.git.run_quiet("ls-tree", "-r", "-z", "--name-only", "HEAD", "--", "incidents/")
    for rel in listed.split("\0"):
        if "/events/" not in rel or not rel.endswith(".toml"):
            continue
        event_id = rel.rsplit("/", 1)[-1].removesuffix(".toml").rsplit("-", 1)[-1]
        if event_id.startswith(text):
            found.setdefault(event_id, repo.root / rel.rsplit("/", 2)[0])
    for folder in repo.disk_folder_paths():
        for path in repo.event_files(Path(folder)):
            event_id = path.stem.rsplit("-", 1)[-1]
            if event_id.startswith(text):
                found.setdefault(event_id, Path(folder))
    matches = [(folder, event_id) for event_id, folder in found.items()]
    if not matches:
        raise NotFoundError(f"no event {ref.strip()!r}", hint=EVENT_HINT)
    if len(matches) > 1:
        raise UsageError(
            f"{ref.strip()!r} matches {len(matches)} events",
            hint="give more characters of the event ID",
        )
    return matches[0]


def _target(loaded: LoadedIncident, event_id: str) -> EventBase:
    for event in loaded.state.timeline:
        if event.id == event_id:
            return event
    problems = "; ".join(str(p) for p in loaded.problems)
    raise NotFoundError(
        f"event {event_id} of {loaded.state.human_id} cannot be read"
        + (f" ({problems})" if problems else ""),
        hint="run: incidentctl doctor",
    )


def _base_fields(base: dict[str, Any]) -> dict[str, Any]:
    return dict(base, id=new_event_id(base["at"]))


def _validated_text(target: EventBase, name: str, text: str) -> None:
    from incidentctl.domain.events import EventError, parse_event

    try:
        parse_event({**target.to_record(), name: text})
    except EventError as exc:
        raise UsageError(f"--text: {exc}") from None


def correct(
    ws: Workspace,
    ref: str,
    *,
    at: str | None,
    text: str | None,
    field: str | None,
    reason: str,
    by: str | None,
) -> RecordResult:
    """Record a `corrected` event for one event. `at` is the event's corrected time; the
    correction itself is recorded now."""
    from incidentctl.domain import events as ev

    if at is None and text is None:
        raise UsageError("nothing to correct", hint="give --at TIME, --text TEXT, or both")
    if field is not None and text is None:
        raise UsageError("--field needs --text", hint="e.g. --field resolution --text 'Rollback'")
    corrected_at = when(ws, at) if at is not None else None
    new_text = clean_text(text, "--text", required=True) if text is not None else None
    reason = clean_text(reason, "-m")
    folder, event_id = find_event(ws, ref)

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        target = _target(loaded, event_id)
        if target.type in NOT_CORRECTABLE:
            raise UsageError(
                f"a {target.type} event cannot be corrected",
                hint="correct the original event instead"
                if target.type == "corrected"
                else "record a new event instead",
            )
        if is_retracted(loaded.state.corrections, event_id):
            raise UsageError(f"event {event_id} was retracted; there is nothing to correct")
        chosen = ""
        changes = []
        if new_text is not None:
            fields = text_fields(target)
            if not fields:
                raise UsageError(
                    f"a {target.type} event has no text to correct",
                    hint="correct its time with --at, or retract it and record it again",
                )
            chosen = (field or fields[0]).strip().lower().replace("-", "_")
            if chosen not in fields:
                raise UsageError(
                    f"a {target.type} event has no text field {field!r}",
                    hint=choices_hint("fields", fields),
                )
            _validated_text(target, chosen, new_text)
            if getattr(target, chosen) != new_text:
                changes.append(f"{chosen} -> {one_line(new_text, 40)!r}")
        if corrected_at is not None and corrected_at != target.at:
            changes.append(f"at -> {stamp(corrected_at)}")
        if not changes:
            raise UsageError(
                f"event {event_id} already reads that way; nothing to correct",
                hint="see the incident's current view with: incidentctl show INC",
            )
        event = ev.Corrected(
            **_base_fields(base),
            target=event_id,
            target_type=target.type,
            corrected_at=corrected_at if corrected_at != target.at else None,
            field=chosen if new_text is not None and getattr(target, chosen) != new_text else "",
            text=new_text if new_text is not None and getattr(target, chosen) != new_text else None,
            reason=reason,
        )
        subject = f"corrected {target.type} {event_id[:12]}: {'; '.join(changes)}"
        return [(event, subject, reason)]

    return record_on_incident(ws, folder.name[:26], None, by, build)


def retract(
    ws: Workspace, ref: str, reason: str, *, at: str | None, by: str | None
) -> RecordResult:
    """Record a `retracted` event: the event stays in the history, but no longer counts."""
    from incidentctl.domain import events as ev

    reason = clean_text(reason, "-m", required=True)
    folder, event_id = find_event(ws, ref)

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        target = _target(loaded, event_id)
        if target.type in NOT_RETRACTABLE:
            hints = {
                "declared": "an incident stays in the history: correct its title, or resolve it",
                "renumbered": "human IDs must stay unique, so a renumbering stands",
                "retracted": "a retraction is final: record the event again instead",
            }
            raise UsageError(
                f"a {target.type} event cannot be retracted", hint=hints.get(target.type)
            )
        amendment = loaded.state.corrections.get(event_id)
        if amendment is not None and amendment.retracted_by:
            raise UsageError(f"event {event_id} is already retracted (by {amendment.retracted_by})")
        event = ev.Retracted(
            **_base_fields(base), target=event_id, target_type=target.type, reason=reason
        )
        return [(event, f"retracted {target.type} {event_id[:12]}: {one_line(reason)}", reason)]

    return record_on_incident(ws, folder.name[:26], at, by, build)
