"""The outbox: messages waiting to be posted, one JSON file each in the repo's git dir.

    <git-dir>/incidentctl/outbox/<ULID>.json          queued
    <git-dir>/incidentctl/outbox/<ULID>.json.sending  in flight, or in doubt

A message is moved to `.sending` before it is posted and deleted once the post
succeeds, so a flush killed in between leaves it `.sending`: it may or may not have
reached Slack, and it is never posted again without a person saying so. A post that
was sent and got no answer stays `.sending` for the same reason; one that failed
before it was sent (or was refused) goes back to `.json`. The outbox lives in the
git dir, so it is never committed and never pushed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentctl.store.atomic import fsync_dir, write_atomic
from incidentctl.store.lock import RepoLock

QUEUED = ".json"
SENDING = ".json.sending"


@dataclass
class OutboxEntry:
    id: str
    path: Path
    in_doubt: bool  # it was being sent when a flush stopped
    message: dict[str, Any]


@dataclass(frozen=True)
class UnreadableEntry:
    path: Path
    problem: str


class Outbox:
    def __init__(self, git_dir: Path) -> None:
        self.dir = git_dir / "incidentctl" / "outbox"

    def lock(self) -> RepoLock:
        """One flush at a time (an flock in the outbox folder; not the repo lock, so a
        slow webhook never holds up the event commands)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        return RepoLock(self.dir)

    def queued_path(self, message_id: str) -> Path:
        return self.dir / f"{message_id}{QUEUED}"

    def sending_path(self, message_id: str) -> Path:
        return self.dir / f"{message_id}{SENDING}"

    def add(self, message: dict[str, Any]) -> Path:
        path = self.queued_path(message["id"])
        write_atomic(path, _encode(message), exclusive=True)
        return path

    def entries(self) -> tuple[list[OutboxEntry], list[UnreadableEntry]]:
        """Every message, oldest first (ULIDs sort by time), and any unreadable file."""
        if not self.dir.is_dir():
            return [], []
        found: list[OutboxEntry] = []
        bad: list[UnreadableEntry] = []
        for path in sorted(self.dir.iterdir()):
            name = path.name
            if name.endswith(SENDING):
                message_id, in_doubt = name[: -len(SENDING)], True
            elif name.endswith(QUEUED):
                message_id, in_doubt = name[: -len(QUEUED)], False
            else:
                continue  # the lock file, temp files
            try:
                message = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(message, dict) or message.get("id") != message_id:
                    raise ValueError("not an outbox message")
            except (OSError, ValueError) as exc:
                bad.append(UnreadableEntry(path, str(exc)))
                continue
            found.append(OutboxEntry(message_id, path, in_doubt, message))
        # both files exist only if a failed post's re-queue was cut short: the
        # queued copy was written after the failure, so the message was not sent
        queued = {e.id for e in found if not e.in_doubt}
        found = [e for e in found if not (e.in_doubt and e.id in queued)]
        found.sort(key=lambda e: e.id)
        return found, bad

    def claim(self, entry: OutboxEntry) -> None:
        """Mark a message in flight, durably, before it is posted, with its updated
        attempt count. The `.sending` copy is written before the queued one goes: cut
        short in between, both exist, and the queued one wins (nothing was sent)."""
        target = self.sending_path(entry.id)
        write_atomic(target, _encode(entry.message))
        if entry.path != target:
            entry.path.unlink(missing_ok=True)
            fsync_dir(self.dir)
        entry.path, entry.in_doubt = target, True

    def keep_in_doubt(self, entry: OutboxEntry) -> None:
        """A post was sent and got no answer: it stays in doubt, with what happened."""
        write_atomic(self.sending_path(entry.id), _encode(entry.message))
        entry.path, entry.in_doubt = self.sending_path(entry.id), True

    def release(self, entry: OutboxEntry) -> None:
        """A post failed before it was sent, or was refused: queue the message again."""
        queued = self.queued_path(entry.id)
        write_atomic(queued, _encode(entry.message))
        if entry.path != queued:
            entry.path.unlink(missing_ok=True)
            fsync_dir(self.dir)
        entry.path, entry.in_doubt = queued, False

    def remove(self, entry: OutboxEntry) -> None:
        entry.path.unlink(missing_ok=True)
        fsync_dir(self.dir)


def _encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
