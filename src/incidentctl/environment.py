"""What incidentctl sets in its own environment, and the environment it hands on.

The commands it starts (git and its hooks, a runbook step's shell command) get the
environment the user gave incidentctl, not what incidentctl set for itself."""

from __future__ import annotations

import math
import os

PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
_set_here: set[str] = set()


def skip_pydantic_plugins() -> None:
    """pydantic scans every installed distribution's entry points for plugins before
    it builds its first model (about 30 ms); incidentctl's models use none. It reads
    the variable at each model build, so it stays set for the process."""
    if PYDANTIC_PLUGINS not in os.environ:
        os.environ[PYDANTIC_PLUGINS] = "__all__"
        _set_here.add(PYDANTIC_PLUGINS)


def for_children() -> dict[str, str]:
    """The environment for a command incidentctl starts: the user's, as given."""
    return {k: v for k, v in os.environ.items() if k not in _set_here}


def seconds(name: str, default: float) -> float:
    """The number of seconds environment variable `name` holds (`default` when unset
    or empty). Anything else is a usage error naming the variable (exit 2)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        from incidentctl.errors import UsageError

        raise UsageError(
            f"{name}={text!r} is not a number of seconds",
            hint=f"set {name} to a number such as {default:g}, or unset it",
        )
    return value
