"""The one write path: everything incidentctl commits goes through a `Writer`.

    with writing(repo) as w:           # the repo lock; what a killed command left, committed
        incident = ...                 # read under the lock
        w.event(folder, human_id, event, subject, body)   # one file, one commit
        w.record(rel, data, message)   # a file that is not an event (override, pir.md, config)
        w.adopt(rel, message)          # a file left uncommitted that no journal names

Each call writes its files atomically and commits exactly them, alone, with a message
from `store.commits`. A journal entry in the git dir (`<git dir>/incidentctl/pending/`)
names the files and the message until the commit lands, so a command killed anywhere in
between is finished by the next one (`Writer.recover`, marked `Recovered: true`). A
failed commit (a refusing hook, say) removes the files it wrote, and the folders it made.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from incidentctl.errors import BadFileError, RepoError
from incidentctl.store import commits
from incidentctl.store.atomic import stale_temp_files, write_atomic
from incidentctl.store.repo import EVENTS, INCIDENTS, event_file_name, serialise_event

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.store.repo import IncidentRepo

# Test-only: seconds to sleep between writing a file and committing it, so the crash
# tests can kill a command inside that window (docs/sharing.md). Unset in real use.
TEST_PAUSE_ENV = "INCIDENTCTL_TEST_PAUSE_AFTER_WRITE"


@dataclass(frozen=True)
class Written:
    """A file (with any extra files beside it) committed by this command."""

    path: str  # relative to the repo root
    commit: str


class Recovered(Written):
    """A file a killed command wrote, committed by this one. (A subclass, not a second
    dataclass: building one costs event commands 0.3 ms at import.)"""


@contextlib.contextmanager
def writing(repo: IncidentRepo, *, recover: bool = True, prepare: bool = True) -> Iterator[Writer]:
    """One locked write step on `repo`: take the repo lock, commit what a killed command
    left (unless `recover` is false), and yield the `Writer`. With `prepare`, git's
    identity lookup and staged-files check start now, to run while the caller reads.

    The lock is not re-entrant: code that writes inside a step is handed its `Writer`."""
    with repo.lock():
        if prepare:
            repo.git.prepare_commit()
        writer = Writer(repo)
        if recover:
            writer.recovered = writer.recover()
        yield writer
        if writer.written and repo.sparse:
            # the first write of a day sets the cone again: resolved incidents past the
            # window leave the work tree (store/sparse.py)
            from incidentctl.store import sparse

            sparse.refresh_if_due(repo, sparse.clock())


class Writer:
    """Writes and commits files in a repo whose lock is held: see `writing`."""

    def __init__(self, repo: IncidentRepo) -> None:
        self.repo = repo
        self.recovered: list[Recovered] = []
        self.written: list[Written] = []

    @property
    def pending_dir(self) -> Path:
        return self.repo.git_dir / "incidentctl" / "pending"

    def event(
        self,
        folder: Path,
        human_id: str,
        event: EventBase,
        subject: str,
        body: str = "",
        extra_files: dict[Path, bytes] | None = None,
    ) -> Written:
        """Write one event file into incident `folder` and commit it alone.

        `extra_files` (a runbook step's evidence) are written once, before the event,
        and committed with it in the same commit; they never exist without it. The
        event is serialised once: the bytes written are the bytes `Event-Sha256` hashes.
        """
        import hashlib

        data = serialise_event(event)
        text = commits.event_message(
            human_id, event, hashlib.sha256(data).hexdigest(), subject, body
        )
        path = folder / EVENTS / event_file_name(event)
        return self._write(event.id, path, data, text, extra_files or {})

    def record(self, rel_path: str, data: bytes, message: str, *, key: str = "") -> Written:
        """Write one new file that is not an event (an on-call override, a review,
        the repo's config) and commit it alone. `key` names its journal entry (a ULID
        keeps entries in time order); default, a new ULID."""
        if not key:
            from datetime import UTC, datetime

            from incidentctl.domain.ulid import new_ulid

            key = new_ulid(datetime.now(UTC))
        return self._write(key, self.repo.root / rel_path, data, message, {})

    def adopt(self, rel_path: str, message: str) -> Recovered:
        """Commit a file that an interrupted command wrote but did not commit, and
        that no journal entry names (it predates the journal, or the entry was lost)."""
        self._into_cone([rel_path])
        commit = self.repo.git.commit_paths([rel_path], commits.recovered(message))
        item = Recovered(rel_path, commit)
        self.recovered.append(item)
        return item

    def adopt_event(self, path: Path, event: EventBase, human_id: str) -> Recovered:
        """`adopt` for an event file (`doctor --fix`): its message says so, and its
        `Event-Sha256` is that of the file's bytes."""
        import hashlib

        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        text = commits.event_message(human_id, event, digest, f"recovered {event.type} event")
        return self.adopt(self.repo.rel(path), text)

    def _into_cone(self, rels: list[str]) -> None:
        if self.repo.sparse:
            from incidentctl.store.sparse import include

            include(self.repo, rels)

    def _write(
        self, key: str, path: Path, data: bytes, message: str, extras: dict[Path, bytes]
    ) -> Written:
        repo = self.repo
        rel = repo.rel(path)
        extra_rels = [repo.rel(p) for p in extras]
        journal = self.pending_dir / key
        # a sparse work tree: git refuses to add a path outside the cone, so its folder
        # joins the cone first (a declaration, a reopening, a note on an old incident)
        self._into_cone([rel, *extra_rels])
        # first line: the main path, then any extra paths, tab-separated; then the message
        write_atomic(journal, ("\t".join([rel, *extra_rels]) + f"\n{message}").encode())
        created = _missing_folders(repo.root, [path, *extras])
        written: list[Path] = []
        try:
            for extra_path, extra_data in extras.items():
                write_atomic(extra_path, extra_data, exclusive=True)
                written.append(extra_path)
            write_atomic(path, data, exclusive=True)
            written.append(path)
            _test_pause_after_write()
            commit = repo.git.commit_paths([rel, *extra_rels], message)
        except Exception as exc:
            for item in written:
                item.unlink(missing_ok=True)  # never committed, so never written
            for made in created:  # an empty incident folder would read as a broken incident
                with contextlib.suppress(OSError):
                    made.rmdir()
            journal.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise RepoError(
                    f"cannot write {rel}: {exc.strerror or exc}",
                    hint="check the disk and permissions",
                ) from None
            raise
        # Only now: a Ctrl-C above leaves the journal, so the next command commits the files
        journal.unlink(missing_ok=True)
        done = Written(rel, commit)
        self.written.append(done)
        return done

    def recover(self) -> list[Recovered]:
        """Commit the files that killed commands wrote but did not commit, from their
        journal entries, each with its own message marked `Recovered: true`."""
        repo = self.repo
        if not self.pending_dir.is_dir():
            return []
        recovered = []
        for entry in sorted(self.pending_dir.iterdir()):
            try:
                first, _, message = entry.read_text(encoding="utf-8").partition("\n")
            except (OSError, UnicodeDecodeError):
                entry.unlink(missing_ok=True)
                continue
            rel, *extra_rels = first.split("\t")
            path = repo.root / rel
            for folder in {path.parent, *((repo.root / r).parent for r in extra_rels)}:
                for tmp in stale_temp_files(folder):
                    tmp.unlink(missing_ok=True)
            if path.is_file():
                self._into_cone([rel, *extra_rels])
            if path.is_file() and repo.git.status(rel):
                if _is_event_path(rel):
                    try:
                        repo.read_event(path)
                    except BadFileError:
                        entry.unlink(missing_ok=True)
                        continue  # left for `doctor` to report
                extras = [r for r in extra_rels if (repo.root / r).is_file()]
                commit = repo.git.commit_paths([rel, *extras], commits.recovered(message))
                recovered.append(Recovered(rel, commit))
            elif not path.is_file():
                # the main file never reached the disk, so its extra files belong to nothing
                for extra in extra_rels:
                    if repo.git.status(extra):
                        (repo.root / extra).unlink(missing_ok=True)
            entry.unlink(missing_ok=True)
        return recovered


def _is_event_path(rel: str) -> bool:
    return rel.startswith(f"{INCIDENTS}/") and f"/{EVENTS}/" in rel


def _missing_folders(root: Path, paths: list[Path]) -> list[Path]:
    """The folders (below `root`) that writing `paths` will create, deepest first."""
    missing: set[Path] = set()
    for path in paths:
        folder = path.parent
        while folder != root and folder not in missing and not folder.exists():
            missing.add(folder)
            folder = folder.parent
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def _test_pause_after_write() -> None:
    try:
        pause = float(os.environ.get(TEST_PAUSE_ENV) or 0)
    except ValueError:
        return
    if pause > 0:
        time.sleep(pause)
