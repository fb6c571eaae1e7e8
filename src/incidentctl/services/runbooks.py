"""Runbook use cases: list, show, lint, record a step, walk, progress.

Runbooks are the built-ins plus the team's `runbooks/*.toml` (a team file replaces the
built-in of the same name). Command variables take their values from the runbook's
`[vars]`, then the repo config's `[runbooks.vars]`, then `--var NAME=VALUE`, and are
rendered in the Jinja2 sandbox, never by a shell.

A step's answer is one `runbook_step` event and one commit. The output of commands the
responder confirmed and ran is written to `evidence/<event ULID>.txt` in the incident
folder and committed in that same commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.adapters.shell import CommandOutput
from incidentctl.adapters.shell import run_confirmed_command as run_confirmed_command
from incidentctl.errors import BadFileError, NotFoundError, UsageError, choices_hint
from incidentctl.services.lookup import find_incident
from incidentctl.services.outcome import Outcome, Problem
from incidentctl.services.record import (
    Recorded,
    RecordResult,
    actor,
    clean_text,
    new_event_id,
    one_line,
    refuse_damaged,
    when,
)
from incidentctl.services.workspace import Workspace
from incidentctl.store.runbooks import RunbookFile, read_runbook_data, runbook_files

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.runbook import Option, Phase, Runbook, Step, Suggestion
    from incidentctl.domain.runbook_progress import PhaseClock, RunbookProgress, Satisfaction

EVIDENCE = "evidence"
_VAR_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)


# -- loading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedRunbook:
    runbook: Runbook
    file: RunbookFile

    @property
    def name(self) -> str:
        return self.runbook.name

    def summary_dict(self) -> dict[str, Any]:
        r = self.runbook
        return {
            "name": r.name,
            "title": r.title,
            "severity": r.severity,
            "origin": self.file.origin,
            "path": str(self.file.path),
            "services": list(r.services),
            "tags": list(r.tags),
            "symptoms": list(r.symptoms),
            "phases": len(r.phases),
            "steps": sum(len(p.steps) for p in r.phases),
        }


def _schema_problems(
    data: dict[str, Any], file_name: str, display: str
) -> tuple[Runbook | None, list[str]]:
    """(runbook or None, problem lines `display: field.path: message`)."""
    from incidentctl.domain.runbook import RunbookError, parse_runbook

    stem = file_name.removesuffix(".toml")
    try:
        runbook = parse_runbook(data, display, default_name=stem)
    except RunbookError as exc:
        return None, str(exc).splitlines()
    if runbook.name != stem:
        return runbook, [
            f"{display}: name: {runbook.name!r} does not match the file name {file_name}"
            f" (a runbook lives in <name>.toml)"
        ]
    return runbook, []


def _load(file: RunbookFile) -> LoadedRunbook:
    data = read_runbook_data(file.path, file.display)
    runbook, problems = _schema_problems(data, file.path.name, file.display)
    if problems:
        detail = "; ".join(p.removeprefix(f"{file.display}: ") for p in problems)
        raise BadFileError(
            file.display,
            detail,
            hint=f"see every problem with: incidentctl runbook lint {file.path}",
        )
    return LoadedRunbook(runbook, file)


def load_runbook(ws: Workspace, name: str) -> LoadedRunbook:
    """The runbook called `name`: the repo's, else the built-in. Unknown names are usage errors."""
    files = runbook_files(ws.repo.root)
    wanted = name.strip()
    if wanted not in files:
        raise UsageError(
            f"no runbook {name!r}",
            hint=choices_hint("runbooks", list(files)) + " (see: incidentctl runbook list)",
        )
    return _load(files[wanted])


@dataclass
class Catalog:
    runbooks: list[LoadedRunbook]
    problems: list[BadFileError]


def catalog(ws: Workspace) -> Catalog:
    """Every runbook that loads; the files that do not are reported, not fatal."""
    found: list[LoadedRunbook] = []
    problems: list[BadFileError] = []
    for file in runbook_files(ws.repo.root).values():
        try:
            found.append(_load(file))
        except BadFileError as exc:
            problems.append(exc)
    return Catalog(found, problems)


