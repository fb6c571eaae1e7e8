"""Reading incidentctl.toml and the defaults shipped with the package."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from incidentctl.errors import ConfigError

EXAMPLES = ("white-room", "waooaw")


def default_config_text() -> str:
    from importlib import resources

    return resources.files("incidentctl").joinpath("defaults/incidentctl.toml").read_text("utf-8")


def example_config_text(name: str) -> str:
    from importlib import resources

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


class ConfigCheck:
    """Remembers (in the git dir, never in tracked files) that the repo's config passed
    validation, so a command that does not need the config still refuses a broken one
    without paying to validate it: the mark is the hash of the config file, the
    defaults and the code that validates them, so it can never vouch for another file."""

    def __init__(self, git_dir: Path, config_path: Path) -> None:
        self.path = git_dir / "incidentctl" / "config-ok"
        self.config_path = config_path
        self._mark: str | None = None

    def _fingerprint(self) -> str:
        if self._mark is None:
            import hashlib

            from incidentctl import __version__, domain

            h = hashlib.blake2b(__version__.encode(), digest_size=16)
            code = os.path.dirname(domain.__file__)  # (os, not Path.glob: 8 ms less)
            for name in sorted(os.listdir(code)):
                if name.endswith(".py"):
                    h.update(Path(code, name).read_bytes())
            # the defaults beside the code, as installed (importlib.resources, needed
            # only for a zipped install, costs more to import than the whole check)
            shipped = Path(code).parent / "defaults" / "incidentctl.toml"
            try:
                h.update(shipped.read_bytes())
            except OSError:
                h.update(default_config_text().encode("utf-8"))
            try:
                h.update(self.config_path.read_bytes())
            except OSError:
                h.update(b"\0unreadable")
            self._mark = h.hexdigest()
        return self._mark

    def passed(self) -> bool:
        try:
            return self.path.read_text(encoding="ascii").strip() == self._fingerprint()
        except (OSError, UnicodeDecodeError):
            return False

    def record(self) -> None:
        import contextlib

        from incidentctl.store.atomic import write_atomic

        with contextlib.suppress(OSError):  # a read-only clone: validated every time instead
            write_atomic(self.path, self._fingerprint().encode("ascii"))
