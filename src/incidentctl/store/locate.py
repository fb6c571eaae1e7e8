"""Finding the incident repo: --repo, $INCIDENTCTL_REPO, the enclosing git work tree,
the user config's `repo =`, then the default repo in the user data dir."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from incidentctl.errors import ConfigError, RepoError

CONFIG_NAME = "incidentctl.toml"
APP_NAME = "incidentctl"


@dataclass(frozen=True)
class Located:
    root: Path
    how: str  # "--repo", "INCIDENTCTL_REPO", "work tree", "user config", "default"
    is_default: bool = False
    # the enclosing git work tree, when it was passed over for having no incidentctl.toml
    passed_over: Path | None = None


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


def default_repo_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "repo"


# The keys the user config may hold. A typo is an error: ignored, a misspelt `repo`
# would send every command to a new private default repo, away from the team's.
USER_CONFIG_KEYS = ("repo", "handle")
# a handle as roles are written: @ann, @sarah-sre, @ann.o
HANDLE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HANDLE_HINT = 'a handle is @ and a name without spaces, as roles are written: handle = "@ann"'


def read_user_config() -> dict:
    path = user_config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: {exc}", hint="fix or remove the user config file") from None
    for key, value in data.items():
        if key not in USER_CONFIG_KEYS:
            import difflib

            close = difflib.get_close_matches(key, USER_CONFIG_KEYS, n=1, cutoff=0.5)
            raise ConfigError(
                f"{path}: unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                hint=f"the user config knows: {', '.join(USER_CONFIG_KEYS)}; fix {path}",
            )
        if not isinstance(value, str):
            what = "a handle" if key == "handle" else "a path"
            example = "@ann" if key == "handle" else "PATH"
            raise ConfigError(
                f"{path}: {key} must be a string ({what}), not {type(value).__name__}",
                hint=f'write it as {key} = "{example}" in {path}',
            )
        if key == "handle" and not HANDLE.fullmatch(value):
            raise ConfigError(f"{path}: handle {value!r} is not a handle", hint=HANDLE_HINT)
    return data


def enclosing_work_tree(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def locate(explicit: str | None, cwd: Path | None = None) -> Located:
    """Where the commands work, and why (Located.how): the first of --repo,
    $INCIDENTCTL_REPO, the enclosing git work tree if it is an incident repo, the user
    config's `repo =`, the default repo."""
    if explicit:
        return Located(Path(explicit).expanduser().resolve(), "--repo")
    env = os.environ.get("INCIDENTCTL_REPO")
    if env:
        return Located(Path(env).expanduser().resolve(), "INCIDENTCTL_REPO")
    top = enclosing_work_tree((cwd or Path.cwd()).resolve())
    if top is not None and (top / CONFIG_NAME).is_file():
        return Located(top, "work tree")
    configured = configured_repo()
    if configured is not None:
        return Located(configured, "user config", passed_over=top)
    return Located(default_repo_path(), "default", is_default=True, passed_over=top)


def configured_repo() -> Path | None:
    """The user config's `repo =`, resolved; None if it names none."""
    configured = read_user_config().get("repo")
    if isinstance(configured, str) and configured:
        return Path(configured).expanduser().resolve()
    return None


def require_initialised(located: Located) -> None:
    if not (located.root / CONFIG_NAME).is_file():
        raise RepoError(
            f"{located.root} is not an incident repo (no {CONFIG_NAME}; found via {located.how})",
            hint=f"create it with: incidentctl init {located.root}",
        )


def git_dir_of(root: Path) -> Path:
    """The repo's git dir, following a worktree's `.git` file."""
    dot_git = root / ".git"
    if dot_git.is_file():
        text = dot_git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            target = Path(text.removeprefix("gitdir:").strip())
            return target if target.is_absolute() else (root / target).resolve()
    return dot_git