# -- command variables ------------------------------------------------------------------


def parse_var_options(items: list[str] | None) -> dict[str, str]:
    """`--var NAME=VALUE` options -> {NAME: VALUE}. The value is kept exactly."""
    values: dict[str, str] = {}
    for item in items or []:
        m = _VAR_RE.match(item)
        if not m:
            raise UsageError(
                f"--var {item!r} is not NAME=VALUE",
                hint="for example: --var namespace=production (names use letters, digits, _)",
            )
        values[m.group(1)] = clean_text(m.group(2), f"--var {m.group(1)}")
    return values


def command_values(ws: Workspace, runbook: Runbook, overrides: dict[str, str]) -> dict[str, str]:
    return {**runbook.vars, **ws.config.runbooks.vars, **overrides}


@dataclass(frozen=True)
class CommandLine:
    """One runbook command, rendered. Variables with no value stay as `{{ name }}`."""

    template: str  # as the runbook writes it
    text: str  # what would run
    missing: tuple[str, ...]
    option: str  # the option's key for a decision option's command, else ""
    where: str  # e.g. "api-outage.toml: phases[0].steps[2].commands[0]", for errors

    def fill(self, values: dict[str, str]) -> str:
        """The command with `values` given for its missing variables."""
        from incidentctl.templating.sandbox import render_string

        return render_string(self.template, values, self.where)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "template": self.template,
            "command": self.text,
            "missing": list(self.missing),
        }
        if self.option:
            data["option"] = self.option
        return data


def _command_line(template: str, values: dict[str, str], option: str, where: str) -> CommandLine:
    from incidentctl.templating.sandbox import render_string, string_variables

    missing = tuple(sorted(n for n in string_variables(template, where) if n not in values))
    # a missing variable is shown as itself; values are inserted verbatim, never re-rendered
    shown = {**values, **{n: "{{ " + n + " }}" for n in missing}}
    return CommandLine(template, render_string(template, shown, where), missing, option, where)


@dataclass(frozen=True)
class StepView:
    phase: Phase
    step: Step
    number: int  # 1-based, over the whole runbook
    commands: list[CommandLine]  # the step's own, then each option's
    options: list[tuple[Option, list[CommandLine]]]

    def to_dict(self) -> dict[str, Any]:
        s = self.step
        return {
            "id": s.id,
            "number": self.number,
            "kind": s.kind,
            "text": s.text,
            "warnings": list(s.warnings),
            "template": s.template,
            "satisfied_by": s.satisfiers,
            "commands": [c.to_dict() for c in self.commands if not c.option],
            "options": [
                {"key": o.key, "text": o.text, "commands": [c.to_dict() for c in lines]}
                for o, lines in self.options
            ],
        }


def _step_views(loaded: LoadedRunbook, values: dict[str, str]) -> list[StepView]:
    views: list[StepView] = []
    source = loaded.file.display
    number = 0
    for p, phase in enumerate(loaded.runbook.phases):
        for s, step in enumerate(phase.steps):
            number += 1
            at = f"{source}: phases[{p}].steps[{s}]"
            own = [
                _command_line(c, values, "", f"{at}.commands[{i}]")
                for i, c in enumerate(step.commands)
            ]
            options = [
                (
                    option,
                    [
                        _command_line(c, values, option.key, f"{at}.options[{o}].commands[{i}]")
                        for i, c in enumerate(option.commands)
                    ],
                )
                for o, option in enumerate(step.options)
            ]
            commands = own + [line for _, lines in options for line in lines]
            views.append(StepView(phase, step, number, commands, options))
    return views


# -- list and show ----------------------------------------------------------------------


@dataclass
class RunbookListing(Outcome):
    runbooks: list[LoadedRunbook]
    problems: list[BadFileError]
    incident: str = ""  # with --for: the incident the suggestions are for
    suggestions: dict[str, Suggestion] = field(default_factory=dict)

    def to_dict(self) -> list[dict[str, Any]]:
        out = []
        for item in self.runbooks:
            data = item.summary_dict()
            if self.incident:
                s = self.suggestions.get(item.name)
                data["score"] = s.score if s else None
                data["reasons"] = list(s.reasons) if s else []
            out.append(data)
        return out


