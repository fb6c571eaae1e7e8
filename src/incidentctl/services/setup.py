"""Creating an incident repo (`init_repo`, from the store), and checking one (doctor)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incidentctl.errors import BadFileError, ConfigError, ExitCode, IncidentctlError
from incidentctl.services.outcome import Outcome
from incidentctl.store.atomic import stale_temp_files
from incidentctl.store.git import Git
from incidentctl.store.initialise import InitResult, init_repo
from incidentctl.store.locate import CONFIG_NAME
from incidentctl.store.repo import INCIDENTS, IncidentRepo

if TYPE_CHECKING:
    from incidentctl.domain.policy import DoctorSettings, SyncSettings
    from incidentctl.store.writer import Writer

__all__ = [
    "DoctorReport",
    "Finding",
    "InitResult",
    "default_repo",
    "doctor",
    "init_repo",
    "make_default",
]


def default_repo() -> Path | None:
    """The repo the user config names (`repo =`), or None."""
    from incidentctl.store.locate import configured_repo

    return configured_repo()


def make_default(root: Path) -> Path:
    """Make `root` the user's default repo; return the user config's path."""
    from incidentctl.store.userconfig import point_user_config_at

    return point_user_config_at(root)


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    path: str
    problem: str
    fixable: bool = False
    # for what --fix leaves: why, and what to do by hand
    advice: str = ""

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "path": self.path,
            "problem": self.problem,
            "fixable": self.fixable,
            "advice": self.advice,
        }


@dataclass
class DoctorReport(Outcome):
    root: Path
    findings: list[Finding] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    incidents: int = 0
    events: int = 0
    read_only: bool = False  # the repo cannot be written: checked without the lock

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def problem_list(self) -> list:
        return []  # the findings are the product (printed on stdout)

    @property
    def exit_status(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.FAILED

    def to_dict(self) -> dict:
        return {
            "repo": str(self.root),
            "ok": self.ok,
            "read_only": self.read_only,
            "incidents": self.incidents,
            "events": self.events,
            "findings": [f.to_dict() for f in self.findings],
            "fixed": self.fixed,
        }


# without --fix, how long to wait for a writer to finish before looking anyway
READ_LOCK_WAIT = 3.0
# a git lock file younger than this is never called stale, whoever holds it
STALE_LOCK_AGE = 2.0


def doctor(repo: IncidentRepo, *, fix: bool, now: float | None = None) -> DoctorReport:
    """Check the repo and its git plumbing; with `fix`, repair what is safe to repair.
    Without `fix` nothing is written: it runs on a read-only repo too."""
    from incidentctl.domain.policy import DoctorSettings, SyncSettings
    from incidentctl.services.workspace import load_config
    from incidentctl.store.lock import RepoLock
    from incidentctl.store.writer import Writer

    report = DoctorReport(repo.root)
    settings = SyncSettings(), DoctorSettings()  # the defaults, if the config is broken
    try:
        config = load_config(repo.config_path)
        settings = config.sync, config.doctor
    except ConfigError as exc:
        report.findings.append(Finding("error", CONFIG_NAME, exc.message.split(": ", 1)[-1]))
    _check_user_config(report)
    # with --fix, the repo lock keeps every other incidentctl out while we repair; without,
    # a shared lock only keeps writers out while we look (and none on a read-only repo)
    with RepoLock(repo.git_dir, timeout=None if fix else READ_LOCK_WAIT, shared=not fix) as lock:
        report.read_only = lock.read_only
        _check_locks(repo, report, fix)
        rebase = _check_rebase(repo, report, fix)
        _check_index(repo, report, fix)
        if not rebase:  # HEAD is detached during a rebase: that is said above
            _check_detached(repo, report, fix)
        writer = Writer(repo) if fix else None
        if writer is not None and not rebase:
            for item in writer.recover():
                report.fixed.append(
                    f"committed {item.path} ({item.commit}), left by an interrupted command"
                )
        statuses = repo.git.status(INCIDENTS)
        _check_git_state(repo, report, statuses, None if rebase else writer)
        _check_files(repo, report, statuses, fix)
        _check_remote(repo, report, *settings, fix, time.time() if now is None else now)
        if not rebase and not report.read_only:
            _check_checkout(repo, report, fix)
        if not rebase:
            _check_commit_graph(repo, report, fix and not report.read_only)
    return report


def _check_commit_graph(repo: IncidentRepo, report: DoctorReport, fix: bool) -> None:
    """A long history with no commit-graph with changed-path filters: `log` and `pir
    generate` walk every commit (store/commitgraph.py). `--fix` writes it, whatever the
    length of the history."""
    from incidentctl.store import commitgraph

    if repo.git.head() is None or commitgraph.has_changed_paths(repo.git):
        return
    if fix:
        commitgraph.write(repo.git)
        report.fixed.append("wrote the commit-graph with changed-path filters")
        return
    count = commitgraph.commit_count(repo.git)
    if count >= commitgraph.WORTH_IT_AFTER:
        report.findings.append(
            Finding(
                "warning",
                ".git",
                f"no commit-graph with changed-path filters: `log` and `pir generate` "
                f"walk all {count:,} commits",
                fixable=True,
            )
        )


def _check_checkout(repo: IncidentRepo, report: DoctorReport, fix: bool) -> None:
    """A full checkout whose closed incidents would leave the work tree: offer the
    sparse checkout new repos get (store/sparse.py); `--fix` converts it."""
    from incidentctl.store import sparse

    if repo.sparse or repo.git.head() is None:
        return
    window, today = sparse.checkout_window(repo), sparse.clock()
    try:
        leaving = sparse.would_leave(repo, window, today)
    except IncidentctlError:
        return  # what stops reading the incidents is reported above
    if not leaving:
        return
    what = (
        f"a full checkout: {len(leaving)} closed incident folder(s) older than the "
        "checkout window are in the work tree and the index, so every commit rewrites "
        "an index of the whole history"
    )
    if not fix:
        report.findings.append(
            Finding(
                "warning",
                ".git/info/sparse-checkout",
                what + " (doctor --fix makes it a sparse checkout of the open incidents)",
                fixable=True,
            )
        )
        return
    try:
        left = sparse.convert(repo, window, today)
    except IncidentctlError as exc:
        report.findings.append(
            Finding("warning", ".git/info/sparse-checkout", what, advice=exc.message)
        )
        return
    report.fixed.append(
        f"made the work tree a sparse checkout of the open and recent incidents: {len(left)} "
        "closed incident folder(s) left it (still read from git; bring one back with "
        "incidentctl checkout INC)"
    )


def _rel_git(repo: IncidentRepo, path: Path) -> str:
    try:
        return path.relative_to(repo.root).as_posix()
    except ValueError:
        return str(path)


def _check_locks(repo: IncidentRepo, report: DoctorReport, fix: bool) -> None:
    """git's lock files: one whose git is gone is stale, and makes every commit wait
    10 s, then fail. --fix removes it once no git process of this repo runs. The
    repo lock is an flock: the kernel drops it with its holder, so it is never stale."""
    from incidentctl.store import lock as locks

    for holder in locks.flock_holders(repo.git_dir / "incidentctl.lock"):
        if holder != os.getpid():
            report.findings.append(
                Finding(
                    "warning",
                    _rel_git(repo, repo.git_dir / "incidentctl.lock"),
                    f"held by a running incidentctl (pid {holder}); writes wait for it",
                    advice="it is released when that process ends (never stale: the "
                    "kernel drops it with its holder)",
                )
            )
    found = locks.git_lock_files(repo.git_dir)
    if not found:
        return
    running = _running_git(repo, fix)
    for item in found:
        rel = _rel_git(repo, item.path)
        if running is None:
            report.findings.append(
                Finding(
                    "error",
                    rel,
                    "a git lock file; whether a git process still holds it cannot be told here",
                    advice="doctor --fix leaves it; if no git command is running in this "
                    f"repo, remove it by hand: rm {rel}",
                )
            )
        elif running or item.age < STALE_LOCK_AGE:
            pids = locks.describe(running) if running else "just created"
            report.findings.append(
                Finding(
                    "warning",
                    rel,
                    f"held by a running git ({pids}); commits wait for it",
                    advice="doctor --fix leaves it while a git process of this repo runs",
                )
            )
        elif fix and locks.remove_if_unchanged(item):
            report.fixed.append(f"removed {rel}, left by a git process that is gone")
        else:
            report.findings.append(
                Finding(
                    "error",
                    rel,
                    f"stale: left by a git process that is gone ({item.age:.0f}s old); "
                    "every commit waits for it, then fails",
                    fixable=True,
                )
            )


# how long to wait for the git processes of this repo to end before a lock or a rebase
# is called theirs (a `git gc --auto` a commit started in the background); a fifth of
# it without --fix
GIT_SETTLE_WAIT = 10.0


def _running_git(repo: IncidentRepo, fix: bool) -> list[int] | None:
    from incidentctl.store import lock as locks

    wait = GIT_SETTLE_WAIT if fix else GIT_SETTLE_WAIT / 5
    return locks.settled_git_processes(repo.root, repo.git_dir, wait)


def _check_rebase(repo: IncidentRepo, report: DoctorReport, fix: bool) -> bool:
    """A rebase left in progress. One a killed sync left is aborted by --fix (the
    branch goes back to where it was, with every commit); the user's own is theirs.
    True if one is still in progress."""
    from incidentctl.store import lock as locks
    from incidentctl.store.plumbing import rebase_in_progress

    found = rebase_in_progress(repo.git, repo.git_dir)
    if found is None:
        return False
    rel = _rel_git(repo, repo.git_dir / found.folder)
    on = f" of {found.branch}" if found.branch else ""
    if not found.ours:
        report.findings.append(
            Finding(
                "error",
                rel,
                f"a rebase{on} is in progress, not started by incidentctl sync; "
                "sync and the event commands wait until it is finished",
                advice="doctor --fix leaves it, it is yours: finish it (git rebase "
                "--continue) or abandon it (git rebase --abort)",
            )
        )
        return True
    running = _running_git(repo, fix)
    if fix and running == []:
        done = repo.git.call("rebase", "--abort")
        if done.ok:
            report.fixed.append(
                f"aborted the rebase{on} a killed sync left; your commits are as they were "
                "before it (run incidentctl sync again)"
            )
            return False
        report.findings.append(
            Finding(
                "error",
                rel,
                f"a rebase{on} left by a killed sync could not be aborted: "
                + (done.err.splitlines() or ["no message"])[-1],
                advice="abort it by hand: git rebase --abort",
            )
        )
        return True
    if running is None:
        advice = "doctor cannot tell whether a git still runs it; if none does: git rebase --abort"
    elif fix and running:
        advice = f"doctor --fix leaves it while a git process of this repo runs: {locks.describe(running)}"
    else:
        advice = ""  # without --fix: --fix waits for any git of this repo to end, then aborts it
    report.findings.append(
        Finding(
            "error",
            rel,
            f"a rebase{on} left in progress by a killed incidentctl sync",
            fixable=not advice,
            advice=advice,
        )
    )
    return True


def _check_index(repo: IncidentRepo, report: DoctorReport, fix: bool) -> None:
    from incidentctl.store.plumbing import missing_index_objects, rebuild_index

    missing = missing_index_objects(repo.git)
    if not missing:
        return
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    problem = f"the index names objects the repo does not have ({shown}); commits fail"
    if fix:
        differ = rebuild_index(repo.git, repo.git_dir)
        if not differ:
            report.fixed.append("rebuilt the index from HEAD (the work tree matched HEAD)")
            return
        report.findings.append(
            Finding(
                "error",
                ".git/index",
                problem,
                advice="doctor --fix rebuilds it only when the work tree matches HEAD, and "
                f"{differ[0]} differs: keep a copy of your changes, then run git read-tree HEAD",
            )
        )
        return
    report.findings.append(
        Finding("error", ".git/index", problem + " (rebuilt from HEAD)", fixable=True)
    )


def _check_detached(repo: IncidentRepo, report: DoctorReport, fix: bool) -> None:
    from incidentctl.store.plumbing import detached_head, reattach

    found = detached_head(repo.git)
    if found is None:
        return
    if found.branch is None:
        report.findings.append(
            Finding(
                "error",
                "HEAD",
                f"detached at {found.head[:12]}: sync needs a branch",
                advice=f"doctor --fix leaves it: {found.why_not}",
            )
        )
        return
    if fix:
        reattach(repo.git, found)
        report.fixed.append(f"put HEAD back on {found.branch} (at {found.head[:12]})")
        return
    report.findings.append(
        Finding(
            "error",
            "HEAD",
            f"detached at {found.head[:12]}: sync needs a branch "
            f"(put back on {found.branch}, no file changes)",
            fixable=True,
        )
    )


def _check_remote(
    repo: IncidentRepo,
    report: DoctorReport,
    settings: SyncSettings,
    checks: DoctorSettings,
    fix: bool,
    now: float,
) -> None:
    """The remote's default branch, and events not pushed for too long."""
    from incidentctl.store.plumbing import current_branch, unpushed
    from incidentctl.store.remote import Remote, RemoteError, remote_heads

    remote = Remote(repo.git, settings.remote, settings.timeout.total_seconds(), prompt=False)
    url = remote.url()
    branch = current_branch(repo.git)
    if url is None or branch is None:
        return  # not shared (or detached: said above)
    tracking = remote.tracking_ref(branch)
    if remote.resolve(tracking):
        waiting = unpushed(repo.git, tracking)
        limit = checks.unpushed_after.total_seconds()
        if waiting and now - waiting[0][1] > limit:
            minutes = (now - waiting[0][1]) / 60
            report.findings.append(
                Finding(
                    "warning",
                    branch,
                    f"{len(waiting)} commit{'s' if len(waiting) != 1 else ''} of events not "
                    f"pushed to {remote.name}, the oldest {minutes:.0f} minutes old "
                    f"(over [doctor] unpushed_after)",
                    advice="doctor does not talk to the team's remote for you: run incidentctl sync",
                )
            )
    try:
        heads, default = remote_heads(url, settings.timeout.total_seconds(), prompt=False)
    except RemoteError as exc:
        report.findings.append(
            Finding(
                "warning",
                remote.name,
                f"its default branch was not checked: {exc.message}",
            )
        )
        return
    if branch not in heads or default == branch:
        return  # not pushed yet (sync publishes it), or right
    local = _local_bare_repo(url, repo.root)
    if not default and local is not None:  # ls-remote names no HEAD that points nowhere
        said = Git(local).run_quiet("symbolic-ref", "-q", "HEAD").strip()
        default = said.removeprefix("refs/heads/")
    shown = remote.shown_url()
    if default and default in heads:
        problem = (
            f"its default branch (HEAD) is {default}, not {branch}, which holds "
            f"{CONFIG_NAME}: a new clone gets {default}"
        )
        level = "warning"
    else:
        problem = (
            f"its default branch (HEAD) is {default or 'a branch'}, which does not exist: "
            f"incidentctl clone {shown} finds no {CONFIG_NAME} there"
        )
        level = "error"
    if local is not None:
        if fix:
            done = Git(local).call("symbolic-ref", "HEAD", f"refs/heads/{branch}")
            if done.ok:
                report.fixed.append(f"set the default branch (HEAD) of {shown} to {branch}")
                return
        else:
            report.findings.append(Finding(level, remote.name, problem, fixable=True))
            return
    report.findings.append(
        Finding(
            level,
            remote.name,
            problem,
            advice="doctor --fix sets it only on a remote on this disk; on a server, set the "
            f"repo's default branch to {branch} in its settings",
        )
    )


