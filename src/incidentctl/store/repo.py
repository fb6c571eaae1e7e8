"""The incident repo's files: one folder per incident, one TOML file per event.

incidents/<YYYY>/<incident ULID>[-slug]/events/<UTC ts>-<event ULID>.toml

The incident's ULID is its `declared` event's ID and carries the declaration time,
so finding the incidents of a day never needs to open a file.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.domain.ulid import is_ulid, ulid_time
from incidentctl.errors import BadFileError
from incidentctl.store.atomic import stale_temp_files, write_atomic
from incidentctl.store.locate import CONFIG_NAME, git_dir_of
from incidentctl.store.lock import RepoLock

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.domain.state import IncidentState
    from incidentctl.store.git import Git

INCIDENTS = "incidents"
EVENTS = "events"
# Test-only: seconds to sleep between writing an event file and committing it, so the
# crash tests can kill a command inside that window (docs/sharing.md). Unset in real use.
TEST_PAUSE_ENV = "INCIDENTCTL_TEST_PAUSE_AFTER_WRITE"


@dataclass(frozen=True)
class FileProblem:
    path: str  # relative to the repo root
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass
class LoadedIncident:
    state: IncidentState
    folder: Path
    problems: list[FileProblem] = field(default_factory=list)


@dataclass(frozen=True)
class Recovered:
    path: str
    commit: str


def slugify(text: str, limit: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def event_file_name(event: EventBase) -> str:
    stamp = event.at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}.{event.at.microsecond // 1000:03d}Z-{event.id}.toml"


def serialise_event(event: EventBase) -> bytes:
    import tomli_w

    return tomli_w.dumps(event.to_record()).encode("utf-8")


def _test_pause_after_write() -> None:
    try:
        pause = float(os.environ.get(TEST_PAUSE_ENV) or 0)
    except ValueError:
        return
    if pause > 0:
        time.sleep(pause)


class IncidentRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.incidents_dir = root / INCIDENTS
        self.git_dir = git_dir_of(root)
        self._git: Git | None = None

    # -- plumbing ---------------------------------------------------------------
    @property
    def git(self) -> Git:
        if self._git is None:
            from incidentctl.store.git import Git

            self._git = Git(self.root)
        return self._git

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def lock(self) -> RepoLock:
        return RepoLock(self.git_dir)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # -- layout ---------------------------------------------------------------
    def new_folder(self, uid: str, title: str) -> Path:
        slug = slugify(title)
        year = ulid_time(uid).year
        return self.incidents_dir / f"{year:04d}" / (f"{uid}-{slug}" if slug else uid)

    def incident_folders(self) -> list[Path]:
        """Every incident folder, oldest declaration first."""
        if not self.incidents_dir.is_dir():
            return []
        folders = []
        for year in self.incidents_dir.iterdir():
            if year.is_dir() and year.name.isdigit():
                folders.extend(f for f in year.iterdir() if is_ulid(f.name[:26]) and f.is_dir())
        return sorted(folders, key=lambda f: f.name[:26])

    def folders_declared_on(self, day: date) -> list[Path]:
        year = self.incidents_dir / f"{day.year:04d}"
        if not year.is_dir():
            return []
        return sorted(
            f
            for f in year.iterdir()
            if is_ulid(f.name[:26]) and ulid_time(f.name[:26]).date() == day and f.is_dir()
        )

    def folders_with_prefix(self, prefix: str) -> list[Path]:
        prefix = prefix.upper()
        return [f for f in self.incident_folders() if f.name[:26].startswith(prefix)]

    # -- reading --------------------------------------------------------------
    def event_files(self, folder: Path) -> list[Path]:
        events = folder / EVENTS
        if not events.is_dir():
            return []
        return sorted(p for p in events.iterdir() if p.suffix == ".toml" and p.name[0] != ".")

    def read_record(self, path: Path) -> dict[str, Any]:
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise BadFileError(self.rel(path), "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise BadFileError(self.rel(path), f"invalid TOML: {exc}") from None
        except OSError as exc:
            raise BadFileError(self.rel(path), f"cannot read: {exc.strerror}") from None

    def read_event(self, path: Path, uid: str | None = None) -> EventBase:
        from incidentctl.domain.events import EventError, parse_event

        record = self.read_record(path)
        try:
            event = parse_event(record)
        except EventError as exc:
            raise BadFileError(self.rel(path), str(exc)) from None
        if uid is not None and event.incident != uid:
            raise BadFileError(self.rel(path), f"belongs to incident {event.incident}, not {uid}")
        return event

    def load(self, folder: Path) -> LoadedIncident:
        """Fold one incident. Unreadable event files are skipped and reported; an
        incident without a readable `declared` event cannot be loaded at all."""
        from incidentctl.domain.state import FoldError, fold

        uid = folder.name[:26]
        events, problems = [], []
        for path in self.event_files(folder):
            try:
                events.append(self.read_event(path, uid))
            except BadFileError as exc:
                problems.append(FileProblem(exc.path, exc.problem))
        try:
            state = fold(events)
        except FoldError as exc:
            detail = "; ".join(str(p) for p in problems)
            raise BadFileError(
                self.rel(folder),
                f"cannot load incident: {exc}" + (f" ({detail})" if detail else ""),
            ) from None
        return LoadedIncident(state, folder, problems)

    def load_all(self) -> tuple[list[LoadedIncident], list[FileProblem]]:
        loaded, problems = [], []
        for folder in self.incident_folders():
            try:
                item = self.load(folder)
            except BadFileError as exc:
                problems.append(FileProblem(exc.path, exc.problem))
                continue
            loaded.append(item)
            problems.extend(item.problems)
        return loaded, problems

    # -- writing ---------------------------------------------------------------
    @property
    def pending_dir(self) -> Path:
        return self.git_dir / "incidentctl" / "pending"

    def write_event(self, folder: Path, event: EventBase, message: str) -> tuple[str, str]:
        """Write one event file and commit it alone. Call with the lock held.

        A journal entry in the git dir names the file until its commit lands, so a
        crash anywhere in between is finished by the next command (`recover`).
        Returns (repo-relative path, commit id).
        """
        path = folder / EVENTS / event_file_name(event)
        rel = self.rel(path)
        journal = self.pending_dir / event.id
        write_atomic(journal, f"{rel}\n{message}".encode())
        try:
            write_atomic(path, serialise_event(event), exclusive=True)
            _test_pause_after_write()
            try:
                commit = self.git.commit_paths([rel], message)
            except Exception:
                path.unlink(missing_ok=True)  # never committed, so never an event
                raise
        finally:
            journal.unlink(missing_ok=True)
        return rel, commit

    def recover(self) -> list[Recovered]:
        """Commit event files that a killed command wrote but did not commit. Lock held."""
        if not self.pending_dir.is_dir():
            return []
        recovered = []
        for entry in sorted(self.pending_dir.iterdir()):
            try:
                rel, _, message = entry.read_text(encoding="utf-8").partition("\n")
            except (OSError, UnicodeDecodeError):
                entry.unlink(missing_ok=True)
                continue
            path = self.root / rel
            for tmp in stale_temp_files(path.parent):
                tmp.unlink(missing_ok=True)
            if path.is_file() and self.git.status(rel):
                try:
                    self.read_event(path)
                except BadFileError:
                    entry.unlink(missing_ok=True)
                    continue  # left for `doctor` to report
                commit = self.git.commit_paths([rel], message + "\nRecovered: true")
                recovered.append(Recovered(rel, commit))
            entry.unlink(missing_ok=True)
        return recovered

    def iter_event_paths(self) -> Iterator[Path]:
        for folder in self.incident_folders():
            yield from self.event_files(folder)

    def write_config(self, text: str) -> None:
        write_atomic(self.config_path, text.encode("utf-8"))