def list_runbooks(ws: Workspace, for_ref: str | None = None) -> RunbookListing:
    cat = catalog(ws)
    listing = RunbookListing(cat.runbooks, cat.problems)
    if for_ref is not None:
        state = find_incident(ws, for_ref).incident.state
        ranked = suggest_for(state, cat.runbooks)
        listing.incident = state.human_id
        listing.suggestions = {s.name: s for s in ranked}
        order = {s.name: i for i, s in enumerate(ranked)}
        listing.runbooks = [r for r in cat.runbooks if r.name in order]
        listing.runbooks.sort(key=lambda r: order[r.name])
    return listing


def suggest_for(state: IncidentState, runbooks: list[LoadedRunbook]) -> list[Suggestion]:
    from incidentctl.domain.runbook import suggest_runbooks

    text = " ".join([state.title, state.impact])
    return suggest_runbooks([r.runbook for r in runbooks], list(state.services), text)


@dataclass
class RunbookView:
    loaded: LoadedRunbook
    values: dict[str, str]
    steps: list[StepView]

    @property
    def missing(self) -> list[str]:
        return sorted({n for v in self.steps for c in v.commands for n in c.missing})

    def to_dict(self) -> dict[str, Any]:
        r = self.loaded.runbook
        data = self.loaded.summary_dict()
        data.update(
            {
                "summary": r.summary,
                "source": r.source,
                "warnings": list(r.warnings),
                "vars": dict(self.values),
                "missing_vars": self.missing,
                "phases": [
                    {
                        "id": p.id,
                        "title": p.title,
                        "timebox": p.timebox,
                        "steps": [v.to_dict() for v in self.steps if v.phase is p],
                    }
                    for p in r.phases
                ],
            }
        )
        return data


def runbook_view(ws: Workspace, name: str, overrides: dict[str, str]) -> RunbookView:
    loaded = load_runbook(ws, name)
    values = command_values(ws, loaded.runbook, overrides)
    return RunbookView(loaded, values, _step_views(loaded, values))


# -- lint -------------------------------------------------------------------------------


@dataclass
class LintResult(Outcome):
    path: str
    problems: list[str] = field(default_factory=list)  # each "file: field.path: message"
    warnings: list[str] = field(default_factory=list)
    name: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name or None,
            "ok": self.ok,
            "problems": self.problems,
            "warnings": self.warnings,
        }


# families of documents, not messages: `pir generate` and `metrics --report` render them
DOCUMENT_FAMILIES = ("pir", "metrics")


def message_templates(repo_option: str | None) -> list[str]:
    """The message templates the repo in use can render (its own and the built-ins), by
    name; with no incident repo found (lint creates none), the built-ins."""
    from incidentctl.errors import IncidentctlError
    from incidentctl.store.locate import locate
    from incidentctl.templating.sandbox import available_templates

    try:
        located = locate(repo_option)
        root: Path | None = located.root
    except IncidentctlError:
        root = None
    if root is not None and not (root / "incidentctl.toml").is_file():
        root = None
    try:
        names = available_templates(root)
    except IncidentctlError:
        names = available_templates(None)  # a bad repo template: `template list` says so
    return [n for n in names if n.split("/", 1)[0] not in DOCUMENT_FAMILIES]


