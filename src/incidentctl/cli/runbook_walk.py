"""The interactive runbook walk: prompts on the terminal, one recorded answer per step.

Steps the timeline already satisfies (the declaration, an acknowledgement, a message
recorded as sent...) are shown as done with the event that did it, and not asked. The
runbook's warnings are acknowledged once: before the first answer; a resumed walk shows
them again without asking.

Nothing is written until a step's answer is complete: notes and command output wait in
memory, so Ctrl-C at any prompt (or quitting) leaves no partial event. Each answer is
re-checked against the repo before the next step, so answers from another terminal or
another clone (after a sync) are skipped, and walking again resumes at the first step
that has no answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incidentctl.cli import terminal

if TYPE_CHECKING:
    from incidentctl.services.runbooks import (
        CommandLine,
        CommandOutput,
        RunbookChoice,
        StepView,
        Walk,
        WalkPosition,
    )
    from incidentctl.services.workspace import Workspace


class _Quit(Exception):
    """The responder chose to stop (or closed the input)."""


def _ask(prompt: str, choices: list[str] | None = None, default: str | None = None) -> str:
    """One line of input. With `choices`, asks again until the answer is one of them
    (in any letter case) and returns the choice as listed."""
    from rich.prompt import Prompt
    from rich.text import Text

    label = Text(prompt)
    if choices:
        label.append(f" [{'/'.join(choices)}]", style="magenta")
    if default is not None:
        label.append(f" ({default})", style="cyan")
    while True:
        try:
            answer = Prompt.get_input(terminal.talk_console(), label + ": ", password=False)
        except EOFError:
            raise _Quit from None
        answer = answer.strip() or (default or "")
        if not choices:
            return answer
        match = [c for c in choices if c.lower() == answer.lower()]
        if match:
            return match[0]
        terminal.talk(f"please answer one of: {', '.join(choices)}")


def _confirm(prompt: str) -> bool:
    """An explicit yes: `y` confirms, Enter or `n` declines."""
    from rich.prompt import Confirm
    from rich.text import Text

    try:
        return Confirm.ask(Text(prompt), console=terminal.talk_console(), default=False)
    except EOFError:
        raise _Quit from None


@dataclass
class _Session:
    ws: Workspace
    walk: Walk
    at: str | None
    by: str | None
    typed_values: dict[str, str] = field(default_factory=dict)  # for variables with no value
    shown_satisfied: set[str] = field(default_factory=set)  # steps shown as done by events

    def show_satisfied(self, position: WalkPosition | None, progress=None) -> None:
        """Show, once each, the steps that the timeline satisfies."""
        from incidentctl.cli.views.runbooks import satisfied_step

        progress = position.progress if position is not None else progress
        if progress is None:
            return
        views = {v.step.id: v for v in self.walk.steps}
        now = self.ws.now()
        for step_id, sat in progress.satisfied.items():
            if step_id not in self.shown_satisfied:
                self.shown_satisfied.add(step_id)
                terminal.print_talk(satisfied_step(views[step_id], sat, now), soft_wrap=True)


def run_walk(
    ws: Workspace,
    ref: str,
    name: str | None,
    overrides: dict[str, str],
    *,
    at: str | None,
    by: str | None,
) -> None:
    try:
        _walk(ws, ref, name, overrides, at=at, by=by)
    except KeyboardInterrupt:
        # nothing is written before an answer is complete, so there is nothing to undo
        terminal.talk("\ninterrupted: the current step was not recorded")
        raise


def _walk(
    ws: Workspace,
    ref: str,
    name: str | None,
    overrides: dict[str, str],
    *,
    at: str | None,
    by: str | None,
) -> None:
    from incidentctl.cli.views.runbooks import runbook_warnings, walk_header
    from incidentctl.services.runbooks import choose_runbook, open_walk, walk_position

    choice = choose_runbook(ws, ref, name)
    try:
        chosen = choice.name or _pick_runbook(choice)
        walk = open_walk(ws, ref, chosen, overrides)
        reason = choice.reason if choice.name else "chosen"
        terminal.print_talk(walk_header(walk, reason))
        session = _Session(ws, walk, at, by)
        position = walk_position(ws, walk)
        if position is None:
            terminal.talk(
                f"every step of {walk.loaded.name} is answered;"
                f" see: incidentctl runbook progress {walk.human_id}"
            )
            return
        session.show_satisfied(position)
        # a walk records no answer before its warnings are acknowledged: answers mean
        # they were, so a resumed walk shows them without asking again
        resumed = bool(position.progress.answers)
        if resumed:
            terminal.talk(
                f"resuming at step {position.view.number} ({position.view.step.id}):"
                f" {position.progress.answered} of {position.progress.total} steps answered"
            )
        if walk.loaded.runbook.warnings:
            terminal.print_talk(runbook_warnings(walk, acknowledged=resumed))
            if not resumed and not _confirm("I have read these warnings. Start?"):
                terminal.talk("not started: the warnings must be acknowledged first")
                return
    except _Quit:
        terminal.talk("walk stopped; nothing recorded")
        return
    while True:
        position = walk_position(ws, walk)
        session.show_satisfied(position)
        if position is None:
            terminal.talk(f"runbook {walk.loaded.name} complete: every step is answered")
            return
        try:
            _answer_step(session, position)
        except _Quit:
            terminal.talk(
                f"paused at step {position.view.number} ({position.view.step.id}); resume with:"
                f" incidentctl runbook walk {walk.human_id} {walk.loaded.name}"
            )
            return


def _pick_runbook(choice: RunbookChoice) -> str:
    from rich.text import Text

    names = [s.name for s in choice.suggestions]
    if not names:
        from incidentctl.errors import UsageError

        raise UsageError(
            f"no runbook is attached to {choice.human_id} and none fits it",
            hint=f"name one: incidentctl runbook walk {choice.human_id} NAME (see: runbook list)",
        )
    terminal.talk(f"no runbook is attached to {choice.human_id}; these fit it:")
    for i, s in enumerate(choice.suggestions, 1):
        terminal.print_talk(Text(f"  {i}. {s.name}  ({'; '.join(s.reasons)})"))
    while True:
        answer = _ask("runbook (number or name)", default="1").strip()
        if not answer.isdigit():
            return answer  # any runbook name; open_walk says if it does not exist
        if 1 <= int(answer) <= len(names):
            return names[int(answer) - 1]
        terminal.talk(f"pick a number from 1 to {len(names)}, or type a runbook name")


def _menu(view: StepView) -> list[tuple[str, str]]:
    step = view.step
    items = [("p", "pick option")] if step.kind == "decision" else [("d", "done")]
    items += [("s", "skipped"), ("f", "failed"), ("n", "note")]
    if view.commands:
        items += [("r", "run"), ("c", "copy")]
    if step.template:
        items.append(("m", "message"))
    items.append(("q", "quit"))
    return items


def _answer_step(session: _Session, position: WalkPosition) -> None:
    from rich.text import Text

    from incidentctl.cli.views.runbooks import walk_step
    from incidentctl.errors import IncidentctlError
    from incidentctl.services.runbooks import StepAnswer, record_step

    view = position.view
    notes: list[str] = []
    runs: list[CommandOutput] = []
    terminal.print_talk(walk_step(position))
    menu = _menu(view)
    legend = Text("  ".join(f"[{k}] {label}" for k, label in menu), style="dim")
    while True:
        pending = _pending(notes, runs)
        if pending:
            terminal.print_talk(Text("not yet recorded: " + "; ".join(pending), style="yellow"))
        terminal.print_talk(legend)
        key = _ask("choice", [k for k, _ in menu]).lower()
        option = ""
        if key == "n":
            text = _ask("note")
            if text.strip():
                notes.append(text)
            continue
        if key == "r":
            result = _run(session, _choose_command(view, "run"))
            if result is not None:
                runs.append(result)
            continue
        if key == "c":
            _copy(_filled(session, _choose_command(view, "copy")))
            continue
        if key == "m":
            _message(session, view)
            continue
        if key == "q":
            if pending and not _confirm(f"Quit and drop the unrecorded {', '.join(pending)}?"):
                continue
            raise _Quit
        if key == "p":
            option = _pick_option(view)
            for line in (c for c in view.commands if c.option == option):
                result = _run(session, line)
                if result is not None:
                    runs.append(result)
        outcome = {"d": "done", "s": "skipped", "f": "failed", "p": "decided"}[key]
        answer = StepAnswer(outcome, option, "\n".join(notes), runs)
        try:
            result = record_step(
                session.ws,
                session.walk.uid,
                session.walk.loaded.name,
                view.step.id,
                answer,
                at=session.at,
                by=session.by,
            )
        except IncidentctlError as exc:
            # e.g. a commit hook refused: keep what was typed and run, and let them retry
            terminal.error(exc.message, exc.hint)
            terminal.talk("not recorded; the notes and output are kept: answer again, or quit")
            continue
        recorded = result.recorded[0]
        extra = f" · evidence {recorded.event.evidence}" if recorded.event.evidence else ""
        what = outcome + (f" {option}" if option else "")
        terminal.talk(f"recorded {view.step.id}: {what} · commit {recorded.commit}{extra}")
        return


def _pending(notes: list[str], runs: list[CommandOutput]) -> list[str]:
    out = []
    if notes:
        out.append("note" if len(notes) == 1 else f"{len(notes)} notes")
    if runs:
        out.append("command output" if len(runs) == 1 else f"output of {len(runs)} commands")
    return out


def _choose_command(view: StepView, verb: str) -> CommandLine:
    commands = view.commands
    if len(commands) == 1:
        return commands[0]
    numbers = [str(i) for i in range(1, len(commands) + 1)]
    return commands[int(_ask(f"which command to {verb}", numbers)) - 1]


def _pick_option(view: StepView) -> str:
    # Rich answers a case-insensitive prompt with the choice as listed
    return _ask("option", [o.key for o, _ in view.options])


def _filled(session: _Session, line: CommandLine) -> str:
    """The command with a value for each variable it lacks, asked for once per walk."""
    for name in line.missing:
        while not session.typed_values.get(name, "").strip():
            session.typed_values[name] = _ask(f"value for {{{{ {name} }}}}")
    if not line.missing:
        return line.text
    return line.fill({**session.walk.values, **session.typed_values})


def _run(session: _Session, line: CommandLine) -> CommandOutput | None:
    """Show the exact command line; run it only after an explicit yes."""
    from rich.text import Text

    from incidentctl.services.runbooks import run_confirmed_command

    command = _filled(session, line)
    shown = Text("about to run, in ", style="bold")
    shown.append(str(Path.cwd()))
    shown.append(":\n")
    shown.append(command, style="bold green")
    terminal.print_talk(shown, soft_wrap=True)
    if not _confirm("Run exactly this command?"):
        terminal.talk("not run")
        return None
    last = [b"\n"]

    def show(chunk: bytes) -> None:
        terminal.talk_raw(chunk)
        last[0] = chunk[-1:]

    result = run_confirmed_command(command, session.walk.evidence_limit, show)
    if last[0] != b"\n" or result.interrupted:
        terminal.talk("")  # end the command's last line (or the ^C) before talking
    status = f"exit code {result.exit_code}"
    if result.interrupted:
        status += " (interrupted; the output so far is kept)"
    if result.truncated:
        status += f" · output truncated to {len(result.output)} of {result.output_bytes} bytes"
    terminal.talk(f"{status} · the output is recorded with this step's answer")
    return result


def _copy(text: str) -> None:
    from incidentctl.adapters.clipboard import copy_text
    from incidentctl.errors import IncidentctlError

    try:
        terminal.talk(copy_text(text))
    except IncidentctlError as exc:
        terminal.error(exc.message, exc.hint)


def _message(session: _Session, view: StepView) -> None:
    from rich.panel import Panel
    from rich.text import Text

    from incidentctl.errors import IncidentctlError
    from incidentctl.services.comms import render_message

    template = view.step.template
    try:
        message = render_message(session.ws, template, session.walk.uid, fmt="text")
    except IncidentctlError as exc:
        terminal.error(exc.message, exc.hint)
        return
    terminal.print_talk(Panel(Text(message.text), title=template, title_align="left"))
    if _confirm("Copy it to the clipboard?"):
        _copy(message.text)
