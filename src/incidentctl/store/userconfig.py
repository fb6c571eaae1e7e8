"""Writing the user config (platformdirs user_config_dir/config.toml): `repo =` after
joining a team repo. The file is replaced atomically; it holds no other key (an
unknown one is an error: store.locate.read_user_config)."""

from __future__ import annotations

from pathlib import Path

from incidentctl.store.atomic import write_atomic
from incidentctl.store.locate import read_user_config, user_config_path


def check_user_config() -> Path:
    """Fail early (ConfigError) if the user config exists but cannot be read."""
    read_user_config()
    return user_config_path()


def point_user_config_at(repo_root: Path) -> Path:
    import tomli_w

    data = read_user_config()
    data["repo"] = str(repo_root)
    path = user_config_path()
    write_atomic(path, tomli_w.dumps(data).encode("utf-8"))
    return path