def lint_file(path: Path, templates: list[str] | None = None) -> LintResult:
    """Check one runbook file: TOML, schema, file name, that every command renders, and
    (given `templates`, see message_templates) that every template a step names exists."""
    from incidentctl.templating.sandbox import TemplateError, string_variables

    shown = str(path)
    result = LintResult(shown)
    if not path.is_file():
        raise NotFoundError(f"no runbook file {shown!r}", hint="give the path of a .toml file")
    try:
        data = read_runbook_data(path, shown)
    except BadFileError as exc:
        result.problems.append(str(exc.message))
        return result
    runbook, problems = _schema_problems(data, path.name, shown)
    result.problems.extend(problems)
    if runbook is None:
        return result
    result.name = runbook.name
    no_default: set[str] = set()
    for where, template in _command_templates(runbook, shown):
        try:
            no_default |= string_variables(template, where) - set(runbook.vars)
        except TemplateError as exc:
            result.problems.append(exc.message)
    if templates is not None:
        families = {t.split("/", 1)[0] for t in templates}
        for p, phase in enumerate(runbook.phases):
            for n, step in enumerate(phase.steps):
                t = step.template
                if t is None or t in templates or t in families:
                    continue
                result.problems.append(
                    f"{shown}: phases[{p}].steps[{n}].template: no message template {t!r}"
                    f" (the repo can render: {', '.join(templates)})"
                )
    for name in sorted(no_default):
        result.warnings.append(
            f"{shown}: vars: commands use {{{{ {name} }}}}, which has no default here;"
            " give it in the repo's [runbooks.vars] or with --var"
        )
    return result


def _command_templates(runbook: Runbook, source: str) -> list[tuple[str, str]]:
    """(`source: field path`, command template) for every command, options' included."""
    out = []
    for p, phase in enumerate(runbook.phases):
        for s, step in enumerate(phase.steps):
            at = f"{source}: phases[{p}].steps[{s}]"
            out += [(f"{at}.commands[{i}]", c) for i, c in enumerate(step.commands)]
            for o, option in enumerate(step.options):
                out += [
                    (f"{at}.options[{o}].commands[{i}]", c) for i, c in enumerate(option.commands)
                ]
    return out


def evidence_text(
    human_id: str, runbook: str, step: str, event_id: str, author: str, at: datetime, runs
) -> bytes:
    """The evidence file: a header, then each command line with its output and exit code."""
    from incidentctl.domain.timeparse import iso

    lines = [
        f"# incidentctl evidence for {human_id}",
        f"# runbook {runbook}, step {step}, event {event_id}",
        f"# recorded by {author} at {iso(at)}",
        "",
    ]
    parts = ["\n".join(lines) + "\n"]
    for run in runs:
        output = run.output.decode("utf-8", errors="replace")
        if output and not output.endswith("\n"):
            output += "\n"
        tail = [f"[exit code {run.exit_code}]"]
        if run.interrupted:
            tail.append("[interrupted with Ctrl-C]")
        if run.truncated:
            tail.append(
                f"[output truncated: the first {len(run.output)} of {run.output_bytes} bytes are kept]"
            )
        parts.append(f"$ {run.command}\n{output}" + "\n".join(tail) + "\n\n")
    return "".join(parts).rstrip("\n").encode("utf-8") + b"\n"


# -- recording a step -------------------------------------------------------------------


@dataclass
class StepAnswer:
    outcome: str  # done, skipped, failed or decided
    option: str = ""
    note: str = ""
    runs: list[CommandOutput] = field(default_factory=list)


def _check_answer(loaded: LoadedRunbook, step_id: str, answer: StepAnswer) -> Step:
    from incidentctl.domain.events import RUNBOOK_OUTCOMES

    step = loaded.runbook.step(step_id.strip())
    if step is None:
        raise UsageError(
            f"runbook {loaded.name} has no step {step_id!r}",
            hint=f"see the step ids with: incidentctl runbook show {loaded.name}",
        )
    if answer.outcome not in RUNBOOK_OUTCOMES:
        raise UsageError(
            f"unknown outcome {answer.outcome!r}", hint=choices_hint("outcomes", RUNBOOK_OUTCOMES)
        )
    keys = [o.key for o in step.options]
    if answer.option not in keys:
        # option keys are short labels ("A", "B"): accept any letter case when unambiguous
        folded = [k for k in keys if k.lower() == answer.option.strip().lower()]
        if len(folded) == 1:
            answer.option = folded[0]
    if answer.outcome == "decided":
        if step.kind != "decision":
            raise UsageError(
                f"step {step.id} is a {step.kind} step, not a decision; it has no options",
                hint="answer it with --done, --skipped or --failed",
            )
        if answer.option not in keys:
            raise UsageError(
                f"step {step.id} has no option {answer.option!r}",
                hint=choices_hint("options", keys),
            )
    elif step.kind == "decision" and answer.outcome == "done":
        raise UsageError(
            f"step {step.id} is a decision: answer it by choosing an option",
            hint=f"use --option with one of: {', '.join(keys)} (or --skipped, --failed)",
        )
    return step


