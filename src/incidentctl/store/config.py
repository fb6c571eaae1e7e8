"""Reading incidentctl.toml and the defaults shipped with the package."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from incidentctl.errors import ConfigError

EXAMPLES = ("white-room", "waooaw")


def default_config_text() -> str:
    return resources.files("incidentctl").joinpath("defaults/incidentctl.toml").read_text("utf-8")


def example_config_text(name: str) -> str:
    path = resources.files("incidentctl").joinpath(f"examples/{name}/incidentctl.toml")
    return path.read_text("utf-8")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: invalid TOML: {exc}", hint=f"fix {path}") from None


def load_config_data(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(defaults, team) as parsed dicts; the domain merges and validates them."""
    return tomllib.loads(default_config_text()), read_toml(path)
