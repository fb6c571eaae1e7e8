"""`verify`: prove from the git history alone that the incident timeline is append-only.

Every event file must be added once, by a commit of its own whose trailers match the
file, and never modified, renamed or deleted afterwards. Works on a work tree or a bare
repository (so a server-side hook can run it on what is being pushed).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incidentctl.errors import ExitCode, GitError, UsageError
from incidentctl.services.outcome import Outcome

if TYPE_CHECKING:
    from incidentctl.store.git import Git
    from incidentctl.store.history import Change, CommitRecord

_ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
_FOLDER = rf"incidents/\d{{4}}/(?P<uid>{_ULID})(?:-[a-z0-9-]+)?"
EVENT_PATH = re.compile(rf"^{_FOLDER}/events/\d{{8}}T\d{{6}}\.\d{{3}}Z-(?P<id>{_ULID})\.toml$")
# files incidentctl itself commits beside events: runbook step output, generated reviews
EVIDENCE_PATH = re.compile(rf"^{_FOLDER}/evidence/[^/]+\.txt$")
PIR_PATH = re.compile(rf"^{_FOLDER}/pir\.md$")
INCIDENTS_PREFIX = "incidents/"
# a file inside a folder in events/: git tracks no folders, only the files in them
IN_EVENTS_FOLDER = re.compile(rf"^{_FOLDER}/events/(?P<name>[^/]+)/")
FILE_MODES = ("100644", "100755")
NOT_FILE_MODES = {"120000": "a symbolic link", "160000": "a submodule (gitlink)"}

SIGNATURE_STATUS = {
    "B": "bad signature",
    "U": "signature from an unknown or untrusted key",
    "X": "expired signature",
    "Y": "signature by an expired key",
    "R": "signature by a revoked key",
    "E": "signature cannot be checked (missing key?)",
}


@dataclass(frozen=True)
class HistoryProblem:
    commit: str
    path: str  # "" for a problem with the commit as a whole
    problem: str

    def to_dict(self) -> dict:
        return {"commit": self.commit, "path": self.path, "problem": self.problem}

    def __str__(self) -> str:
        where = f"{self.commit[:12]} {self.path}" if self.path else self.commit[:12]
        return f"{where}: {self.problem}"


@dataclass
class VerifyReport(Outcome):
    root: Path
    revisions: list[str]
    signatures: bool
    commits: int = 0
    event_files: int = 0
    problems: list[HistoryProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem_list(self) -> list:
        return []  # the problems are the product: `verify` prints them on stdout

    @property
    def exit_status(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.FAILED

    def to_dict(self) -> dict:
        return {
            "repo": str(self.root),
            "revisions": list(self.revisions),
            "signatures": self.signatures,
            "ok": self.ok,
            "commits": self.commits,
            "event_files": self.event_files,
            "problems": [p.to_dict() for p in self.problems],
        }


def _kind(path: str) -> str:
    if EVENT_PATH.match(path):
        return "event"
    if EVIDENCE_PATH.match(path):
        return "evidence"
    if PIR_PATH.match(path):
        return "pir"
    return "other"


def _not_a_file(change: Change) -> str:
    """Why an added path under incidents/ is no file incidentctl could have written:
    a symbolic link (which a reader would follow anywhere on its disk), a submodule, or
    a file inside a folder in events/. "" when it is a plain file."""
    m = IN_EVENTS_FOLDER.match(change.path)
    if m:
        return f"a folder in events/ ({m['name']}/), not an event file"
    if change.mode and change.mode not in FILE_MODES:
        return NOT_FILE_MODES.get(change.mode, f"git mode {change.mode}") + ", not a file"
    return ""


def _under_incidents(change: Change) -> bool:
    return change.path.startswith(INCIDENTS_PREFIX) or change.old_path.startswith(INCIDENTS_PREFIX)


class _Verifier:
    def __init__(self, git: Git, report: VerifyReport) -> None:
        self.git = git
        self.report = report
        self.added_in: dict[str, str] = {}  # write-once file -> the commit that added it

    def problem(self, commit: str, path: str, text: str) -> None:
        self.report.problems.append(HistoryProblem(commit, path, text))

    def since(self, path: str) -> str:
        commit = self.added_in.get(path)
        return f" (added in {commit[:12]})" if commit else ""

    def check(self, rec: CommitRecord) -> None:
        self.report.commits += 1
        if self.report.signatures:
            self.check_signature(rec)
        changes = [c for c in rec.changes if _under_incidents(c)]
        if not changes:
            return
        if rec.is_merge:
            for c in changes:
                self.problem(
                    rec.commit,
                    c.path,
                    "merge commit changes this file beyond what its parents had",
                )
            return
        events: list[Change] = []
        evidence: list[Change] = []
        for c in changes:
            self.check_change(rec, c, events, evidence)
        others = [c for c in rec.changes if not _under_incidents(c)]
        if len(events) > 1:
            names = ", ".join(Path(c.path).name for c in events)
            self.problem(
                rec.commit, events[0].path, f"commit adds {len(events)} event files: {names}"
            )
        if evidence and len(events) != 1:
            for c in evidence:
                self.problem(rec.commit, c.path, "evidence added without its one step event")
        if events and others:
            for c in others:
                self.problem(
                    rec.commit,
                    c.path,
                    "committed together with an event (an event commit holds its event only)",
                )
        for c in events:
            self.report.event_files += 1
            self.added_in[c.path] = rec.commit
            self.check_event_file(rec, c, check_trailers=len(events) == 1)
        for c in evidence:
            self.added_in[c.path] = rec.commit

    def check_change(
        self, rec: CommitRecord, c: Change, events: list[Change], evidence: list[Change]
    ) -> None:
        kind = _kind(c.path)
        if c.status in ("R", "C"):
            old_kind = _kind(c.old_path)
            if c.status == "R" and old_kind in ("event", "evidence"):
                self.problem(
                    rec.commit,
                    c.old_path,
                    f"{old_kind} file renamed to {c.path}{self.since(c.old_path)}",
                )
                return
            if c.status == "R" and old_kind != "pir":
                self.problem(rec.commit, c.old_path, f"unexpected file renamed to {c.path}")
                return
        if c.status in ("A", "C"):
            not_a_file = _not_a_file(c)
            if not_a_file:
                self.problem(rec.commit, c.path, not_a_file)
                return
            if kind == "event":
                events.append(c)
            elif kind == "evidence":
                evidence.append(c)
            elif kind != "pir":
                self.problem(
                    rec.commit,
                    c.path,
                    "unexpected file under incidents/ (not an event, evidence or pir.md)",
                )
            return
        if c.status == "D":
            what = {"event": "event file deleted", "evidence": "evidence file deleted"}.get(
                kind, "pir.md deleted" if kind == "pir" else "unexpected file deleted"
            )
            self.problem(rec.commit, c.path, what + self.since(c.path))
            return
        if c.status == "R":  # a pir.md moved
            self.problem(rec.commit, c.old_path, f"pir.md renamed to {c.path}")
            return
        # M (content) or T (type change): nothing under incidents/ changes once committed
        what = {"event": "event file", "evidence": "evidence file", "pir": "pir.md"}.get(
            kind, "unexpected file"
        )
        self.problem(rec.commit, c.path, f"{what} modified after it was added{self.since(c.path)}")

    def check_event_file(self, rec: CommitRecord, c: Change, check_trailers: bool) -> None:
        import tomllib

        from incidentctl.domain.events import EventError, parse_event
        from incidentctl.store import commits
        from incidentctl.store.history import read_blob

        m = EVENT_PATH.match(c.path)
        assert m is not None
        data = read_blob(self.git, c.blob)
        try:
            event = parse_event(tomllib.loads(data.decode("utf-8")))
        except UnicodeDecodeError:
            self.problem(rec.commit, c.path, "event file is not UTF-8 text")
            return
        except tomllib.TOMLDecodeError as exc:
            self.problem(rec.commit, c.path, f"event file is not valid TOML: {exc}")
            return
        except EventError as exc:
            self.problem(rec.commit, c.path, f"event file does not parse: {exc}")
            return
        if event.id != m["id"]:
            self.problem(
                rec.commit, c.path, f"file name says event {m['id']}, file says {event.id}"
            )
        if event.incident != m["uid"]:
            self.problem(
                rec.commit, c.path, f"file is in incident {m['uid']}, but says {event.incident}"
            )
        if not check_trailers:
            return
        expected = {
            commits.EVENT: event.id,
            commits.EVENT_TYPE: event.type,
            commits.INCIDENT_UID: event.incident,
            commits.EVENT_SHA256: hashlib.sha256(data).hexdigest(),
        }
        for key, want in expected.items():
            values = rec.trailer(key)
            if not values:
                self.problem(rec.commit, c.path, f"commit has no {key}: trailer")
            elif len(values) > 1:
                self.problem(rec.commit, c.path, f"commit has {len(values)} {key}: trailers")
            elif values[0] != want:
                what = "the file's content" if key == commits.EVENT_SHA256 else repr(want)
                self.problem(
                    rec.commit,
                    c.path,
                    f"trailer {key}: {values[0]!r} does not match {what}",
                )
        if not rec.trailer(commits.INCIDENT):
            self.problem(rec.commit, c.path, "commit has no Incident: trailer")

    def check_signature(self, rec: CommitRecord) -> None:
        from incidentctl.store.history import verify_commit

        if rec.signature == "G":
            return
        if rec.signature == "N":
            self.problem(rec.commit, "", "commit is not signed")
            return
        passes, detail = verify_commit(self.git, rec.commit)
        if not passes:
            what = SIGNATURE_STATUS.get(rec.signature, "signature does not verify")
            self.problem(rec.commit, "", f"{what}: {detail}" if detail else what)


def verify_history(root: Path, revisions: list[str], *, signatures: bool) -> VerifyReport:
    from incidentctl.store.git import Git
    from incidentctl.store.history import walk

    for rev in revisions:
        if not rev.strip() or rev.startswith("-"):
            raise UsageError(
                f"not a revision: {rev!r}", hint="give a commit, a branch or a range like A..B"
            )
    git = Git(root)
    report = VerifyReport(root, revisions or ["HEAD"], signatures)
    if not revisions and git.head() is None:
        return report  # no commits yet: nothing to verify
    verifier = _Verifier(git, report)
    try:
        for rec in walk(git, revisions, signatures):
            verifier.check(rec)
    except GitError as exc:
        if "revision" in exc.message or "ambiguous argument" in exc.message:
            raise UsageError(
                exc.message, hint="give a commit, a branch or a range like A..B"
            ) from None
        raise
    return report