def record_step(
    ws: Workspace,
    ref: str,
    runbook_name: str,
    step_id: str,
    answer: StepAnswer,
    *,
    at: str | None,
    by: str | None,
) -> RecordResult:
    """Commit one step's answer as one event, with its evidence file in the same commit."""
    from incidentctl.domain import events as ev
    from incidentctl.domain.state import fold
    from incidentctl.store.writer import writing

    note = clean_text(answer.note, "the note")
    loaded = load_runbook(ws, runbook_name)
    step = _check_answer(loaded, step_id, answer)
    when_at = when(ws, at)
    with writing(ws.repo) as w:
        found = find_incident(ws, ref)
        incident = found.incident
        refuse_damaged(incident)
        state = incident.state
        author = actor(ws, by)
        event_id = new_event_id(when_at)
        extra: dict[Path, bytes] = {}
        evidence = ""
        if answer.runs:
            evidence = f"{EVIDENCE}/{event_id}.txt"
            extra[incident.folder / evidence] = evidence_text(
                state.human_id, loaded.name, step.id, event_id, author, when_at, answer.runs
            )
        event = ev.RunbookStepAnswered(
            id=event_id,
            incident=state.uid,
            at=when_at,
            recorded_at=ws.now(),
            author=author,
            runbook=loaded.name,
            step=step.id,
            outcome=answer.outcome,
            option=answer.option,
            note=note,
            runs=[
                ev.CommandRun(
                    command=r.command,
                    exit_code=r.exit_code,
                    output_bytes=r.output_bytes,
                    truncated=r.truncated,
                    interrupted=r.interrupted,
                )
                for r in answer.runs
            ],
            evidence=evidence,
        )
        outcome = answer.outcome + (f" {answer.option}" if answer.option else "")
        subject = f"runbook {loaded.name}: {step.id} {outcome}"
        body_lines = [note] if note.strip() else []
        body_lines += [f"$ {one_line(r.command, 200)}  (exit {r.exit_code})" for r in answer.runs]
        written = w.event(
            incident.folder, state.human_id, event, subject, "\n".join(body_lines), extra
        )
        result = RecordResult(
            fold([*state.timeline, event]),
            [Recorded(event, written.path, written.commit)],
            w.recovered,
        )
        if found.note:
            result.notes.append(found.note)
    return result


def attachable_runbook(ws: Workspace, name: str, severity: str) -> tuple[str, str]:
    """For `declare --runbook`: the runbook's name, and a note if it suits another severity."""
    loaded = load_runbook(ws, name)
    suggested = loaded.runbook.severity
    note = ""
    if suggested and suggested != severity:
        note = f"runbook {loaded.name} is written for {suggested} incidents; this one is {severity}"
    return loaded.name, note


# -- walking ----------------------------------------------------------------------------


@dataclass
class RunbookChoice:
    """Which runbook a walk uses, and why; `name` is None when the responder must choose."""

    name: str | None
    reason: str
    suggestions: list[Suggestion] = field(default_factory=list)
    human_id: str = ""


def choose_runbook(ws: Workspace, ref: str, name: str | None) -> RunbookChoice:
    """The named runbook; else the one attached at declaration; else the only one in
    progress; else suggestions by service and symptom for the responder to pick from."""
    from incidentctl.domain.runbook_progress import first_unanswered

    state = find_incident(ws, ref).incident.state
    if name:
        return RunbookChoice(load_runbook(ws, name).name, "named", human_id=state.human_id)
    if state.runbook:
        return RunbookChoice(state.runbook, "attached at declaration", human_id=state.human_id)
    cat = catalog(ws)
    by_name = {r.name: r for r in cat.runbooks}
    started = [
        n
        for n, answered in state.runbook_steps.items()
        if n in by_name and first_unanswered(by_name[n].runbook, answered) is not None
    ]
    if len(started) == 1:
        return RunbookChoice(started[0], "in progress", human_id=state.human_id)
    return RunbookChoice(
        None, "suggested", suggest_for(state, cat.runbooks), human_id=state.human_id
    )