def _local_bare_repo(url: str, root: Path) -> Path | None:
    """The git dir a path (or file://) remote names, if it is on this disk and writable."""
    text = url.removeprefix("file://")
    if "://" in text or (":" in text and not text.startswith("/") and "/" not in text[:2]):
        return None
    path = Path(text) if os.path.isabs(text) else (root / text)
    if (path / "HEAD").is_file() and os.access(path / "HEAD", os.W_OK):
        return path
    return None


def _check_user_config(report: DoctorReport) -> None:
    from incidentctl.store.locate import read_user_config, user_config_path

    try:
        read_user_config()
    except ConfigError as exc:
        path = str(user_config_path())
        report.findings.append(Finding("error", path, exc.message.removeprefix(f"{path}: ")))


def _event_entry(rel: str) -> bool:
    """Is `rel` an entry of an incident's events/ folder (incidents/Y/F/events/NAME)?"""
    parts = rel.split("/")
    return len(parts) == 5 and parts[3] == "events"


def _check_git_state(
    repo: IncidentRepo,
    report: DoctorReport,
    statuses: list[tuple[str, str]],
    fix: Writer | None,
) -> None:
    """Uncommitted, changed and deleted files under incidents/; with a `fix` writer,
    uncommitted event files that parse and validate are committed. Those that do not
    are left to `_check_files`, which finds every bad entry."""
    for code, rel in statuses:
        path = repo.root / rel
        if code == "??" or code[0] == "A":
            entry = "/".join(rel.split("/")[:5])
            if _event_entry(entry) and entry != rel:
                continue  # inside a folder named like an event: `_check_files` names it
            if not (_event_entry(rel) and rel.endswith(".toml")):
                report.findings.append(
                    Finding("warning", rel, "untracked file in incidents/ (not an event)")
                )
                continue
            if path.name.startswith("."):
                continue  # temp files: reported below
            try:
                event = repo.read_event(path, path.parent.parent.name[:26])
            except BadFileError:
                continue  # `_check_files` reports it, and --fix moves it aside
            if not path.name.endswith(f"-{event.id}.toml"):
                report.findings.append(
                    Finding(
                        "error",
                        rel,
                        f"uncommitted, and its name does not end with its event ID {event.id} "
                        "(verify would refuse it, so doctor --fix leaves it)",
                    )
                )
                continue
            if fix is not None:
                human_id = event.incident  # the ULID, if the incident itself cannot be loaded
                with contextlib.suppress(IncidentctlError):
                    human_id = repo.load(path.parent.parent).state.human_id
                commit = fix.adopt_event(path, event, human_id).commit
                report.fixed.append(f"committed {rel} ({commit})")
            else:
                report.findings.append(
                    Finding("error", rel, "event file is not committed", fixable=True)
                )
        elif "D" in code:
            report.findings.append(
                Finding("error", rel, f"committed file deleted (restore it: git checkout -- {rel})")
            )
        elif "M" in code or "R" in code or "T" in code:
            report.findings.append(
                Finding("error", rel, f"committed file changed (restore it: git checkout -- {rel})")
            )


