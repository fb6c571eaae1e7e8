"""The incident repo's files: one folder per incident, one TOML file per event.

incidents/<YYYY>/<incident ULID>[-slug]/events/<UTC ts>-<event ULID>.toml

The incident's ULID is its `declared` event's ID and carries the declaration time,
so finding the incidents of a day never needs to open a file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.domain.ulid import is_ulid, ulid_time
from incidentctl.domain.wording import slugify
from incidentctl.errors import BadFileError
from incidentctl.store.locate import CONFIG_NAME, git_dir_of
from incidentctl.store.lock import RepoLock

log = logging.getLogger("incidentctl")

if TYPE_CHECKING:
    import subprocess

    from incidentctl.domain.events import EventBase
    from incidentctl.domain.incident import IncidentState
    from incidentctl.store.git import Git

INCIDENTS = "incidents"
EVENTS = "events"
# Incidents to read from their files (a cold cache) before worker processes pay off:
# starting them costs about as much as reading a hundred incidents.
PARALLEL_MIN = 200
MAX_WORKERS = 8  # a container's CPU quota may be far below the host's core count


@dataclass(frozen=True)
class FileProblem:
    path: str  # relative to the repo root
    problem: str
    # a warning: the file is not used as it is in the work tree (its committed content
    # is), and nothing is missing from the fold. Reads go on, exit 0; writes go on.
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


# What HEAD holds in an incident's events/ folder: file name -> (git mode, object id).
# An empty one means "read the work tree as it is": the caller knows it matches HEAD.
Committed = dict[str, tuple[str, str]]
_FILE_MODES = ("100644", "100755")
_GIT_KINDS = {"120000": "a symbolic link", "040000": "a folder", "160000": "a submodule"}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO named like an event must not hang a read


class LoadedIncident:
    """An incident's folded state, where it lives, and any files that could not be read
    (and, as warnings, any whose work-tree copy differs from its commit)."""

    def __init__(
        self, state: IncidentState, folder: Path | str, problems: list[FileProblem] | None = None
    ) -> None:
        self.state = state
        self._folder = folder  # a str until asked for: Path() costs too much at 10k
        self.problems = problems if problems is not None else []

    @property
    def damaged(self) -> list[FileProblem]:
        """The files left out of the fold: an event may be missing from this state."""
        return [p for p in self.problems if not p.warning]

    @property
    def folder(self) -> Path:
        if isinstance(self._folder, str):
            self._folder = Path(self._folder)
        return self._folder


def event_file_name(event: EventBase) -> str:
    stamp = event.at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}.{event.at.microsecond // 1000:03d}Z-{event.id}.toml"


def serialise_event(event: EventBase) -> bytes:
    import tomli_w

    return tomli_w.dumps(event.to_record()).encode("utf-8")


class LazyTimeline(Sequence):
    """A cached incident's timeline, read from its files on first use."""

    def __init__(self, repo: IncidentRepo, folder: Path | str, committed: Committed) -> None:
        self._repo = repo
        self._folder = folder
        self._committed = committed
        self._events: list[EventBase] | None = None

    def _load(self) -> list[EventBase]:
        if self._events is None:
            loaded = self._repo.load(self._folder, self._committed)
            self._events = list(loaded.state.timeline)
        return self._events

    def __getitem__(self, index):  # type: ignore[override]
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __iter__(self):
        return iter(self._load())

    def __reduce__(self):
        # a cached state keeps no timeline (and never this repo handle): it pickles as []
        return (list, ())


class FolderKeyProbe:
    """Keys for the exact content of incident folders whose tracked files match HEAD.

    A key is the folder's git tree id at HEAD plus the mtime of its events/ folder
    (which changes when a file appears or goes). A folder with a changed, staged or
    deleted file gets no key and is always read from its files. The two git commands
    start at construction and run on the other core while the caller reads the cache.
    """

    def __init__(self, repo: IncidentRepo) -> None:
        self.repo = repo
        years = sorted(
            f"{INCIDENTS}/{p.name}/" for p in repo.incidents_dir.iterdir() if p.name.isdigit()
        )
        git = repo.git
        self._ls_tree = git.start("ls-tree", "HEAD", "--", *years) if years else None
        # HEAD against the work tree through the index: git's threaded stat of every file
        self._changed = git.start("diff-index", "--name-only", "HEAD", "--", INCIDENTS)
        # the folders with a changed, staged or deleted file (after `keys`), relative
        self.changed: set[str] = set()

    def _finish(self, proc: subprocess.Popen[bytes] | None) -> str:
        return (self.repo.git.finish(proc) or "") if proc is not None else ""

    def keys(self) -> dict[str, str]:
        trees: dict[str, str] = {}
        for line in self._finish(self._ls_tree).splitlines():
            meta, _, path = line.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "tree":
                trees[path] = parts[2]
        for path in self._finish(self._changed).splitlines():
            changed = "/".join(path.split("/")[:3])
            trees.pop(changed, None)
            self.changed.add(changed)
        keys = {}
        root = self.repo.root
        for path, tree in trees.items():
            try:
                mtime = os.stat(f"{root}/{path}/{EVENTS}").st_mtime_ns
            except OSError:
                continue
            keys[path.rsplit("/", 1)[-1]] = f"{tree}:{mtime}"
        return keys


