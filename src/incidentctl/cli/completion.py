"""Shell completion: the parameters' `autocompletion=` callbacks, and the `completion
SHELL` command that prints the script to load (bash, zsh, fish).

The completion protocol is Typer's (Click's): the shell runs `incidentctl` with
`_INCIDENTCTL_COMPLETE=complete_SHELL` and the words typed so far in the environment;
`cli/app.run` builds only the command being completed (`words_being_completed`) and
Typer calls the callbacks below, whose data comes from services/completion.py.
This module imports nothing heavy: cli/common.py names its callbacks at import.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

COMPLETE_VAR = "_INCIDENTCTL_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def words_being_completed() -> list[str] | None:
    """The words after `incidentctl` on the line being completed, or None when this
    run is not a completion."""
    if COMPLETE_VAR not in os.environ:
        return None
    import shlex

    from typer._completion_classes import completion_init

    completion_init()  # the root app has add_completion=False: register the shells here

    line = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS", "")
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    return words[1:]


def _repo(ctx: Any) -> str | None:
    root = ctx.find_root()
    return (root.params or {}).get("repo")


def _pairs(choices: Any, incomplete: str) -> list[tuple[str, str]]:
    return [(c.value, c.help) for c in choices if c.value.startswith(incomplete)]


def complete_incident(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.incidents(_repo(ctx), incomplete), incomplete)


def complete_runbook(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.runbooks(_repo(ctx)), incomplete)


def complete_step(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.runbook_steps(_repo(ctx), ctx.params.get("name")), incomplete)


def complete_template(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.templates(_repo(ctx)), incomplete)


def complete_role(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.roles(_repo(ctx)), incomplete)


def complete_severity(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.severities(_repo(ctx)), incomplete.upper())


def complete_status(incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.statuses(), incomplete)


def complete_note_kind(incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.note_kinds(), incomplete)


def complete_action(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.action_ids(_repo(ctx)), incomplete)


def complete_action_status(incomplete: str) -> list[tuple[str, str]]:
    from incidentctl.services import completion

    return _pairs(completion.action_statuses(), incomplete)


def script(shell: str) -> str:
    """The completion script for `shell`: Typer's, with bash told to keep our order
    (open incidents first) instead of sorting the words."""
    from typer._completion_shared import get_completion_script

    text = get_completion_script(prog_name="incidentctl", complete_var=COMPLETE_VAR, shell=shell)
    if shell == "bash":
        text = text.replace("complete -o default -F", "complete -o nosort -o default -F")
    return text


def completion(
    shell: Annotated[
        str,
        typer.Argument(
            metavar="SHELL",
            help="bash, zsh or fish.",
            autocompletion=lambda: list(SHELLS),
        ),
    ],
) -> None:
    """Print the shell completion script: eval "$(incidentctl completion bash)" (see
    docs/completion.md for zsh, fish and installing it for good)."""
    from incidentctl.cli import terminal
    from incidentctl.errors import UsageError

    if shell not in SHELLS:
        raise UsageError(f"no completion for shell {shell!r}", hint="give one of: bash, zsh, fish")
    terminal.out(script(shell))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Setup")(completion)
