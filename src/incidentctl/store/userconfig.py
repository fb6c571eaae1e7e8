"""Writing the user config (platformdirs user_config_dir/config.toml): `repo =` (after
joining a team repo, or `init PATH --default`) and `handle =` (asked once on a
terminal). The file is replaced atomically; it holds no other key (an unknown one is an
error: store.locate.read_user_config).

And the user state (platformdirs user_state_dir): which terminals have been told which
repo their writes go to (`told` / `remember_told`), so that is said once per terminal.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from incidentctl.store.atomic import write_atomic
from incidentctl.store.locate import APP_NAME, read_user_config, user_config_path


def check_user_config() -> Path:
    """Fail early (ConfigError) if the user config exists but cannot be read."""
    read_user_config()
    return user_config_path()


def set_user_config(key: str, value: str) -> Path:
    """Set one key of the user config, keeping the others; return the file's path."""
    import tomli_w

    data = read_user_config()
    data[key] = value
    path = user_config_path()
    write_atomic(path, tomli_w.dumps(data).encode("utf-8"))
    return path


def point_user_config_at(repo_root: Path) -> Path:
    return set_user_config("repo", str(repo_root))


def user_handle() -> str | None:
    """The user config's `handle =` (checked: store.locate.HANDLE), or None."""
    handle = read_user_config().get("handle")
    return handle or None


def _told_path(terminal: str) -> Path:
    from platformdirs import user_state_dir

    key = hashlib.sha256(terminal.encode("utf-8", "backslashreplace")).hexdigest()[:32]
    return Path(user_state_dir(APP_NAME)) / "terminals" / key


def told(terminal: str, repo_root: Path) -> bool:
    """Was `terminal` told that its writes go to `repo_root` (the last repo it was told)?"""
    try:
        return _told_path(terminal).read_text(encoding="utf-8") == str(repo_root)
    except (OSError, UnicodeDecodeError):
        return False


def remember_told(terminal: str, repo_root: Path) -> None:
    """Note that `terminal` was told; a failure to note it only means telling again."""
    import contextlib

    with contextlib.suppress(OSError):
        write_atomic(_told_path(terminal), str(repo_root).encode("utf-8"))
