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
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.domain.ulid import is_ulid, time_part, ulid_time
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
    from incidentctl.store.history import Objects

INCIDENTS = "incidents"
EVENTS = "events"
# Incidents to read from their files (a cold cache) before worker processes pay off:
# starting them costs about as much as reading a hundred incidents.
PARALLEL_MIN = 200
CHUNK_INCIDENTS = 250  # incidents a worker reads at a time (see _read_in_parallel)
RACY_NS = 20_000_000  # 20 ms: several ticks of the kernel's file-time clock
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
# year -> (its tree id, {incident folder name: tree id}), as the cache keeps it
YearTrees = dict[str, tuple[str, dict[str, str]]]
_FILE_MODES = ("100644", "100755")
_GIT_KINDS = {"120000": "a symbolic link", "040000": "a folder", "160000": "a submodule"}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO named like an event must not hang a read


# What a listing needs of an incident without its state: (uid, human ID, title,
# severity, status, declared at (microseconds since the epoch), drill, former IDs, open actions as (number, title),
# resolved at (microseconds since the epoch, or None)).
# The cache keeps this beside each state's pickled bytes (store/cache.py).
BriefTuple = tuple[
    str, str, str, str, str, Any, bool, tuple[str, ...], tuple[tuple[int, str], ...], Any
]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Brief:
    """The few fields `list`, `status`, completion and `-` decide on, without the state:
    a cached incident's state is unpickled only when someone looks at it."""

    __slots__ = (
        "aliases",
        "declared_at",
        "drill",
        "human_id",
        "open_actions",
        "resolved_us",
        "severity",
        "status",
        "title",
        "uid",
    )

    def __init__(self, values: BriefTuple) -> None:
        (
            self.uid,
            self.human_id,
            self.title,
            self.severity,
            self.status,
            declared,
            self.drill,
            self.aliases,
            self.open_actions,
            self.resolved_us,  # microseconds since the epoch, or None
        ) = values
        # kept as microseconds since the epoch: 10,000 datetimes unpickle slowly
        self.declared_at = _EPOCH + timedelta(microseconds=declared)

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def resolved_at(self) -> datetime | None:
        return (
            None if self.resolved_us is None else _EPOCH + timedelta(microseconds=self.resolved_us)
        )


def brief_of(state: IncidentState) -> BriefTuple:
    return (
        state.uid,
        state.human_id,
        state.title,
        state.severity,
        state.status,
        (state.declared_at - _EPOCH) // _MICROSECOND,
        state.drill,
        tuple(state.aliases),
        tuple((a.number, a.title) for a in state.actions if a.is_open),
        None if state.resolved_at is None else (state.resolved_at - _EPOCH) // _MICROSECOND,
    )


class LoadedIncident:
    """An incident's folded state, where it lives, and any files that could not be read
    (and, as warnings, any whose work-tree copy differs from its commit).

    From the cache, the state is its pickled bytes until `state` is first read; `brief`
    (and `tree`, the folder's tree id) are there at once."""

    def __init__(
        self,
        state: IncidentState | None,
        folder: Path | str,
        problems: list[FileProblem] | None = None,
        *,
        pickled: bytes | None = None,
        brief: BriefTuple | None = None,
        timeline: Sequence | None = None,
        tree: str | None = None,
        loader: Callable[[], IncidentState] | None = None,
    ) -> None:
        self._state = state
        self._pickled = pickled
        self._loader = loader
        self._brief_object: Brief | None = None
        self._brief = brief
        self._timeline = timeline
        self._folder = folder  # a str until asked for: Path() costs too much at 10k
        self.problems = problems if problems is not None else []
        self.uncommitted = False  # its fold took in an entry HEAD does not hold
        self.tree = tree

    @property
    def state(self) -> IncidentState:
        if self._state is None:
            import pickle

            if self._pickled is not None:
                state: IncidentState = pickle.loads(self._pickled)
            else:
                assert self._loader is not None
                state = self._loader()
            if self._timeline is not None:
                state.timeline = self._timeline
            self._state, self._pickled, self._loader = state, None, None
        return self._state

    @state.setter
    def state(self, value: IncidentState) -> None:
        self._state, self._pickled, self._brief = value, None, None
        self._brief_object = None

    @property
    def brief(self) -> Brief:
        if self._brief_object is None:
            if self._brief is None:
                self._brief = brief_of(self.state)
            self._brief_object = Brief(self._brief)
        return self._brief_object

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


