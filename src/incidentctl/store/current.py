"""This clone's current incident: the one `-` means.

One line in the repo's git dir, `.git/incidentctl/current`, holding the incident's
ULID (a renumbering on sync changes the human ID, never the ULID). It is never a
tracked file: each clone, and each worktree, has its own. Written atomically.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from incidentctl.store.atomic import write_atomic

_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def current_path(git_dir: Path) -> Path:
    return git_dir / "incidentctl" / "current"


def read_current(git_dir: Path) -> tuple[str | None, str]:
    """(ULID, "") when a current incident is set; (None, why) when the file is unusable;
    (None, "") when none is set."""
    path = current_path(git_dir)
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"cannot read {path} ({exc.strerror or exc})"
    if not text:
        return None, ""
    if not _ULID.match(text.upper()):
        return None, f"{path} does not hold an incident ULID"
    return text.upper(), ""


def write_current(git_dir: Path, uid: str) -> None:
    """Make `uid` the current incident. Raises OSError if the git dir is not writable."""
    write_atomic(current_path(git_dir), f"{uid}\n".encode("ascii"))


def clear_current(git_dir: Path) -> bool:
    """Forget the current incident; False if none was set."""
    try:
        os.unlink(current_path(git_dir))
    except FileNotFoundError:
        return False
    return True
