"""What a use case reports beyond its data: the problems it met and the exit status
that follows. Services fill these in and never print; `cli/report.py` renders them
once, the way pipx renders an operation's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidentctl.errors import ExitCode, IncidentctlError

DOCTOR_HINT = "run: incidentctl doctor"


@dataclass(frozen=True)
class Problem:
    """One thing that went wrong, as the user reads it: `error: message` and a hint."""

    message: str
    hint: str | None = None
    exit_code: ExitCode = ExitCode.FAILED
    warning: bool = False  # `warning:`, and the command still succeeds

    @classmethod
    def of(cls, item: Any) -> Problem:
        """A problem from what the lower layers report: an error, an unreadable file
        (store's FileProblem; one marked `warning`, such as a work-tree file that
        differs from its commit, is a warning), or a sentence."""
        if isinstance(item, Problem):
            return item
        if isinstance(item, IncidentctlError):
            return cls(item.message, item.hint, item.exit_code)
        if getattr(item, "warning", False):
            return cls(str(item), None, ExitCode.OK, warning=True)
        return cls(str(item), DOCTOR_HINT)


class Outcome:
    """Mixed into service results that carry `problems`: each becomes an `error:` line
    after the output, and any of them makes the command fail (exit 1). A result with
    another rule overrides `exit_status`."""

    problems: list[Any]

    def problem_list(self) -> list[Problem]:
        return [Problem.of(p) for p in self.problems]

    @property
    def exit_status(self) -> ExitCode:
        problems = self.problem_list()
        return max((p.exit_code for p in problems), default=ExitCode.OK)
