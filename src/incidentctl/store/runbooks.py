"""Runbook files: the built-ins shipped in the package, and a team's `runbooks/*.toml`.

A team file with the same name as a built-in replaces it; any other adds a runbook.
This module finds and reads the files; validating them is the domain's job. A team's
runbooks are files of the repo, nothing else: a symbolic link (the file, or the
`runbooks/` folder) or anything but a regular file is refused with its path before
it is read, so a link cannot put a file from elsewhere on the machine in front of a
responder or into a command.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from incidentctl.errors import BadFileError

TEAM_RUNBOOKS = "runbooks"
BUILTIN = "built-in"
REPO = "repo"


@dataclass(frozen=True)
class RunbookFile:
    name: str  # the file's stem, which is the runbook's name
    path: Path
    origin: str  # "built-in" or "repo"
    display: str  # how messages name it: "runbooks/x.toml" or "built-in runbook x.toml"


def builtin_dir() -> Path:
    return Path(str(resources.files("incidentctl").joinpath("runbooks")))


LINK_HINT = "replace it with a copy of the file it points to, or remove it"


def _scan(folder: Path, origin: str, root: Path | None) -> dict[str, RunbookFile]:
    found: dict[str, RunbookFile] = {}
    if root is not None and folder.is_symlink():
        raise BadFileError(
            folder.relative_to(root).as_posix(),
            f"is a symbolic link (to {_target(folder)}); runbooks must be files of the repo",
            hint=LINK_HINT,
        )
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.toml")):
        if path.name.startswith(".") or not (path.is_file() or path.is_symlink()):
            continue  # a link is listed, and refused when read
        if root is not None:
            display = path.relative_to(root).as_posix()
        else:
            display = f"built-in runbook {path.name}"
        found[path.stem] = RunbookFile(path.stem, path, origin, display)
    return found


def runbook_files(repo_root: Path | None) -> dict[str, RunbookFile]:
    """Every runbook file by name, sorted; the repo's hide the built-ins of the same name."""
    found = _scan(builtin_dir(), BUILTIN, None)
    if repo_root is not None:
        found.update(_scan(repo_root / TEAM_RUNBOOKS, REPO, repo_root))
    return dict(sorted(found.items()))


def read_runbook_data(path: Path, display: str) -> dict[str, Any]:
    """The parsed TOML of a runbook file. Errors name the file (as `display`) and the
    problem. Outside the package's own runbooks, a symbolic link or anything but a
    regular file is refused unread."""
    import stat

    if path.parent != builtin_dir():
        try:
            mode = path.lstat().st_mode
        except OSError as exc:
            raise BadFileError(display, f"cannot read: {exc.strerror}", hint=_hint(path)) from None
        if stat.S_ISLNK(mode):
            raise BadFileError(
                display,
                f"is a symbolic link (to {_target(path)}); runbooks must be files of the repo",
                hint=LINK_HINT,
            )
        if not stat.S_ISREG(mode):
            raise BadFileError(display, "not a regular file", hint=LINK_HINT)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BadFileError(display, "not UTF-8 text", hint=_hint(path)) from None
    except OSError as exc:
        raise BadFileError(display, f"cannot read: {exc.strerror}", hint=_hint(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadFileError(display, f"invalid TOML: {exc}", hint=_hint(path)) from None


def _target(path: Path) -> str:
    import os

    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _hint(path: Path) -> str:
    return f"see every problem with: incidentctl runbook lint {path}"


def team_runbook_path(repo_root: Path, name: str) -> Path:
    return repo_root / TEAM_RUNBOOKS / f"{name}.toml"


def write_new_runbook(path: Path, text: str, display: str) -> None:
    """Create a runbook file that does not exist yet (a draft for the team to edit and
    commit; nothing is committed). An existing file, or a link in its place or in
    place of its folder, is refused and left as it is."""
    import os

    folder = path.parent
    if folder.is_symlink():
        raise BadFileError(
            display,
            f"its folder is a symbolic link (to {_target(folder)}); runbooks must be files of the repo",
            hint=LINK_HINT,
        )
    if path.is_symlink() or path.exists():
        raise BadFileError(
            display,
            "already exists; it is left as it is",
            hint="choose another name, edit that file, or give --output PATH",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise BadFileError(display, "already exists; it is left as it is") from None
    except OSError as exc:
        raise BadFileError(display, f"cannot write: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
