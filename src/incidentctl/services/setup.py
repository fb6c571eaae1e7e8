"""Creating an incident repo (`init_repo`, from the store), and checking one (doctor)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incidentctl.errors import BadFileError, ConfigError, ExitCode, IncidentctlError
from incidentctl.services.outcome import Outcome
from incidentctl.store.atomic import stale_temp_files
from incidentctl.store.initialise import InitResult, init_repo
from incidentctl.store.locate import CONFIG_NAME
from incidentctl.store.repo import INCIDENTS, IncidentRepo

if TYPE_CHECKING:
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

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "path": self.path,
            "problem": self.problem,
            "fixable": self.fixable,
        }


@dataclass
class DoctorReport(Outcome):
    root: Path
    findings: list[Finding] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    incidents: int = 0
    events: int = 0

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
            "incidents": self.incidents,
            "events": self.events,
            "findings": [f.to_dict() for f in self.findings],
            "fixed": self.fixed,
        }


def doctor(repo: IncidentRepo, *, fix: bool) -> DoctorReport:
    from incidentctl.services.workspace import load_config
    from incidentctl.store.writer import writing

    report = DoctorReport(repo.root)
    try:
        load_config(repo.config_path)
    except ConfigError as exc:
        report.findings.append(Finding("error", CONFIG_NAME, exc.message.split(": ", 1)[-1]))
    _check_user_config(report)
    # without --fix nothing is committed: the lock only keeps writers out while we look
    with writing(repo, recover=fix, prepare=False) as w:
        for item in w.recovered:
            report.fixed.append(
                f"committed {item.path} ({item.commit}), left by an interrupted command"
            )
        statuses = repo.git.status(INCIDENTS)
        _check_git_state(repo, report, statuses, w if fix else None)
        _check_files(repo, report, statuses, fix)
        if fix and repo.git.head() is not None:
            # changed-path Bloom filters let `log`, `pir generate` and `verify` skip the
            # commits that do not touch an incident: 3.4 s -> 0.4 s at 180,000 commits
            repo.git.run("commit-graph", "write", "--reachable", "--changed-paths", "--split")
            report.fixed.append("wrote the commit-graph with changed-path filters")
    return report


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