@dataclass
class Walk:
    uid: str
    human_id: str
    loaded: LoadedRunbook
    values: dict[str, str]
    steps: list[StepView]
    evidence_limit: int


def open_walk(ws: Workspace, ref: str, name: str, overrides: dict[str, str]) -> Walk:
    state = find_incident(ws, ref).incident.state
    loaded = load_runbook(ws, name)
    values = command_values(ws, loaded.runbook, overrides)
    steps = _step_views(loaded, values)
    limit = ws.config.runbooks.evidence_max_bytes
    return Walk(state.uid, state.human_id, loaded, values, steps, limit)


@dataclass(frozen=True)
class WalkPosition:
    """The step a walk is at, with the progress and phase clock as they are now."""

    view: StepView
    progress: RunbookProgress
    clock: PhaseClock


def walk_position(ws: Workspace, walk: Walk) -> WalkPosition | None:
    """The first unanswered step, re-read from the repo each time: answers recorded by
    another terminal, or synced from another clone, count. None when every step is answered."""
    from incidentctl.domain.runbook_progress import phase_clock, runbook_progress

    state = find_incident(ws, walk.uid).incident.state
    walk.human_id = state.human_id
    now = ws.now()
    progress = runbook_progress(walk.loaded.runbook, state, now)
    if progress.next is None:
        return None
    phase, step = progress.next
    view = next(v for v in walk.steps if v.step is step)
    return WalkPosition(view, progress, phase_clock(phase, state.declared_at, now))


# -- progress ---------------------------------------------------------------------------


@dataclass
class ProgressItem:
    name: str
    attached: bool
    progress: RunbookProgress | None  # None when the runbook cannot be loaded now
    problem: str = ""
    answers: dict[str, Any] = field(default_factory=dict)  # when progress is None


@dataclass
class ProgressReport(Outcome):
    state: IncidentState
    now: datetime
    items: list[ProgressItem]
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [
            Problem(f"runbook {item.name} cannot be loaded: {item.problem}")
            for item in self.items
            if item.problem
        ]

    def to_dict(self) -> dict[str, Any]:
        from incidentctl.domain.timeparse import iso

        def answer_dict(a) -> dict[str, Any]:
            return {
                "step": a.step,
                "outcome": a.outcome,
                "option": a.option,
                "note": a.note,
                "at": iso(a.at),
                "author": a.author,
                "evidence": a.evidence,
                "event": a.event_id,
            }

        def step_dict(ph, s, p) -> dict[str, Any]:
            data: dict[str, Any] = {"id": s.id, "phase": ph.id}
            if s.id in p.answers:
                data.update((k, v) for k, v in answer_dict(p.answers[s.id]).items() if k != "step")
            elif s.id in p.satisfied:
                data.update(satisfaction_dict(p.satisfied[s.id]))
            else:
                data["outcome"] = None
            return data

        runbooks = []
        for item in self.items:
            data: dict[str, Any] = {"name": item.name, "attached": item.attached}
            p = item.progress
            if p is None:
                data.update(
                    {
                        "problem": item.problem,
                        "answers": [answer_dict(a) for a in item.answers.values()],
                    }
                )
                runbooks.append(data)
                continue
            nxt = p.next[1].id if p.next else None
            data.update(
                {
                    "title": p.runbook.title,
                    "answered": p.answered,
                    "total": p.total,
                    "complete": p.complete,
                    "next_step": nxt,
                    "phases": [
                        {
                            "id": ph.phase.id,
                            "title": ph.phase.title,
                            "timebox": ph.phase.timebox,
                            "deadline": iso(ph.clock.deadline),
                            "answered": ph.answered,
                            "total": ph.total,
                            "status": ph.status,
                            "finished_at": iso(ph.finished_at),
                            "overrun": ph.overrun is not None,
                            "overrun_seconds": int(ph.overrun.total_seconds())
                            if ph.overrun is not None
                            else None,
                        }
                        for ph in p.phases
                    ],
                    "steps": [step_dict(ph, s, p) for ph, s in p.runbook.iter_steps()],
                    "unknown_steps": list(p.unknown_steps),
                }
            )
            runbooks.append(data)
        return {
            "id": self.state.human_id,
            "uid": self.state.uid,
            "now": iso(self.now),
            "runbooks": runbooks,
        }