def _cache_value(item: LoadedIncident) -> tuple[BriefTuple, tuple[FileProblem, ...], bytes]:
    """What the cache keeps of an incident: its brief, the files that could not be read,
    and its state without the timeline, pickled (unpickled only if it is looked at)."""
    import pickle

    state = item.state
    return (
        brief_of(state),
        tuple(item.problems),
        pickle.dumps(dataclasses.replace(state, timeline=[]), protocol=pickle.HIGHEST_PROTOCOL),
    )


def _ignore_interrupts() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _bare_load_chunk(job: tuple[Path, list[tuple[str, Committed, int]]]) -> list[tuple[str, Any]]:
    """A worker process's share of `IncidentRepo._read_in_parallel`: its own
    `git cat-file --batch --buffer` for its incidents' blobs."""
    from incidentctl.store.history import read_blobs

    repo = IncidentRepo(job[0])
    blobs = read_blobs(repo.git, [oid for _f, held, _w in job[1] for _m, oid in held.values()])
    return [(folder, repo._bare_load(folder, held, work, blobs)) for folder, held, work in job[1]]


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
        self._objects: Objects | None = None
        self._sparse: bool | None = None
        self._ids: dict[str, tuple[str, str, tuple[str, ...]]] | None = None
        self.year_trees: YearTrees = {}  # what `committed_folders` last read

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

    @property
    def objects(self) -> Objects:
        """This command's reader of the object store (one `git cat-file --batch`)."""
        if self._objects is None:
            from incidentctl.store.history import Objects

            self._objects = Objects(self.git)
        return self._objects

    @property
    def sparse(self) -> bool:
        """Whether this work tree is a sparse checkout (store/sparse.py)."""
        if self._sparse is None:
            from incidentctl.store.sparse import is_sparse

            self._sparse = is_sparse(self.git_dir)
        return self._sparse

    def committed_folders(
        self, years: set[str] | None = None, known: YearTrees | None = None
    ) -> dict[str, tuple[str, str]]:
        """folder name -> (path relative to the root, tree id) of every incident folder
        HEAD holds (of `years` only, if given), from the object store: a sparse work tree
        has only the open incidents' folders. `known` (year -> (year tree id, {name: tree
        id}), from the cache) saves listing a year whose tree has not changed; what was
        read is left in `self.year_trees`."""
        objects = self.objects
        root = objects.root()
        found: dict[str, tuple[str, str]] = {}
        self.year_trees = {}
        if root is None:
            return found
        top = objects.tree(f"{root}:{INCIDENTS}") or {}
        for year, (mode, oid) in sorted(top.items()):
            if mode != "040000" or not year.isdigit() or (years is not None and year not in years):
                continue
            if known and year in known and known[year][0] == oid:
                names = known[year][1]
            else:
                entries = objects.tree(oid) or {}
                names = {n: o for n, (m, o) in entries.items() if m == "040000" and is_ulid(n[:26])}
            self.year_trees[year] = (oid, names)
            for name, tree in names.items():
                found[name] = (f"{INCIDENTS}/{year}/{name}", tree)
        return found

    def incident_folders(self) -> list[Path]:
        """Every incident folder, oldest declaration first."""
        return [Path(p) for p in self.incident_folder_paths()]

    def incident_folder_paths(self, years: set[str] | None = None) -> list[str]:
        """Every incident folder (absolute path strings), oldest declaration first: the
        ones HEAD holds, whether checked out or not, and any a killed command left
        uncommitted in the work tree."""
        base = str(self.root)
        folders = {
            name: f"{base}/{rel}" for name, (rel, _t) in self.committed_folders(years).items()
        }
        for path in self.disk_folder_paths(years):
            folders.setdefault(path.rsplit("/", 1)[-1], path)
        return [folders[name] for name in sorted(folders)]

    def disk_folder_paths(self, years: set[str] | None = None) -> list[str]:
        """The incident folders in the work tree (a sparse one has only its cone's)."""
        if not self.incidents_dir.is_dir():
            return []
        names = []
        with os.scandir(self.incidents_dir) as entries_of_years:
            for year in entries_of_years:
                if year.name.isdigit() and (years is None or year.name in years) and year.is_dir():
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
        """The folders whose ULID was made on `day` (UTC): a range of names, compared as
        strings (decoding every ULID of a year took longer than the lookup's git)."""
        start = datetime.combine(day, dtime(0), tzinfo=UTC)
        low, high = time_part(start), time_part(start + timedelta(days=1))
        return [
            Path(p)
            for p in self.incident_folder_paths({f"{day.year:04d}"})
            if low <= p.rsplit("/", 1)[-1][:10].upper() < high
        ]

    def folders_with_prefix(self, prefix: str) -> list[Path]:
        prefix = prefix.upper()
        years = None
        if len(prefix) >= 10 and is_ulid(prefix[:10] + "0" * 16):  # the time part: one year
            try:
                years = {f"{ulid_time(prefix[:10] + '0' * 16).year:04d}"}
            except (ValueError, OverflowError):  # a time no incident has
                return []
        return [
            Path(p)
            for p in self.incident_folder_paths(years)
            if p.rsplit("/", 1)[-1][:26].startswith(prefix)
        ]

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
        """(current human ID, former ones) of an incident: from the ID cache when its
        folder's tree is the one cached (finding INC-... must not fold every incident
        declared that day), else from its fold."""
        from incidentctl.store.cache import StateCache

        name = Path(folder).name
        if self._ids is None:
            self._ids = StateCache(self.root).read_ids()
        hit = self._ids.get(name)
        if hit is not None:
            tree = self._folder_tree(self.rel(folder))
            if tree is not None and tree == hit[0]:
                return hit[1], list(hit[2])
        state = self.load(folder).state
        return state.human_id, list(state.aliases)

    def _folder_tree(self, rel: str) -> str | None:
        got = self.objects._ask(f"HEAD:{rel}")
        return got[0] if got is not None and got[1] == "tree" else None

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

    def committed_listing(self, rels: list[str], every: bool = False) -> dict[str, Committed]:
        """rel folder -> what HEAD holds in its events/, for many folders: one
        `git ls-tree` (of all of incidents/ with `every`, else of their events/)."""
        found: dict[str, Committed] = {rel: {} for rel in rels}
        if every:
            self._list_every(found)
            return found
        for i in range(0, len(rels), 1000):  # keep the command line short
            chunk = [f"{rel}/{EVENTS}/" for rel in rels[i : i + 1000]]
            out = self.git.run_quiet("ls-tree", "-z", "HEAD", "--", *chunk)
            for item in out.split("\0"):
                meta, _, path = item.partition("\t")
                parts = meta.split()
                parent, _, name = path.rpartition("/")
                folder = parent[: -len(EVENTS) - 1]
                if len(parts) == 3 and folder in found:
                    found[folder][name] = (parts[0], parts[2])
        return found

    def _list_every(self, found: dict[str, Committed]) -> None:
        """`git ls-tree -r` of incidents/ into `found`, parsed as it streams in: holding
        its whole output (180,000 lines at N = 10,000) and its split doubled the read's
        peak memory. Nothing, if git fails (no HEAD yet)."""
        from incidentctl.store.git import BULK_READ

        proc = self.git.start(*BULK_READ, "ls-tree", "-r", "-z", "HEAD", "--", f"{INCIDENTS}/")
        assert proc.stdout is not None
        rest = b""
        while chunk := proc.stdout.read(1 << 20):
            items = (rest + chunk).split(b"\0")
            rest = items.pop()
            self._parse_ls_tree_r(items, found)
        self._parse_ls_tree_r([rest], found)
        proc.communicate()
        if proc.returncode != 0:
            for held in found.values():
                held.clear()

    @staticmethod
    def _parse_ls_tree_r(items: list[bytes], found: dict[str, Committed]) -> None:
        modes: dict[str, str] = {}  # one string per mode, not one per file
        for raw in items:
            item = raw.decode("utf-8", "surrogateescape")
            meta, _, path = item.partition("\t")
            parts = path.split("/")
            if len(parts) < 5 or parts[3] != EVENTS:
                continue
            folder = "/".join(parts[:3])
            held = found.get(folder)
            if held is None:
                continue
            if len(parts) == 5:
                fields = meta.split()
                if len(fields) == 3:
                    held[parts[4]] = (modes.setdefault(fields[0], fields[0]), fields[2])
            else:  # a file inside a folder in events/: the folder is the entry
                held[parts[4]] = ("040000", "")

    def _committed_of(self, rel: str) -> Committed:
        """What HEAD holds in one incident folder's events/ (through the object store)."""
        return self.objects.tree(f"HEAD:{rel}/{EVENTS}") or {}

    def load(
        self,
        folder: Path | str,
        committed: Committed | None = None,
        *,
        work: int = 2,
        blobs: dict[str, bytes] | None = None,
    ) -> LoadedIncident:
        """Fold one incident as committed: its events are read from the object store,
        never from the work tree. An event file whose work-tree copy differs from its
        commit (or is missing, or unreadable) is reported as a warning; an entry that
        cannot be read (committed as a link or a folder, malformed, an unknown type or
        schema) is skipped and reported. An incident without a readable `declared`
        event cannot be loaded at all.

        `committed` is what HEAD holds in its events/ (None or empty: asked here).
        `work` says how much of the work tree to look at: 0 none (a folder outside a
        sparse checkout), 1 its entry names only (its tracked files are known to match
        HEAD: `git status` said so), 2 names and bytes. An entry HEAD does not hold (a
        write a killed command left) is read from the work tree as it is.
        """
        from incidentctl.domain.state import FoldError, fold

        folder = str(folder)
        rel = self.rel(folder)
        uid = folder.rsplit("/", 1)[-1][:26]
        if not committed:
            committed = self._committed_of(rel)
        events_dir = f"{folder}/{EVENTS}"
        names: set[str] | None = None
        if work:
            try:
                names = {n for n in os.listdir(events_dir) if n.endswith(".toml") and n[0] != "."}
            except (FileNotFoundError, NotADirectoryError):
                names = None  # not checked out (sparse), or gone (said below)
        compare = work >= 2 and (names is not None or not self.sparse)
        if blobs is None and committed:
            blobs = {}
            objects = self.objects
            for _mode, oid in committed.values():
                data = objects.blob(oid) if oid else None
                if data is not None:
                    blobs[oid] = data
        events, problems = [], []
        uncommitted = False
        for name in sorted(set(committed) | (names or set())):
            if not name.endswith(".toml") or name[0] == ".":
                continue
            path = f"{events_dir}/{name}"
            held = committed.get(name)
            if held is None:  # never committed: read as it is
                _data, event, found = self._read_work(path, uid)
                uncommitted = True
            else:
                event, found = self._read_committed(path, held, blobs or {}, uid)
                if compare:
                    found = self._compare_work(path, held, blobs or {}, names or set()) + found
            problems.extend(found)
            if event is not None:
                events.append(event)
        try:
            state = fold(events)
        except FoldError as exc:
            detail = "; ".join(str(p) for p in problems)
            raise BadFileError(
                rel, f"cannot load incident: {exc}" + (f" ({detail})" if detail else "")
            ) from None
        loaded = LoadedIncident(state, folder, problems)
        loaded.uncommitted = uncommitted
        return loaded

    def _read_committed(
        self, path: str, held: tuple[str, str], blobs: dict[str, bytes], uid: str
    ) -> tuple[EventBase | None, list[FileProblem]]:
        mode, oid = held
        if mode not in _FILE_MODES:
            # said as a checked-out copy would be: what it is, not a file
            kind = _GIT_KINDS.get(mode, f"committed with git mode {mode}")
            return None, [FileProblem(self.rel(path), f"{kind}, not a file")]
        data = blobs.get(oid)
        if data is None:
            return None, [FileProblem(self.rel(path), "its committed content cannot be read")]
        try:
            return self.parse_event(path, data, uid), []
        except BadFileError as exc:
            return None, [FileProblem(exc.path, exc.problem)]

    def _compare_work(
        self, path: str, held: tuple[str, str], blobs: dict[str, bytes], names: set[str]
    ) -> list[FileProblem]:
        """A warning if the work-tree copy of a committed event is not its commit."""
        mode, oid = held
        if mode not in _FILE_MODES:
            return []
        rel = self.rel(path)
        fix = f"restore it: git checkout -- {rel}"
        if path.rsplit("/", 1)[-1] not in names:
            how = "is missing from the work tree"
        else:
            try:
                data = self.read_bytes(path)
            except BadFileError as exc:
                how = f"is unreadable in the work tree ({exc.problem})"
            else:
                if _blob_id(data, len(oid)) == oid:
                    return []
                committed = blobs.get(oid, b"")
                if data.replace(b"\r\n", b"\n") == committed.replace(b"\r\n", b"\n"):
                    return []  # only line endings: core.autocrlf at work, not a change
                how = "differs from its commit"
        return [FileProblem(rel, f"{how}; its committed content is used ({fix})", warning=True)]

    def _changed_folders(self, proc: subprocess.Popen[bytes] | None) -> set[str]:
        """The names of the incident folders with a tracked file changed in the index or
        the work tree, from `git status -uno` (sparse-index safe: on a sparse index it
        looks at the checked-out folders only)."""
        changed: set[str] = set()
        out = (self.git.finish(proc) or "") if proc is not None else ""
        for item in out.split("\0"):
            parts = item[3:].split("/")
            if len(item) > 3 and len(parts) >= 4 and parts[0] == INCIDENTS:
                changed.add(parts[2])
        return changed

    def _same_names(self, folder: str, tree: str) -> bool:
        """Whether a checked-out folder's events/ holds the entries HEAD holds, no more
        (its mtime changed, or was too recent to trust: one look, no fold)."""
        try:
            names = {n for n in os.listdir(f"{folder}/{EVENTS}") if n.endswith(".toml")}
        except OSError:
            return False
        held = self.objects.tree(f"{tree}:{EVENTS}") or {}
        return {n for n in names if n[0] != "."} == {
            n for n in held if n.endswith(".toml") and n[0] != "."
        }

    def start_status(self) -> subprocess.Popen[bytes]:
        """`git status -uno` of incidents/, started: what differs from HEAD in tracked
        files (never `diff-index HEAD`, which expands a sparse index). It takes no
        optional lock, so a read never stands in a writer's way."""
        return self.git.start(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=no",
            "--no-renames",
            "--",
            INCIDENTS,
            env={"GIT_OPTIONAL_LOCKS": "0"},
        )

    def load_all(
        self, *, use_cache: bool = True, parallel_min: int = PARALLEL_MIN
    ) -> tuple[list[LoadedIncident], list[FileProblem]]:
        """Every incident, folded as committed, from the object store. An incident whose
        folder's tree id is the cached one comes back from the cache; a warm read is one
        `git cat-file --batch` (HEAD's tree, incidents/, each year whose tree changed),
        one `git status -uno`, and a stat of each checked-out folder's events/ (a file
        that appeared there). Timelines are read only if someone looks at them.
        `parallel_min` or more incidents to fold are read by worker processes."""
        from incidentctl.store.cache import StateCache

        status = self.start_status() if self.incidents_dir.is_dir() else None
        cache = StateCache(self.root)
        cached = cache.read() if use_cache else {}
        known_years = cached.get("years", {})
        cached_folders = cached.get("folders", {})
        committed = self.committed_folders(known=known_years)
        base = f"{self.root}/"
        disk = {p.rsplit("/", 1)[-1]: p for p in self.disk_folder_paths()}
        changed = self._changed_folders(status)
        names = sorted(set(committed) | set(disk))
        now_ns = time.time_ns()
        mtimes: dict[str, int | None] = {}
        plan: dict[str, int] = {}  # folder name -> work mode, for the ones to fold
        hits: dict[str, Any] = {}
        for name in names:
            held = committed.get(name)
            mtime = None
            if name in disk:
                try:
                    mtime = os.stat(f"{disk[name]}/{EVENTS}").st_mtime_ns
                except OSError:
                    mtime = None
            # a mtime this recent may not change when a file is added within its clock
            # tick (the kernel's coarse clock): check such a folder again next time
            mtimes[name] = mtime if mtime is None or now_ns - mtime > RACY_NS else -1
            work = 0 if name not in disk else (2 if name in changed else 1)
            entry = cached_folders.get(name)
            if (
                held is not None
                and work < 2
                and entry is not None
                and entry[0] == held[1]
                and (
                    work == 0
                    or (entry[1] == mtime and mtime is not None)
                    or self._same_names(disk[name], held[1])
                )
            ):
                hits[name] = entry[2]
            else:
                plan[name] = work
        path_of = {n: disk.get(n) or f"{base}{committed[n][0]}" for n in names}
        rels = [committed[n][0] for n in plan if n in committed]
        every = len(rels) >= parallel_min and len(rels) * 2 >= len(committed)
        listing = self.committed_listing(rels, every=every) if rels else {}
        held_of = {n: listing.get(committed[n][0], {}) if n in committed else {} for n in plan}
        read: dict[str, Any] = {}
        if len(plan) >= parallel_min:
            read = self._read_in_parallel(
                [path_of[n] for n in plan],
                {path_of[n]: held_of[n] for n in plan},
                {path_of[n]: plan[n] for n in plan},
            )
        missing = [n for n in plan if path_of[n] not in read]
        blobs = {}
        if missing:
            from incidentctl.store.history import read_blobs

            blobs = read_blobs(
                self.git, [oid for n in missing for _m, oid in held_of[n].values() if oid]
            )
        loaded, problems = [], []
        fresh: dict[str, tuple[str, int | None, Any]] = {}
        for name in names:
            folder = path_of[name]
            held = committed.get(name)
            value = hits.get(name) or read.get(folder)
            if isinstance(value, FileProblem):
                problems.append(value)
                continue
            if value is None:  # read here: its timeline is at hand
                try:
                    item = self.load(folder, held_of[name], work=plan[name], blobs=blobs)
                except BadFileError as exc:
                    problems.append(FileProblem(exc.path, exc.problem))
                    continue
                item.tree = held[1] if held is not None else None
                value = _cache_value(item)
            else:  # the state stays pickled, and its timeline in the object store, till asked for
                brief, item_problems, pickled = value
                tree = held[1] if held is not None else None
                item = LoadedIncident(
                    None,
                    folder,
                    list(item_problems),
                    pickled=pickled,
                    brief=brief,
                    timeline=LazyTimeline(self, folder, held_of.get(name, {})),
                    tree=tree,
                    loader=self._cached_state(cache, name, tree, folder, brief[4] != "resolved"),
                )
            # only what HEAD holds, with nothing else in the work tree, is cached
            clean = held is not None and not any(p.warning for p in value[1])
            clean = clean and (name not in plan or plan[name] < 2)
            clean = clean and not item.uncommitted
            if clean:
                fresh[name] = (held[1], mtimes[name], value)
            elif name in cached_folders and held is not None and cached_folders[name][0] == held[1]:
                fresh[name] = (*cached_folders[name][:2], cached_folders[name][2])
            loaded.append(item)
            problems.extend(item.problems)
        if use_cache and (
            fresh.keys() != cached_folders.keys()
            or any(cached_folders[n][:2] != e[:2] for n, e in fresh.items())
            or known_years.keys() != self.year_trees.keys()
            or any(known_years[y][0] != t[0] for y, t in self.year_trees.items())
        ):
            cache.write({"years": self.year_trees, "folders": fresh})
            cache.write_ids({n: (e[0], e[2][0][1], e[2][0][7]) for n, e in fresh.items()})
        return loaded, problems

    def _cached_state(
        self, cache: Any, name: str, tree: str | None, folder: str, brief_open: bool
    ) -> Callable[[], IncidentState]:
        """What unpickles a cache hit's state when it is first looked at: from the
        cache's states file (of the open or the resolved ones) if it holds this tree
        id's, else folded again."""

        def state() -> IncidentState:
            import pickle

            held = cache.states(brief_open).get(name)
            if held is not None and tree is not None and held[0] == tree:
                found: IncidentState = pickle.loads(held[1])
                return found
            return dataclasses.replace(self.load(folder).state, timeline=[])

        return state

    def _bare_load(
        self,
        folder: str,
        committed: Committed | None = None,
        work: int = 2,
        blobs: dict[str, bytes] | None = None,
    ) -> tuple[IncidentState, tuple[FileProblem, ...]] | FileProblem:
        """What the cache keeps of one incident, or why it cannot be loaded."""
        try:
            return _cache_value(self.load(folder, committed, work=work, blobs=blobs))
        except BadFileError as exc:
            return FileProblem(exc.path, exc.problem)

    def _read_in_parallel(
        self,
        folders: list[str],
        committed: dict[str, Committed] | None = None,
        work: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """folder -> `_bare_load(folder)`, read by forked workers, one per core (parsing
        and validating 180,000 events is CPU-bound), each with its own
        `git cat-file --batch`. Empty where that is unsafe or pointless: no fork (not
        Linux), one core, or threads running (`watch`)."""
        import threading

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        if sys.platform != "linux" or cores < 2 or threading.active_count() > 1:
            return {}
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        workers = min(cores, MAX_WORKERS)
        if committed is None:
            listing = self.committed_listing([self.rel(f) for f in folders])
            committed = {f: listing[self.rel(f)] for f in folders}
        modes = work or {}
        jobs = [(f, committed.get(f) or {}, modes.get(f, 2)) for f in folders]
        # small chunks: a worker holds one chunk's blobs at a time (all of 180,000 events
        # in four chunks took each worker 50 MB above what it shares with this process)
        count = max(workers * 2, -(-len(jobs) // CHUNK_INCIDENTS))
        chunks = [jobs[i::count] for i in range(count)]
        self.objects.close()  # a child must not share this command's cat-file pipes
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
