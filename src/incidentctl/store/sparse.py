"""The sparse work tree: only the open (and recently resolved) incidents checked out.

A new repo (`init`, `clone`) is a cone-mode sparse checkout with a sparse index. The
cone holds the repo's own files (incidentctl.toml, runbooks/, templates/, oncall/,
drills/: every top-level file, and those folders) and the folders of the incidents
that are open or were resolved within `[storage] checkout_window` (30 days). Every
other incident stays in the object store, where every read reads it from anyway
(store/repo.py), so the index and the work tree do not grow with the repo's history.

- A write into a folder outside the cone (`declare`, `reopen`, a note on an old
  incident, `pir --commit`) first adds that folder (`include`, from store/writer.py):
  git refuses to `add` a path outside the cone.
- Once a day, at the first write of that day (`refresh_if_due`), the cone is set again
  from the incidents' states (the cache): resolved incidents past the window leave it,
  open ones that a sync brought in join it. Folders a person asked for
  (`incidentctl checkout`) stay until they are let go (`checkout --done`).
- `convert` makes a full checkout sparse (`doctor --fix`); `checkout --all` puts every
  incident in the cone, which keeps the sparse index.

Nothing here hides an edit: no assume-unchanged, no skip-worktree by hand; git's own
sparse checkout decides what is on disk, and `git status` shows every change in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incidentctl.store.git import Git

# store/repo.py's IncidentRepo (it imports this module: named here, not imported)
IncidentRepo = Any

OWN_FOLDERS = ("runbooks", "templates", "oncall", "drills")
INCIDENTS = "incidents"
DEFAULT_WINDOW = timedelta(days=30)
# choose the mode of new repos: "sparse" (the default) or "full"; `init --full`,
# `clone --full` say it for one repo
MODE_ENV = "INCIDENTCTL_CHECKOUT"
_KEPT = "checked-out"  # <git dir>/incidentctl/checked-out: folders `checkout` brought in
_DAY = "cone-day"  # <git dir>/incidentctl/cone-day: the day the cone was last set


def _config_files(git_dir: Path) -> list[Path]:
    files = [git_dir / "config.worktree", git_dir / "config"]
    common = git_dir / "commondir"
    if common.is_file():
        try:
            base = (git_dir / common.read_text().strip()).resolve()
        except OSError:
            base = None
        if base is not None:
            files.append(base / "config")
    return files


def is_sparse(git_dir: Path) -> bool:
    """Whether core.sparseCheckout is set for this work tree (read from git's config
    files: no git started for it)."""
    for path in _config_files(git_dir):
        try:
            text = path.read_text(encoding="utf-8", errors="replace").lower()
        except OSError:
            continue
        compact = text.replace(" ", "").replace("\t", "")
        if "sparsecheckout=true" in compact:
            return True
    return False


def default_mode() -> str:
    """The checkout mode of a new repo: $INCIDENTCTL_CHECKOUT, else sparse."""
    import os

    value = os.environ.get(MODE_ENV, "").strip().lower()
    return "full" if value == "full" else "sparse"


# -- the cone ---------------------------------------------------------------------------


def cone_folders(git_dir: Path) -> set[str] | None:
    """The folders the cone holds whole (relative, no trailing slash), read from
    `<git dir>/info/sparse-checkout` (cone patterns: `/a/b/` holds a/b whole unless
    `!/a/b/*/` follows, which keeps only its files); None when there is no such file."""
    try:
        lines = (git_dir / "info" / "sparse-checkout").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    positive: list[str] = []
    parents: set[str] = set()
    for line in lines:
        line = line.strip()
        if line.startswith("!/") and line.endswith("/*/"):
            parents.add(line[2:-3])
        elif line.startswith("/") and line.endswith("/") and line != "/":
            positive.append(line[1:-1])
    return {p for p in positive if p not in parents}


def folder_of(rel: str) -> str | None:
    """The cone folder a file (relative to the root) belongs to: its incident's folder
    (`incidents/<YYYY>/<name>`), else its top-level folder; None for a top-level file
    (always in a cone)."""
    parts = rel.split("/")
    if len(parts) < 2:
        return None
    if parts[0] == INCIDENTS:
        return "/".join(parts[:3]) if len(parts) >= 4 else None
    return parts[0]


def in_cone(folder: str, cone: set[str]) -> bool:
    parts = folder.split("/")
    return any("/".join(parts[:i]) in cone for i in range(1, len(parts) + 1))


def include(repo: IncidentRepo, rels: Iterable[str]) -> list[str]:
    """Add the folders of these files to the cone, if the work tree is sparse and they
    are not in it (before a write: `git add` refuses a path outside the cone). Returns
    the folders added."""
    if not repo.sparse:
        return []
    cone = cone_folders(repo.git_dir)
    if cone is None:
        return []
    return add_folders(repo, {f for f in (folder_of(r) for r in rels) if f is not None}, cone)


def add_folders(
    repo: IncidentRepo, folders: Iterable[str], cone: set[str] | None = None
) -> list[str]:
    """Add these folders to a sparse work tree's cone (those not in it). Returns them."""
    if cone is None:
        if not repo.sparse:
            return []
        cone = cone_folders(repo.git_dir)
        if cone is None:
            return []
    wanted = sorted(f for f in folders if not in_cone(f, cone))
    if wanted:
        _sparse_checkout(repo.git, "add", wanted)
    return wanted