def _cache_value(item: LoadedIncident) -> tuple[IncidentState, tuple[FileProblem, ...]]:
    """What the cache keeps of an incident: its state without the timeline, and the
    files that could not be read."""
    return dataclasses.replace(item.state, timeline=[]), tuple(item.problems)


def _ignore_interrupts() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _bare_load_chunk(job: tuple[Path, list[tuple[str, Committed]]]) -> list[tuple[str, Any]]:
    """A worker process's share of `IncidentRepo._read_in_parallel`."""
    repo = IncidentRepo(job[0])
    return [(folder, repo._bare_load(folder, committed)) for folder, committed in job[1]]


def _blob_id(data: bytes, length: int) -> str:
    """The git object id of a file with these bytes (SHA-1, or SHA-256 in a repo that
    uses it: `length` is that of the ids git gave)."""
    import hashlib

    digest = hashlib.sha256 if length == 64 else hashlib.sha1
    return digest(b"blob %d\0" % len(data) + data).hexdigest()


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

    def rel(self, path: Path | str) -> str:
        return Path(path).relative_to(self.root).as_posix()

    # -- layout ---------------------------------------------------------------
    def new_folder(self, uid: str, title: str) -> Path:
        slug = slugify(title)
        year = ulid_time(uid).year
        return self.incidents_dir / f"{year:04d}" / (f"{uid}-{slug}" if slug else uid)

    def incident_folders(self) -> list[Path]:
        """Every incident folder, oldest declaration first."""
        return [Path(p) for p in self.incident_folder_paths()]

    def incident_folder_paths(self) -> list[str]:
        if not self.incidents_dir.is_dir():
            return []
        names = []
        with os.scandir(self.incidents_dir) as years:
            for year in years:
                if year.name.isdigit() and year.is_dir():
                    with os.scandir(year.path) as entries:
                        names.extend(
                            (e.name, year.name)
                            for e in entries
                            if is_ulid(e.name[:26]) and e.is_dir()
                        )
        names.sort()
        base = str(self.incidents_dir)
        return [f"{base}/{year}/{name}" for name, year in names]

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
        return [Path(p) for p in self._event_paths(str(folder))]

    @staticmethod
    def _event_paths(folder: str) -> list[str]:
        """The event files of a folder, in name (time) order. Strings, not Paths: a cold
        read of 180,000 events spent a second building and comparing Path objects.
        Every entry named like an event is listed, file or not: reading says what it is."""
        events = f"{folder}/{EVENTS}"
        try:
            names = os.listdir(events)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [f"{events}/{n}" for n in sorted(names) if n.endswith(".toml") and n[0] != "."]

    def read_bytes(self, path: Path | str) -> bytes:
        """The bytes of a file in the repo: a regular file, never read through a
        symbolic link (a committed link could point anywhere on the reader's disk)."""
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
        except OSError as exc:
            if os.path.islink(path):
                raise BadFileError(self.rel(path), "a symbolic link, not a file") from None
            if isinstance(exc, FileNotFoundError):
                raise BadFileError(self.rel(path), "missing") from None
            raise BadFileError(self.rel(path), f"cannot read: {exc.strerror}") from None
        try:
            mode = os.fstat(fd).st_mode
            if not _NOFOLLOW and os.path.islink(path):
                raise BadFileError(self.rel(path), "a symbolic link, not a file")
            if stat.S_ISDIR(mode):
                raise BadFileError(self.rel(path), "a folder, not a file")
            if not stat.S_ISREG(mode):
                raise BadFileError(self.rel(path), "not a regular file")
            with open(fd, "rb", closefd=False) as fh:
                return fh.read()
        except OSError as exc:
            raise BadFileError(self.rel(path), f"cannot read: {exc.strerror}") from None
        finally:
            os.close(fd)

    def parse_record(self, path: Path | str, data: bytes) -> dict[str, Any]:
        try:
            return tomllib.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadFileError(self.rel(path), "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise BadFileError(self.rel(path), f"invalid TOML: {exc}") from None

    def read_record(self, path: Path | str) -> dict[str, Any]:
        return self.parse_record(path, self.read_bytes(path))

    def parse_event(self, path: Path | str, data: bytes, uid: str | None = None) -> EventBase:
        """One event from a file's bytes; BadFileError names the file and the problem."""
        from incidentctl.domain.events import EventError, parse_event

        record = self.parse_record(path, data)
        try:
            event = parse_event(record)
        except EventError as exc:
            raise BadFileError(self.rel(path), str(exc)) from None
        if uid is not None and event.incident != uid:
            raise BadFileError(self.rel(path), f"belongs to incident {event.incident}, not {uid}")
        return event

    def read_event(self, path: Path | str, uid: str | None = None) -> EventBase:
        return self.parse_event(path, self.read_bytes(path), uid)

    def human_ids(self, folder: Path) -> tuple[str, list[str]]:
        """(current human ID, former ones) of an incident, reading only its `declared`
        event and the first line of the others, where the type is, to find renumberings:
        finding INC-... must not cost a full fold of every incident declared that day.
        A file that cannot be read is passed over here (loading the incident names it);
        without its `declared` event, the incident has no ID."""
        from incidentctl.domain.events import Declared, Renumbered

        uid = folder.name[:26]
        renumbered: list[EventBase] = []
        declared = None
        for path in self.event_files(folder):
            if path.stem.endswith(uid):
                event = self.read_event(path, uid)
                if isinstance(event, Declared):
                    declared = event
                continue
            try:
                data = self.read_bytes(path)
            except BadFileError:
                continue
            if b'"renumbered"' in data.split(b"\n", 1)[0]:
                try:
                    event = self.parse_event(path, data, uid)
                except BadFileError:
                    continue
                if isinstance(event, Renumbered):
                    renumbered.append(event)
        if declared is None:
            raise BadFileError(self.rel(folder), "cannot load incident: no 'declared' event")
        current, former = declared.human_id, []
        for event in sorted(renumbered, key=lambda e: e.sort_key()):
            former.append(current)
            current = event.human_id
        return current, former

    def committed_events(self, folders: list[str]) -> dict[str, Committed]:
        """What HEAD holds in each incident folder's events/ (folders as absolute path
        strings): one `git ls-tree` for them all. Nothing, before the first commit."""
        found: dict[str, Committed] = {folder: {} for folder in folders}
        rels = [self._events_rel(folder) for folder in folders]
        for i in range(0, len(rels), 1000):  # keep the command line short
            chunk = folders[i : i + 1000]
            out = self.git.run_quiet("ls-tree", "-z", "HEAD", "--", *rels[i : i + 1000])
            for folder, held in self._parse_ls_tree(out, chunk).items():
                found[folder] = held
        return found

    def _events_rel(self, folder: str) -> str:
        return f"{self.rel(folder)}/{EVENTS}/"

    def _parse_ls_tree(self, out: str, folders: list[str]) -> dict[str, Committed]:
        by_rel = {self._events_rel(folder)[:-1]: folder for folder in folders}
        found: dict[str, Committed] = {folder: {} for folder in folders}
        for item in out.split("\0"):
            meta, _, path = item.partition("\t")
            parts = meta.split()
            parent, _, name = path.rpartition("/")
            if len(parts) == 3 and parent in by_rel:
                found[by_rel[parent]][name] = (parts[0], parts[2])
        return found

    def _read_work(self, path: str, uid: str) -> tuple[bytes | None, EventBase | None, list]:
        """(bytes, event, problems) of one work-tree entry of events/."""
        try:
            data = self.read_bytes(path)
        except BadFileError as exc:
            return None, None, [FileProblem(exc.path, exc.problem)]
        try:
            return data, self.parse_event(path, data, uid), []
        except BadFileError as exc:
            return data, None, [FileProblem(exc.path, exc.problem)]

    def _as_committed(
        self,
        path: str,
        held: tuple[str, str],
        work: tuple[bytes | None, EventBase | None, list],
        uid: str,
    ) -> tuple[bytes | None, EventBase | None, list]:
        """An entry of events/ as HEAD holds it: the work-tree reading when its bytes
        are the committed ones; else the committed bytes, with a warning naming the
        file (the committed history is the truth)."""
        mode, oid = held
        rel = self.rel(path)
        if mode not in _FILE_MODES:
            kind = _GIT_KINDS.get(mode, f"git mode {mode}")
            return None, None, [FileProblem(rel, f"committed as {kind}, not an event file")]
        data, _event, problems = work
        if data is not None and _blob_id(data, len(oid)) == oid:
            return work
        from incidentctl.store.history import read_blob

        try:
            committed = read_blob(self.git, oid)
        except Exception as exc:  # a broken object store: say so, as for a bad file
            return None, None, [FileProblem(rel, f"its committed content cannot be read: {exc}")]
        out: list = []
        if data is None or data.replace(b"\r\n", b"\n") != committed.replace(b"\r\n", b"\n"):
            # (only line endings differing is core.autocrlf at work, not a change)
            if data is not None:
                how = "differs from its commit"
            elif problems and problems[0].problem == "missing":
                how = "is missing from the work tree"
            else:
                how = f"is unreadable in the work tree ({problems[0].problem})"
            fix = f"restore it: git checkout -- {rel}"
            out.append(
                FileProblem(rel, f"{how}; its committed content is used ({fix})", warning=True)
            )
        try:
            return committed, self.parse_event(path, committed, uid), out
        except BadFileError as exc:
            return committed, None, [*out, FileProblem(exc.path, exc.problem)]

    def load(self, folder: Path | str, committed: Committed | None = None) -> LoadedIncident:
        """Fold one incident as committed. An event file whose work-tree copy differs
        from its commit is folded from its commit and reported as a warning; one that
        cannot be read (not a file, a symbolic link, malformed, an unknown type or
        schema) is skipped and reported. An incident without a readable `declared`
        event cannot be loaded at all.

        `committed` is what HEAD holds in its events/ (`committed_events`): None asks
        git (while the files are read); empty reads the work tree as it is (the caller
        knows it matches HEAD). A file HEAD does not hold (a write a killed command
        left) is read as it is.
        """
        from incidentctl.domain.state import FoldError, fold

        folder = str(folder)
        asking = None
        if committed is None:  # runs on the other core while the files are parsed
            asking = self.git.start("ls-tree", "-z", "HEAD", "--", self._events_rel(folder))
        uid = folder.rsplit("/", 1)[-1][:26]
        found = {path: self._read_work(path, uid) for path in self._event_paths(folder)}
        if asking is not None:
            committed = self._parse_ls_tree(self.git.finish(asking) or "", [folder])[folder]
        if committed:
            events_dir = f"{folder}/{EVENTS}"
            for name, held in committed.items():
                if name.endswith(".toml") and name[0] != ".":
                    path = f"{events_dir}/{name}"
                    work = found.get(path) or (None, None, [FileProblem(self.rel(path), "missing")])
                    found[path] = self._as_committed(path, held, work, uid)
        events, problems = [], []
        for path in sorted(found):
            _data, event, entry_problems = found[path]
            problems.extend(entry_problems)
            if event is not None:
                events.append(event)
        try:
            state = fold(events)
        except FoldError as exc:
            detail = "; ".join(str(p) for p in problems)
            raise BadFileError(
                self.rel(folder),
                f"cannot load incident: {exc}" + (f" ({detail})" if detail else ""),
            ) from None
        return LoadedIncident(state, folder, problems)

    def load_all(
        self, *, use_cache: bool = True, parallel_min: int = PARALLEL_MIN
    ) -> tuple[list[LoadedIncident], list[FileProblem]]:
        """Every incident, folded as committed. With the cache, an incident whose folder
        is unchanged since it was cached comes back without reading its files. Either
        way its timeline is read only if someone looks at it. `parallel_min` or more
        incidents to read from their files are read by worker processes, one per core.
        Only folders that differ from HEAD are compared with their commit."""
        from incidentctl.store.cache import StateCache

        # git stats every tracked file; let it run on the other core while we read the cache
        probe = FolderKeyProbe(self) if self.incidents_dir.is_dir() else None
        folders = self.incident_folder_paths()
        cache = StateCache(self.root)
        cached = cache.read() if probe is not None and use_cache else {}
        keys = probe.keys() if probe is not None else {}
        fresh: dict[str, tuple[str, Any]] = {}

        def usable(name: str) -> bool:
            hit, key = cached.get(name), keys.get(name)
            return key is not None and hit is not None and hit[0] == key

        misses = [folder for folder in folders if not usable(folder.rsplit("/", 1)[-1])]
        base = f"{self.root}/"
        changed = {f"{base}{rel}" for rel in probe.changed} if probe is not None else set()
        held = self.committed_events([f for f in misses if f in changed]) if changed else {}
        read = self._read_in_parallel(misses, held) if len(misses) >= parallel_min else {}
        loaded, problems = [], []
        for folder in folders:
            name = folder.rsplit("/", 1)[-1]
            committed = held.get(folder, {})
            # (state without timeline, problems), from the cache or a worker
            value = cached[name][1] if usable(name) else read.get(folder)
            if isinstance(value, FileProblem):
                problems.append(value)
                continue
            if value is None:  # read here: its timeline is at hand
                try:
                    item = self.load(folder, committed)
                except BadFileError as exc:
                    problems.append(FileProblem(exc.path, exc.problem))
                    continue
                value = _cache_value(item)
            else:  # the timeline stays on disk till asked for
                state, item_problems = value
                state.timeline = LazyTimeline(self, folder, committed)
                item = LoadedIncident(state, folder, list(item_problems))
            if name in keys:
                fresh[name] = (keys[name], value)
            loaded.append(item)
            problems.extend(item.problems)
        if (
            probe is not None
            and use_cache
            and (
                fresh.keys() != cached.keys()
                or any(cached[name][0] != entry[0] for name, entry in fresh.items())
            )
        ):
            cache.write(fresh)
        return loaded, problems

    def _bare_load(
        self, folder: str, committed: Committed | None = None
    ) -> tuple[IncidentState, tuple[FileProblem, ...]] | FileProblem:
        """What the cache keeps of one incident, or why it cannot be loaded."""
        try:
            return _cache_value(self.load(folder, {} if committed is None else committed))
        except BadFileError as exc:
            return FileProblem(exc.path, exc.problem)

    def _read_in_parallel(
        self, folders: list[str], committed: dict[str, Committed] | None = None
    ) -> dict[str, Any]:
        """folder -> `_bare_load(folder)`, read by forked workers, one per core (reading
        and validating 180,000 event files is CPU-bound). Empty where that is unsafe or
        pointless: no fork (not Linux), one core, or threads running (`watch`)."""
        import threading

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        if sys.platform != "linux" or cores < 2 or threading.active_count() > 1:
            return {}
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        workers = min(cores, MAX_WORKERS)
        held = committed or {}
        jobs = [(folder, held.get(folder, {})) for folder in folders]
        chunks = [jobs[i :: workers * 4] for i in range(workers * 4)]
        sys.stdout.flush()  # nothing buffered may be written twice
        sys.stderr.flush()
        try:
            with ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_ignore_interrupts,
            ) as pool:
                try:
                    results = list(pool.map(_bare_load_chunk, [(self.root, c) for c in chunks]))
                except BaseException:
                    # Ctrl-C (which the workers ignore) or a failure: stop them now, not
                    # after the chunks they are reading
                    for child in multiprocessing.active_children():
                        child.terminate()
                    raise
        except (OSError, BrokenProcessPool) as exc:  # no processes, or one was killed
            log.debug("parallel read failed (%s); reading in one process", exc)
            return {}
        return {f: r for chunk in results for f, r in chunk}

    # -- records outside incidents/ (on-call overrides) -----------------------------
    def record_files(self, rel_dir: str) -> list[Path]:
        """The TOML records in `rel_dir`, oldest name first."""
        folder = self.root / rel_dir
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix == ".toml" and p.name[0] != ".")

    def uncommitted_records(self, rel_dir: str) -> list[Path]:
        """Record files in `rel_dir` that a killed command wrote but did not commit."""
        if not (self.root / rel_dir).is_dir():
            return []
        return sorted(
            self.root / rel
            for code, rel in self.git.status(rel_dir)
            if (code == "??" or code[0] == "A") and rel.endswith(".toml")
        )

    def incidents_signature(self) -> tuple[tuple[str, int], ...]:
        """Changes whenever an event file or incident folder is added or removed, by
        this process, another one, or a sync: the mtimes of every folder that holds
        them. Cheap enough to poll every second; needs no git."""
        marks: list[tuple[str, int]] = []
        folders = [self.incidents_dir]
        if self.incidents_dir.is_dir():
            folders += [y for y in self.incidents_dir.iterdir() if y.is_dir()]
            folders += [f / EVENTS for f in self.incident_folders()]
        for folder in folders:
            try:
                marks.append((folder.as_posix(), folder.stat().st_mtime_ns))
            except OSError:
                marks.append((folder.as_posix(), -1))
        return tuple(marks)
