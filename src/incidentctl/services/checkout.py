"""`incidentctl checkout`: closed incidents' files into a sparse work tree, to read.

Reads never need it (every command reads the object store, store/repo.py): it is for a
person who wants the files on disk. A folder checked out stays there, past the daily
refresh of the cone (store/sparse.py), until `checkout --done` lets it go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from incidentctl.errors import ExitCode, UsageError
from incidentctl.services.outcome import Outcome
from incidentctl.services.workspace import Workspace


@dataclass
class CheckoutResult(Outcome):
    sparse: bool
    added: list[str] = field(default_factory=list)  # folders that came into the work tree
    already: list[str] = field(default_factory=list)  # folders that were there already
    left: list[str] = field(default_factory=list)  # folders that left it (--done)

    def problem_list(self) -> list:
        return []

    @property
    def exit_status(self) -> ExitCode:
        return ExitCode.OK

    def to_dict(self) -> dict:
        return {
            "sparse": self.sparse,
            "added": self.added,
            "already": self.already,
            "left": self.left,
        }


def checkout(
    ws: Workspace, refs: list[str], *, every: bool = False, done: bool = False
) -> CheckoutResult:
    """Bring the incidents `refs` name (every incident with `every`) into the work tree;
    with `done`, stop keeping them (all kept ones when `refs` is empty)."""
    from incidentctl.services.lookup import find_incident
    from incidentctl.store import sparse

    repo = ws.repo
    if every and refs:
        raise UsageError("give incidents or --all, not both")
    if not (refs or every or done):
        raise UsageError(
            "name the incidents to check out (INC...), or --all",
            hint="e.g. incidentctl checkout INC-2026-02-12-001",
        )
    folders = (
        [sparse.INCIDENTS]
        if every
        else [repo.rel(find_incident(ws, ref).incident.folder) for ref in refs]
    )
    result = CheckoutResult(sparse=repo.sparse)
    if not repo.sparse:  # a full checkout has every incident's files already
        result.already = folders
        return result
    with repo.lock():
        if done:
            before = set(repo.disk_folder_paths())
            sparse.let_go(repo, None if (every or not refs) else folders, ws.now())
            result.left = sorted(repo.rel(p) for p in before - set(repo.disk_folder_paths()))
            return result
        added = sparse.check_out(repo, folders)
    result.added = added
    result.already = [f for f in folders if f not in added]
    return result