def _sparse_checkout(git: Git, verb: str, folders: list[str]) -> None:
    from incidentctl.errors import GitError

    # --stdin: thousands of folders must not meet the limit on a command line's length
    args = ["sparse-checkout", verb]
    if verb == "set":
        args += ["--cone", "--sparse-index"]
    done = git.call(*args, "--stdin", input=("\n".join(folders) + "\n").encode())
    if not done.ok:
        raise GitError(
            f"git sparse-checkout {verb} failed: {done.err or done.status}",
            hint="see the git message above; incidentctl doctor checks the repo",
        )


def start(git: Git, folders: Iterable[str] = (), repo: IncidentRepo | None = None) -> None:
    """Make the work tree a cone-mode sparse checkout with a sparse index holding the
    repo's own folders and `folders` (a new repo, or a conversion). With `repo`, every
    other top-level folder HEAD holds stays too: only incidents leave a work tree."""
    others = _other_top_folders(repo) if repo is not None else set()
    _sparse_checkout(git, "set", sorted({*OWN_FOLDERS, *others, *folders}))


def _other_top_folders(repo: IncidentRepo) -> set[str]:
    root = repo.objects.root()
    entries = (repo.objects.tree(root) or {}) if root is not None else {}
    return {name for name, (mode, _o) in entries.items() if mode == "040000" and name != INCIDENTS}


def wanted_folders(repo: IncidentRepo, window: timedelta, now: datetime) -> set[str]:
    """The incident folders the cone should hold: those of the open incidents and of
    those resolved within `window` of `now`, from the briefs (the cache: no incident
    is folded again whose folder's tree id is unchanged)."""
    loaded, _problems = repo.load_all()
    since = now - window
    # decided on the briefs: no state is unpickled (10,000 of them took longer, and
    # held together were the largest thing in the process)
    return {
        repo.rel(item.folder)
        for item in loaded
        if item.brief.is_open or item.brief.resolved_at is None or item.brief.resolved_at >= since
    }


def take_in(repo: IncidentRepo, now: datetime) -> list[str]:
    """Add the open and recent incidents that are not in the cone to it (after a sync
    brought some in). Never fails the sync: the next day's refresh does it then."""
    import logging

    try:
        return add_folders(repo, wanted_folders(repo, checkout_window(repo), now))
    except Exception as exc:
        logging.getLogger("incidentctl").debug("cone: taking in synced incidents: %s", exc)
        return []


def kept_folders(repo: IncidentRepo) -> set[str]:
    """The folders `incidentctl checkout` brought in (`incidents` for --all)."""
    try:
        text = (repo.git_dir / "incidentctl" / _KEPT).read_text(encoding="utf-8")
    except OSError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def _write_kept(repo: IncidentRepo, folders: set[str]) -> None:
    from incidentctl.store.atomic import write_atomic

    path = repo.git_dir / "incidentctl" / _KEPT
    if folders:
        write_atomic(path, ("\n".join(sorted(folders)) + "\n").encode())
    else:
        path.unlink(missing_ok=True)


