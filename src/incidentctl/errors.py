"""The one exception hierarchy. The CLI turns it into `error:` lines and exit codes, once."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; docs/exit-codes.md is the reference."""

    OK = 0
    FAILED = 1  # the operation failed: not found, repo problem, git failure, bad file
    USAGE = 2  # bad usage or input: unknown option, malformed time, unknown severity
    CHECK = 3  # a check found something due or overdue (status --check)
    PENDING = 4  # done and recorded, but a message is left in the outbox (queued or in doubt)
    INTERRUPTED = 130  # Ctrl-C


class IncidentctlError(Exception):
    """Base of every error the user should see as a sentence, not a traceback."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(IncidentctlError):
    """The user typed something we cannot accept."""

    exit_code = ExitCode.USAGE


class NotFoundError(IncidentctlError):
    """An incident, event or file the user named does not exist."""


class RepoError(IncidentctlError):
    """The incident repo cannot be found, opened or initialised."""


class ConfigError(IncidentctlError):
    """incidentctl.toml (or the user config) is invalid."""


class DataError(IncidentctlError):
    """A file in the repo does not parse or validate."""


class BadFileError(DataError):
    """One file in the repo is unreadable: names the file and the problem."""

    def __init__(self, path: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint or "run: incidentctl doctor")
        self.path = path
        self.problem = problem


class GitError(IncidentctlError):
    """A git command failed."""


class LockTimeout(IncidentctlError):
    """Another incidentctl process holds the repo lock for too long."""


def choices_hint(kind: str, valid: list[str] | tuple[str, ...]) -> str:
    return f"valid {kind}: {', '.join(valid)}"
