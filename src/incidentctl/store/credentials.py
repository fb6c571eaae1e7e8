"""Secrets for the destinations: never in the repo.

A destination's table names an environment variable for each secret
(`routing_key_env = "INCIDENTCTL_PAGERDUTY_ROUTING_KEY"`). The value is that
variable, or else the key of the same name in `credentials.toml` in the user config
dir (beside config.toml):

    INCIDENTCTL_PAGERDUTY_ROUTING_KEY = "R0..."
    SLACK_BOT_TOKEN = "xoxb-..."

The file must be readable by its owner alone (chmod 600): one that group or others
may read is refused, as ssh refuses such a key.
"""

from __future__ import annotations

import os
from pathlib import Path

from incidentctl.errors import ConfigError, ExitCode

CREDENTIALS_FILE = "credentials.toml"


class CredentialsError(ConfigError):
    """credentials.toml is unsafe or unreadable: bad usage, nothing is sent."""

    exit_code = ExitCode.USAGE


def credentials_path() -> Path:
    from incidentctl.store.locate import user_config_path

    return user_config_path().parent / CREDENTIALS_FILE


def read_credentials(path: Path | None = None) -> dict[str, str]:
    """The secrets in credentials.toml ({} without the file). Raises CredentialsError
    when group or others may read it, or it is not a table of strings."""
    import stat
    import tomllib

    path = path or credentials_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"{path} may be read by other users (mode {stat.S_IMODE(mode):o}); refusing to use it",
            hint=f"chmod 600 {path}",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CredentialsError(f"{path}: cannot read it: {exc}", hint=f"fix {path}") from None
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise CredentialsError(
            f'{path}: {", ".join(bad)}: each secret is a string (NAME = "value")',
            hint=f"fix {path}",
        )
    return data


class Secrets:
    """Looks up secrets by variable name: the environment first, then credentials.toml
    (read once, only if a secret is not in the environment)."""

    def __init__(self, environ: dict[str, str] | None = None, path: Path | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.path = path
        self._file: dict[str, str] | None = None

    def get(self, name: str) -> str:
        """The secret, or '' when neither the environment nor the file has it."""
        value = self.environ.get(name, "").strip()
        if value:
            return value
        if self._file is None:
            self._file = read_credentials(self.path)
        return self._file.get(name, "").strip()

    def where(self, name: str) -> str:
        """Where to put a missing secret, for a hint."""
        return f'set ${name}, or {name} = "..." in {self.path or credentials_path()}'