def _check_files(
    repo: IncidentRepo, report: DoctorReport, statuses: list[tuple[str, str]], fix: bool
) -> None:
    seen_ids: dict[str, str] = {}
    folders = repo.incident_folder_paths()
    # compare with HEAD only the folders that differ from it, as every read does
    changed = {
        str(repo.root / "/".join(rel.split("/")[:3])) for code, rel in statuses if code != "??"
    }
    held = repo.committed_events([f for f in folders if f in changed])
    tracked: set[str] | None = None
    for folder_text in folders:
        folder = Path(folder_text)
        for tmp in stale_temp_files(folder / "events"):
            rel = repo.rel(tmp)
            if fix:
                tmp.unlink(missing_ok=True)
                report.fixed.append(f"removed stale temp file {rel}")
            else:
                report.findings.append(
                    Finding(
                        "warning", rel, "stale temp file from an interrupted write", fixable=True
                    )
                )
        try:
            loaded = repo.load(folder_text, held.get(folder_text, {}))
        except BadFileError as exc:
            report.findings.append(Finding("error", exc.path, exc.problem))
            continue
        report.incidents += 1
        report.events += len(loaded.state.timeline)
        for problem in loaded.damaged:
            if tracked is None:
                tracked = set(repo.git.run("ls-files", "-z", "--", INCIDENTS).split("\0"))
            _bad_entry(repo, report, problem.path, problem.problem, tracked, fix)
        human_id = loaded.state.human_id
        if human_id in seen_ids:
            report.findings.append(
                Finding(
                    "warning",
                    repo.rel(folder),
                    f"human ID {human_id} is also used by {seen_ids[human_id]} (sync renumbers it)",
                )
            )
        else:
            seen_ids[human_id] = repo.rel(folder)


