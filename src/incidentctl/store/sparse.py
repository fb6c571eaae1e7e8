"""The sparse work tree: only the open (and recently resolved) incidents checked out.

A new repo (`init`, `clone`) is a cone-mode sparse checkout with a sparse index. The
cone holds the repo's own files (incidentctl.toml, runbooks/, templates/, oncall/,
drills/: every top-level file, and those folders) and the folders of the incidents
that are open or were resolved within `[storage] checkout_window` (30 days). Every
other incident stays in the object store, where every read reads it from anyway
(store/repo.py), so the index and the work tree do not grow with the repo's history.
"""

from __future__ import annotations

from pathlib import Path

OWN_FOLDERS = ("runbooks", "templates", "oncall", "drills")


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