def satisfaction_dict(sat: Satisfaction) -> dict[str, Any]:
    """A step the timeline satisfied, in `progress --json`: done, by these events."""
    from incidentctl.domain.timeparse import iso

    last = sat.event
    return {
        "outcome": "done",
        "option": "",
        "note": "",
        "at": iso(last.at),
        "author": last.author,
        "evidence": "",
        "event": last.id,
        "satisfied_by": [
            {"satisfier": name, "event": e.id, "type": e.type, "at": iso(e.at)}
            for name, e in sat.matches
        ],
        "summary": sat.summary(),
    }


def progress(ws: Workspace, ref: str) -> ProgressReport:
    """Each runbook attached to or answered in the incident, with its phases' time boxes."""
    from incidentctl.domain.runbook_progress import runbook_progress, step_answers

    found = find_incident(ws, ref)
    state = found.incident.state
    now = ws.now()
    names = ([state.runbook] if state.runbook else []) + [
        n for n in state.runbook_steps if n != state.runbook
    ]
    items: list[ProgressItem] = []
    for name in names:
        attached = name == state.runbook
        try:
            loaded = load_runbook(ws, name)
        except (UsageError, BadFileError) as exc:
            items.append(ProgressItem(name, attached, None, exc.message, step_answers(state, name)))
            continue
        items.append(ProgressItem(name, attached, runbook_progress(loaded.runbook, state, now)))
    report = ProgressReport(state, now, items)
    if found.note:
        report.notes.append(found.note)
    return report


# -- writing drafts: `runbook new`, `runbook import` ------------------------------------

SKELETON = """\
# {name}: a team runbook. Edit it, check it with `incidentctl runbook lint {display}`,
# then commit it. The format: docs/runbooks.md.
#
# Required: `title`, and at least one [[phases]] with a `title` holding at least one
# [[phases.steps]] with a `text`. Everything else is optional: the name is the file's,
# a phase id is a slug of its title, a step id a slug of its text.

title = "{title}"
# severity = "P1"                 # the severity it is written for
# summary = "When to use it, in one line"
# source = "Where it comes from: a wiki page, a procedure document"
# symptoms = ["Health check failing"]      # `runbook list --for INC` suggests by these,
# services = ["api"]                       # the services
# tags = ["api"]                           # and the tags
# warnings = ["DO NOT restart the database"]  # shown and acknowledged once, never steps

[vars]                              # defaults of the {{{{ name }}}} variables in commands
namespace = "production"            # a team sets its own in [runbooks.vars] or with --var

[[phases]]
title = "Immediate actions (first 5 minutes)"
timebox = "5m"                      # optional: due this long after the declaration

[[phases.steps]]
text = "Declare the incident"
# "Declare ..." is done by the declaration itself: the walk shows it as done, with the
# event. Name the events that do a step with: satisfied_by = ["acknowledged"]

[[phases.steps]]
id = "check-pods"                   # optional: a fixed id keeps the answers if the text changes
kind = "check"                      # action (the default), check, decision or communicate
text = "Check the pods"
commands = ["kubectl get pods -n {{{{ namespace }}}}"]   # shown; run only once confirmed

[[phases]]
title = "Mitigation"

[[phases.steps]]
kind = "decision"
text = "Choose a mitigation"

[[phases.steps.options]]
key = "A"
text = "Roll back the last deployment"
# commands = ["kubectl rollout undo deployment/api -n {{{{ namespace }}}}"]

[[phases.steps.options]]
key = "B"
text = "Restart the pods"

[[phases.steps]]
kind = "communicate"
text = "Tell the team"
template = "slack/update"           # the message the step calls for: [m] in the walk
"""


