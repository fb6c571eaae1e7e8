"""The one reporter: turns service results and errors into talk, `error:` lines and exit
codes. Commands print their product, then hand the result here; nothing else in the
command layer decides an exit status (docs/exit-codes.md)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer

from incidentctl.cli import terminal

if TYPE_CHECKING:
    from incidentctl.services.announce import Published
    from incidentctl.services.comms import Rendered
    from incidentctl.services.outcome import Outcome
    from incidentctl.services.record import RecordResult
    from incidentctl.services.sync import AutoSync, SyncResult


COPIED_VIA = {  # adapters/clipboard.py's methods, as the user reads them
    "osc52": "OSC 52 (your terminal does the copy)",
    "osc52 through tmux": "OSC 52 through tmux (set-clipboard on)",
    "osc52 through tmux passthrough": "OSC 52 through tmux passthrough (your terminal does "
    "the copy)",
    "tmux": "tmux load-buffer -w (tmux's buffer, and your terminal's clipboard)",
}


def finish(result: Outcome) -> None:
    """Name each problem of `result` after the output, then exit with its status."""
    for problem in result.problem_list():
        if problem.warning:
            terminal.warn(problem.message)
        else:
            terminal.error(problem.message, problem.hint)
    code = int(result.exit_status)
    if code:
        raise typer.Exit(code)


def failed(exc: BaseException) -> int:
    """An error that ended the command: its `error:` line and hint, and the exit code.
    Every layer raises `IncidentctlError`s, which carry their code; the rest is mapped
    here, so nothing prints a traceback."""
    from typer import Abort
    from typer._click.exceptions import ClickException  # Typer 0.29 vendors click

    from incidentctl.errors import ExitCode, IncidentctlError

    if isinstance(exc, IncidentctlError):
        terminal.error(exc.message, exc.hint)
        return int(exc.exit_code)
    if isinstance(exc, ClickException):
        message = exc.format_message()
        if message:  # empty for a bare `incidentctl`, whose help is already printed
            ctx = getattr(exc, "ctx", None)
            terminal.error(message, f"see: {ctx.command_path if ctx else 'incidentctl'} --help")
        return int(exc.exit_code)
    if isinstance(exc, Abort | KeyboardInterrupt):
        terminal.error("interrupted")
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, BrokenPipeError):
        # the reader went away (e.g. `| head`); nothing to report
        sys.stderr.close()
        return int(ExitCode.FAILED)
    return _unexpected(exc)


def _unexpected(exc: BaseException) -> int:
    """An error no layer turned into an IncidentctlError. Input that fails a model's
    validation is bad input (exit 2); anything else is a failed operation (exit 1)."""
    import traceback

    from incidentctl.errors import ExitCode

    if os.environ.get("INCIDENTCTL_DEBUG"):
        traceback.print_exception(exc)
    if type(exc).__name__ == "ValidationError" and type(exc).__module__.startswith("pydantic"):
        from incidentctl.domain.events import describe_validation_error

        terminal.error(
            f"invalid input: {describe_validation_error(exc)}", "shorten or fix the value"
        )
        return int(ExitCode.USAGE)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        terminal.error(f"{exc.strerror or exc}{where}", "check the path, the disk and permissions")
        return int(ExitCode.FAILED)
    terminal.error(
        f"unexpected {type(exc).__name__}: {exc}",
        "this is a bug; INCIDENTCTL_DEBUG=1 shows the traceback for a report",
    )
    return int(ExitCode.FAILED)


def published(result: Published, as_json: bool = False, *, finish_after: bool = True) -> None:
    """What an event command (or `render`) did: its events, the sync, the message and
    its delivery, in that order; JSON of the events on stdout if asked."""
    sync_first = result.synced is not None and result.communication is None
    if sync_first:
        synced(result.synced)
    if result.record is not None:
        recorded(result.record, as_json)
    if result.rendered is not None and result.record is not None and not as_json:
        show_message(result.rendered)
    if result.copied_via:
        how = COPIED_VIA.get(result.copied_via)
        terminal.talk(
            f"copied {result.rendered.template if result.rendered else 'it'} to the clipboard "
            f"via {how or result.copied_via}"
        )
    if result.delivery is not None and result.delivery.outcome == "sent":
        terminal.talk(f"posted {result.delivery.template} to Slack")
    if result.communication is not None:
        recorded(result.communication, False)
    if result.synced is not None and not sync_first:
        synced(result.synced)
    for note in result.notes:
        terminal.talk(note)
    for warning in result.warnings:
        terminal.warn(warning)
    if finish_after:
        finish(result)


def show_message(rendered: Rendered) -> None:
    """Off a terminal: exactly the message text. On one: a panel, and a hint on stderr."""
    if not terminal.stdout_is_tty():
        terminal.out(rendered.paste_text)
        return
    from incidentctl.cli.views.messages import message_panel

    terminal.print_rich(message_panel(rendered))
    terminal.talk(
        "hint: --copy copies it, --post posts it to Slack; piped, only the text is printed"
    )


def recorded(result: RecordResult, as_json: bool) -> None:
    """Talk about what an event command committed; JSON on stdout if asked."""
    for item in result.recovered:
        terminal.talk(
            f"recovered {item.path} ({item.commit}), left uncommitted by an interrupted command"
        )
    for note in result.notes:
        terminal.warn(note)
    if as_json:
        terminal.out_json(result.to_dict())
    for rec in result.recorded:
        terminal.talk(f"{result.state.human_id}: recorded {rec.event.type} · commit {rec.commit}")


def synced(outcome: AutoSync | None) -> None:
    """The automatic sync after recording. A failure is a warning: the events are
    committed, and go out with the next sync."""
    if outcome is None:
        return
    if outcome.result is None:
        if outcome.offline:  # the message already says the events stay committed
            terminal.warn(f"not synced: {outcome.failure}")
        else:
            terminal.warn(
                f"not synced: {outcome.failure}; the event is committed here and goes out "
                "with the next sync"
            )
        return
    for r in outcome.result.renumbered:
        terminal.talk(
            f"{r.old} was already taken on {outcome.result.remote}: "
            f"your incident {r.old} is now {r.new}"
        )
    terminal.talk(sync_summary(outcome.result))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def sync_summary(result: SyncResult) -> str:
    where = f"{result.remote}/{result.branch}"
    parts = []
    if result.pulled:
        parts.append(f"took {plural(result.pulled, 'commit')}")
    if result.pushed:
        parts.append(f"pushed {plural(result.pushed, 'commit')}")
    if result.renumbered:
        parts.append(f"renumbered {plural(len(result.renumbered), 'incident')}")
    if result.races:
        parts.append(f"after {plural(result.races, 'lost race')}")
    if not parts:
        return f"synced with {where}: already up to date"
    return f"synced with {where}: " + ", ".join(parts)
