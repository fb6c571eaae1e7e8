"""Building incidents for the review and metrics tests by writing event files directly,
as the domain models serialise them, then committing them with git."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incidentctl.domain import events as ev
from incidentctl.domain.ulid import new_ulid
from incidentctl.domain.wording import slugify
from incidentctl.store.repo import event_file_name, serialise_event


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class EventWriter:
    """Writes whole incidents as event files; ULIDs are fixed so runs are repeatable."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.serial = 0
        self.folders: dict[str, Path] = {}

    def _ulid(self, at: datetime) -> str:
        self.serial += 1
        return new_ulid(at, self.serial.to_bytes(10, "big"))

    def write(self, event_type: type[ev.EventBase], uid: str, at: datetime, **fields: Any) -> str:
        event = event_type(
            id=self._ulid(at),
            incident=uid,
            at=at,
            recorded_at=at,
            author=fields.pop("author", "@fixture"),
            **fields,
        )
        path = self.folders[uid] / "events" / event_file_name(event)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(serialise_event(event))
        return event.id

    def declare(self, human_id: str, title: str, severity: str, at: datetime, **fields: Any) -> str:
        uid = self._ulid(at)
        self.folders[uid] = self.repo / "incidents" / f"{at.year:04d}" / f"{uid}-{slugify(title)}"
        event = ev.Declared(
            id=uid,
            incident=uid,
            at=at,
            recorded_at=at,
            author=fields.pop("author", "@fixture"),
            human_id=human_id,
            title=title,
            severity=severity,
            **fields,
        )
        path = self.folders[uid] / "events" / event_file_name(event)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(serialise_event(event))
        return uid

    def commit(self, message: str = "fixture incidents") -> None:
        subprocess.run(["git", "add", "--sparse", "incidents"], cwd=self.repo, check=True)
        subprocess.run(
            ["git", "commit", "-q", "-m", message], cwd=self.repo, check=True, capture_output=True
        )


def incident(
    w: EventWriter,
    human_id: str,
    severity: str,
    declared: str,
    *,
    title: str = "",
    detected: int | None = None,
    ack: int | None = None,
    identified: int | None = None,
    mitigated: int | None = None,
    resolved: int | None = None,
    category: str = "",
    services: tuple[str, ...] = (),
    review_held_after: timedelta | None = None,
) -> str:
    """One incident; the times are minutes relative to the declaration (detected: before it)."""
    at = utc(declared)
    uid = w.declare(
        human_id,
        title or f"{human_id} incident",
        severity,
        at,
        services=list(services),
        detected_at=at - timedelta(minutes=detected) if detected is not None else None,
    )
    steps: list[tuple[int, type[ev.EventBase], dict[str, Any]]] = []
    if ack is not None:
        steps.append((ack, ev.Acknowledged, {"author": "@responder"}))
    if identified is not None:
        steps.append(
            (identified, ev.StatusChanged, {"status": "identified", "previous": "investigating"})
        )
    if mitigated is not None:
        steps.append((mitigated, ev.Mitigated, {"message": "service restored"}))
    if resolved is not None:
        steps.append(
            (
                resolved,
                ev.Resolved,
                {"root_cause": "a cause", "resolution": "a fix", "category": category},
            )
        )
    for minutes, kind, fields in sorted(steps, key=lambda s: s[0]):
        w.write(kind, uid, at + timedelta(minutes=minutes), **fields)
    if review_held_after is not None:
        assert resolved is not None
        w.write(ev.PirCompleted, uid, at + timedelta(minutes=resolved) + review_held_after)
    return uid
