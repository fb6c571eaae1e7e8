"""Drill scenario files: the built-ins (incidentctl/drills/) and the repo's own
(drills/ at the repo root), by name; the repo's hide a built-in of the same name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEAM_DRILLS = "drills"
BUILTIN = "built-in"
REPO = "repo"


@dataclass(frozen=True)
class ScenarioFile:
    name: str
    path: Path
    origin: str  # built-in or repo
    display: str  # how messages name it


def builtin_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "drills"


def _scan(folder: Path, origin: str, root: Path | None) -> dict[str, ScenarioFile]:
    found: dict[str, ScenarioFile] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.toml")):
        if path.is_symlink() or not path.is_file():
            continue  # a repo's scenario is a file of the repo
        display = str(path.relative_to(root)) if root is not None else f"built-in {path.name}"
        found[path.stem] = ScenarioFile(path.stem, path, origin, display)
    return found


def scenario_files(repo_root: Path | None) -> dict[str, ScenarioFile]:
    found = _scan(builtin_dir(), BUILTIN, None)
    if repo_root is not None:
        found.update(_scan(repo_root / TEAM_DRILLS, REPO, repo_root))
    return dict(sorted(found.items()))


def read_text(file: ScenarioFile) -> str:
    return file.path.read_text(encoding="utf-8")