def refresh(repo: IncidentRepo, window: timedelta, now: datetime) -> set[str]:
    """Set the cone to the repo's own folders, the wanted incidents' folders, and the
    ones checked out by hand. Returns the incident folders it left out that were in it."""
    before = cone_folders(repo.git_dir) or set()
    keep = wanted_folders(repo, window, now) | kept_folders(repo)
    start(repo.git, keep, repo)
    _mark_day(repo, now)
    return {f for f in before if f.startswith(f"{INCIDENTS}/") and not in_cone(f, keep)}


def _mark_day(repo: IncidentRepo, now: datetime) -> None:
    from incidentctl.store.atomic import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(repo.git_dir / "incidentctl" / _DAY, now.date().isoformat().encode())


def clock() -> datetime:
    """The tool's clock (services/workspace.now: $INCIDENTCTL_NOW pins it, for tests)."""
    import os
    from datetime import UTC

    pinned = os.environ.get("INCIDENTCTL_NOW")
    if pinned:
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


def refresh_if_due(repo: IncidentRepo, now: datetime, window: timedelta | None = None) -> bool:
    """`refresh`, at the first write of a day (after its commit): cheap on every other
    write (one small file read). Never fails the write that triggered it."""
    import logging

    if not repo.sparse:
        return False
    try:
        day = (repo.git_dir / "incidentctl" / _DAY).read_text(encoding="utf-8").strip()
    except OSError:
        day = ""
    if day == now.date().isoformat():
        return False
    try:
        refresh(repo, window if window is not None else checkout_window(repo), now)
    except Exception as exc:  # the event is committed; the cone is set again tomorrow
        logging.getLogger("incidentctl").debug("cone refresh failed: %s", exc)
        return False
    return True


def checkout_window(repo: IncidentRepo) -> timedelta:
    """`[storage] checkout_window` from the team config (no pydantic: read raw, as the
    write path runs); the default when it is missing or bad (the config check says so)."""
    from incidentctl.domain.timeparse import TimeParseError, parse_duration
    from incidentctl.store.config import load_config_data

    try:
        defaults, team = load_config_data(repo.config_path)
    except Exception:
        return DEFAULT_WINDOW
    for data in (team, defaults):
        value = (data.get("storage") or {}).get("checkout_window")
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except TimeParseError:
                return DEFAULT_WINDOW
    return DEFAULT_WINDOW


def check_out(repo: IncidentRepo, folders: Iterable[str]) -> list[str]:
    """Bring these incident folders into the work tree, and keep them there (the daily
    refresh leaves them) until `let_go`. Returns those that were not in the cone."""
    folders = set(folders)
    added = add_folders(repo, folders)
    _write_kept(repo, kept_folders(repo) | folders)
    return added


def let_go(repo: IncidentRepo, folders: Iterable[str] | None, now: datetime) -> set[str]:
    """Stop keeping folders that `check_out` brought in (all of them with None), and
    set the cone again: the ones no longer wanted leave the work tree."""
    kept = kept_folders(repo)
    _write_kept(repo, set() if folders is None else kept - set(folders))
    return refresh(repo, checkout_window(repo), now)


def would_leave(repo: IncidentRepo, window: timedelta, now: datetime) -> set[str]:
    """The incident folders of a full work tree that a conversion would take out of it
    (the closed incidents past the window)."""
    keep = wanted_folders(repo, window, now) | kept_folders(repo)
    return {
        rel for rel in (repo.rel(p) for p in repo.disk_folder_paths()) if not in_cone(rel, keep)
    }


def convert(repo: IncidentRepo, window: timedelta, now: datetime) -> set[str]:
    """Make a full checkout a sparse one of the open and recent incidents, with a
    sparse index (doctor --fix). Returns the incident folders that left the work tree
    (a modified file in one is left there by git, and still shows in `git status`)."""
    everything = set(repo.disk_folder_paths())
    start(repo.git, wanted_folders(repo, window, now) | kept_folders(repo), repo)
    repo._sparse = True
    _mark_day(repo, now)
    return {repo.rel(p) for p in everything if not Path(p).exists()}