def _bad_entry(
    repo: IncidentRepo, report: DoctorReport, rel: str, problem: str, tracked: set[str], fix: bool
) -> None:
    """An entry of events/ that is left out of its incident's fold (and keeps events
    from being added to it). Never committed, --fix moves it out of the repo, into the
    git dir; a committed one is part of the history, and only a commit removes it."""
    committed = rel in tracked or any(t.startswith(f"{rel}/") for t in tracked)
    if committed:
        report.findings.append(
            Finding(
                "error",
                rel,
                f"{problem} (committed: remove it with git rm -r -- {rel} and a commit; "
                "its incident takes no new events until then)",
            )
        )
        return
    if not fix:
        report.findings.append(Finding("error", rel, f"{problem}; not committed", fixable=True))
        return
    moved = _quarantine(repo, rel)
    report.fixed.append(f"moved {rel} ({problem}) out of the repo to {moved}")


def _quarantine(repo: IncidentRepo, rel: str) -> Path:
    """Move an uncommitted bad entry to <git dir>/incidentctl/quarantine/, keeping it."""
    import shutil

    target = repo.git_dir / "incidentctl" / "quarantine" / rel
    n = 1
    while os.path.lexists(target):
        n += 1
        target = target.with_name(f"{Path(rel).name}.{n}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(repo.root / rel), str(target))
    return target