@dataclass
class WrittenRunbook(Outcome):
    name: str
    text: str
    path: Path | None  # None: printed, not written
    display: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path) if self.path else None,
            "notes": list(self.notes),
        }


def _check_new_name(name: str) -> str:
    from incidentctl.domain.runbook import SLUG_RE

    wanted = name.strip().removesuffix(".toml")
    if not SLUG_RE.fullmatch(wanted):
        raise UsageError(
            f"{name!r} is not a runbook name",
            hint="use lowercase letters, digits and '-', e.g. widget-outage",
        )
    return wanted


def _write_draft(ws: Workspace | None, name: str, text: str, output: str | None) -> WrittenRunbook:
    """Write `text` as runbook `name`: to the repo's runbooks/, to `output`, or (`-`) nowhere."""
    from incidentctl.store.runbooks import team_runbook_path, write_new_runbook

    if output == "-":
        return WrittenRunbook(name, text, None, "-")
    if output is not None:
        path = Path(output)
        if path.is_dir():
            path = path / f"{name}.toml"
        display = str(path)
    else:
        if ws is None:
            raise UsageError("no repo", hint="give --output PATH")
        path = team_runbook_path(ws.repo.root, name)
        display = path.relative_to(ws.repo.root).as_posix()
    if path.name != f"{name}.toml":
        raise UsageError(
            f"runbook {name} must live in {name}.toml, not {path.name}",
            hint=f"give --output {path.parent / (name + '.toml')}, or a folder",
        )
    write_new_runbook(path, text, display)
    return WrittenRunbook(name, text, path, display)


def new_runbook(ws: Workspace | None, name: str, output: str | None = None) -> WrittenRunbook:
    """A commented skeleton of runbook `name` that lints clean, in the repo's runbooks/
    (or at `output`; `-` prints it). An existing file is never overwritten."""
    name = _check_new_name(name)
    title = name.replace("-", " ").capitalize()
    display = f"runbooks/{name}.toml" if output is None else f"{name}.toml"
    text = SKELETON.format(name=name, title=title, display=display)
    return _write_draft(ws, name, text, output)


IMPORT_HEADER = """\
# {name}: a runbook draft imported from {source} by `incidentctl runbook import`.
# Read it through before the team relies on it: step kinds, message templates and
# satisfied_by (the events that do a step) were inferred from the words. Check it with
# `incidentctl runbook lint {display}`, then commit it. The format: docs/runbooks.md.

"""


def import_runbook(
    ws: Workspace | None,
    document: Path,
    *,
    section: str | None = None,
    name: str | None = None,
    output: str | None = None,
) -> WrittenRunbook:
    """A runbook draft from a Markdown procedure (see domain/runbook_import.py for the
    rules), validated as `runbook lint` would, then written like `runbook new`'s."""
    import tomli_w

    from incidentctl.domain.runbook import RunbookError, parse_runbook
    from incidentctl.domain.runbook_import import ImportError_, import_procedure

    if name is not None:
        name = _check_new_name(name)
    try:
        text = document.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"no file {str(document)!r}", hint="give a Markdown file") from None
    except UnicodeDecodeError:
        raise BadFileError(str(document), "not UTF-8 text") from None
    except OSError as exc:
        raise BadFileError(str(document), f"cannot read: {exc.strerror}") from None
    try:
        draft = import_procedure(text, section=section, source=document.name, name=name)
    except ImportError_ as exc:
        raise UsageError(f"{document}: {exc.message}", hint=exc.hint) from None
    data = draft.data
    name = data["name"]
    display = f"runbooks/{name}.toml" if output is None else f"{name}.toml"
    try:
        parse_runbook(data, display)  # the draft must lint clean: a bug here, not the user's
    except RunbookError as exc:
        raise BadFileError(str(document), f"the imported draft does not validate: {exc}") from None
    body = tomli_w.dumps(data, multiline_strings=True)
    header = IMPORT_HEADER.format(name=name, source=document.name, display=display)
    result = _write_draft(ws, name, header + body, output)
    result.notes.extend(f"{document}: {note}" for note in draft.notes)
    return result
