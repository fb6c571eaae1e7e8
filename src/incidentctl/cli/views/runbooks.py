"""Runbooks on the terminal: the list, `show` (Rich, or plain text off a terminal), a
walk's current step, and progress. Runbook text is always data: it goes into Text
objects, never through Rich markup, so `[bold]` in a step prints as typed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from incidentctl.domain.timeparse import format_duration
from incidentctl.domain.wording import clock_time, flat, stamp

if TYPE_CHECKING:
    from rich.text import Text

    from incidentctl.domain.runbook_progress import Satisfaction
    from incidentctl.services.runbooks import (
        CommandLine,
        ProgressReport,
        RunbookListing,
        RunbookView,
        StepView,
        Walk,
        WalkPosition,
    )

KIND_STYLE = {"check": "cyan", "action": "green", "decision": "magenta", "communicate": "blue"}
OUTCOME_MARK = {"done": "✓", "skipped": "↷", "failed": "✗", "decided": "◆"}
OUTCOME_STYLE = {"done": "green", "skipped": "yellow", "failed": "bold red", "decided": "magenta"}


def hhmm(dt: datetime | None, now: datetime | None = None) -> str:
    """HH:MM UTC; with the date too when it is not `now`'s UTC day."""
    if dt is None:
        return "-"
    if now is not None and dt.astimezone(UTC).date() != now.astimezone(UTC).date():
        return stamp(dt)
    return clock_time(dt)


def command_text(line: CommandLine, indent: int = 0) -> Text:
    """`$ command`, highlighted; variables that still need a value stand out."""
    from rich.text import Text

    pad = " " * (indent + 2)
    body = line.text.replace("\n", "\n" + pad)
    text = Text()
    text.append("$ ", style="dim")
    start = len(text)
    text.append(body, style="bold green")
    if line.missing:
        names = "|".join(map(re.escape, line.missing))
        wanted = re.compile(r"\{\{ (?:" + names + r") \}\}")
        for m in wanted.finditer(body):
            text.stylize("bold reverse red", start + m.start(), start + m.end())
    return text


# -- list -------------------------------------------------------------------------------


def runbook_table(listing: RunbookListing) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    columns = ["NAME", "SEV", "STEPS", "FROM", "TITLE"]
    if listing.incident:
        columns.append("FITS BECAUSE")
    for name in columns:
        table.add_column(name, no_wrap=name not in ("TITLE", "FITS BECAUSE"), overflow="fold")
    for item in listing.runbooks:
        r = item.runbook
        row: list[Any] = [
            item.name,
            r.severity or "-",
            str(sum(len(p.steps) for p in r.phases)),
            item.file.origin,
            Text(r.title),
        ]
        if listing.incident:
            s = listing.suggestions.get(item.name)
            row.append(Text("; ".join(s.reasons) if s else ""))
        table.add_row(*row)
    return table


# -- show -------------------------------------------------------------------------------


def runbook_plain(view: RunbookView) -> str:
    """`runbook show` off a terminal: plain text, no ANSI, no panels."""
    r = view.loaded.runbook
    head = f"{r.name}: {r.title}"
    facts = [x for x in (r.severity, view.loaded.file.origin) if x]
    lines = [f"{head} ({', '.join(facts)})"]
    if r.summary:
        lines.append(r.summary)
    if r.source:
        lines.append(f"source: {r.source}")
    if r.symptoms:
        lines.append("symptoms: " + "; ".join(r.symptoms))
    if r.services:
        lines.append("services: " + ", ".join(r.services))
    if r.tags:
        lines.append("tags: " + ", ".join(r.tags))
    if r.warnings:
        lines += ["", "WARNINGS (acknowledged before the first step)"]
        lines += [f"  ! {w}" for w in r.warnings]
    for p, phase in enumerate(r.phases, 1):
        box = f" [time box {phase.timebox} from declaration]" if phase.timebox else ""
        lines += ["", f"{p}. {phase.title}{box}"]
        for v in (v for v in view.steps if v.phase is phase):
            lines += _plain_step(v)
    if view.missing:
        lines += [
            "",
            "variables without a value: "
            + ", ".join(view.missing)
            + " (set them in [runbooks.vars] or with --var NAME=VALUE)",
        ]
    return "\n".join(lines)


def _plain_step(v: StepView) -> list[str]:
    s = v.step
    template = f" (message: {s.template})" if s.template else ""
    out = [f"  {v.number}. {s.id} [{s.kind}] {s.text}{template}"]
    if s.satisfiers:
        out.append(" " * (len(str(v.number)) + 4) + "done by: " + ", ".join(s.satisfiers))
    indent = " " * (len(str(v.number)) + 4)
    out += [f"{indent}! {w}" for w in s.warnings]
    for c in v.commands:
        if not c.option:
            out.append(f"{indent}$ " + c.text.replace("\n", "\n" + indent + "  "))
    for option, lines in v.options:
        out.append(f"{indent}{option.key}) {option.text}")
        out += [f"{indent}   $ " + c.text.replace("\n", "\n" + indent + "     ") for c in lines]
    return out


def runbook_rich(view: RunbookView) -> Any:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    r = view.loaded.runbook
    header = Text()
    header.append(r.title, style="bold")
    header.append(f"  {r.name}", style="dim")
    if r.severity:
        header.append(f"  {r.severity}", style="bold red" if r.severity == "P0" else "bold")
    header.append(f"  ({view.loaded.file.origin})", style="dim")
    parts: list[Any] = [header]
    if r.summary:
        parts.append(Text(r.summary))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    if r.source:
        facts.add_row("source", Text(r.source))
    if r.symptoms:
        facts.add_row("symptoms", Text("; ".join(r.symptoms)))
    if r.services or r.tags:
        facts.add_row("services/tags", Text(", ".join(dict.fromkeys([*r.services, *r.tags]))))
    parts.append(facts)
    if r.warnings:
        parts.append(
            Panel(
                Text("\n".join(f"⚠ {w}" for w in r.warnings), style="bold"),
                title="warnings",
                border_style="red",
                title_align="left",
            )
        )
    for p, phase in enumerate(r.phases, 1):
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", style="dim")
        table.add_column()
        for v in (v for v in view.steps if v.phase is phase):
            table.add_row(str(v.number), step_body(v))
        title = Text(f"{p}. {phase.title}", style="bold")
        if phase.timebox:
            title.append(f"  · time box {phase.timebox}", style="yellow")
        parts.append(Panel(table, title=title, title_align="left", border_style="blue"))
    if view.missing:
        parts.append(
            Text(
                "variables without a value: "
                + ", ".join(view.missing)
                + " (set them in [runbooks.vars] or with --var NAME=VALUE)",
                style="yellow",
            )
        )
    return Group(*parts)


def step_body(v: StepView) -> Any:
    """A step: kind, text and id, its warnings, commands, options and message template."""
    from rich.console import Group
    from rich.text import Text

    s = v.step
    first = Text()
    first.append(f"[{s.kind}] ", style=KIND_STYLE.get(s.kind, ""))
    first.append(s.text)
    first.append(f"  {s.id}", style="dim")
    lines: list[Any] = [first]
    lines += [Text(f"  ⚠ {w}", style="bold yellow") for w in s.warnings]
    number = 0
    for c in v.commands:
        if c.option:
            continue
        number += 1
        lines.append(Text.assemble(f"  {number} ", command_text(c, 4)))
    for option, commands in v.options:
        lines.append(Text.assemble(("  " + option.key, "bold magenta"), " ", option.text))
        for c in commands:
            number += 1
            lines.append(Text.assemble(f"    {number} ", command_text(c, 6)))
    if s.template:
        lines.append(Text(f"  message: {s.template}", style="blue"))
    if s.satisfiers:
        lines.append(Text("  done by: " + ", ".join(s.satisfiers), style="dim green"))
    return Group(*lines)


# -- walk -------------------------------------------------------------------------------


def walk_header(walk: Walk, reason: str) -> Any:
    from rich.text import Text

    r = walk.loaded.runbook
    text = Text()
    text.append(f"{walk.human_id}: ", style="bold")
    text.append(r.title, style="bold")
    text.append(f"  ({r.name}, {reason})", style="dim")
    return text


def runbook_warnings(walk: Walk, acknowledged: bool = False) -> Any:
    """The runbook's warnings (its DO NOT list): to acknowledge before the first step, or
    (`acknowledged`) as a reminder when the walk resumes."""
    from rich.panel import Panel
    from rich.text import Text

    body = Text("\n".join(f"⚠ {w}" for w in walk.loaded.runbook.warnings), style="bold")
    title = (
        "warnings (acknowledged when this walk began)" if acknowledged else "read before you start"
    )
    return Panel(body, title=title, border_style="red", title_align="left")


def satisfied_step(view: StepView, sat: Satisfaction, now: datetime) -> Any:
    """A step the timeline already did: shown as done, with the event that did it."""
    from rich.text import Text

    text = Text()
    text.append("✓ ", style="green")
    text.append(f"step {view.number} · ", style="dim")
    text.append(view.step.text)
    text.append(f"  {view.step.id}", style="dim")
    text.append(
        f"\n  done: {sat.summary()} at {hhmm(sat.at, now)}"
        + (f" by {sat.event.author}" if sat.event.author else "")
        + f" (event {sat.event.id})",
        style="green",
    )
    return text  # print it with soft_wrap: an event id is never cut


def walk_step(position: WalkPosition) -> Any:
    from rich.console import Group
    from rich.rule import Rule
    from rich.text import Text

    v = position.view
    p = position.progress
    clock = position.clock
    title = Text(f"step {v.number} of {p.total} · {v.phase.title}")
    timing = Text(f"{format_duration(clock.elapsed)} since declared")
    if clock.timebox is not None:
        if clock.overrun is not None:
            timing = Text(
                f"{format_duration(clock.elapsed)} of {format_duration(clock.timebox)}"
                f" · time box overrun by {format_duration(clock.overrun)}",
                style="bold red",
            )
        else:
            timing = Text(f"{format_duration(clock.elapsed)} of {format_duration(clock.timebox)}")
    return Group(Rule(Text.assemble(title, " · ", timing), align="left"), step_body(v))


# -- progress ---------------------------------------------------------------------------


def progress_renderable(report: ProgressReport) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    for item in report.items:
        head = Text()
        head.append(f"{report.state.human_id}: ", style="bold")
        head.append(item.name, style="bold")
        if item.attached:
            head.append("  (attached)", style="dim")
        p = item.progress
        if p is None:
            head.append("  (cannot be loaded; these are its recorded answers)", style="red")
            parts.append(head)
            for a in item.answers.values():
                parts.append(Text(f"  {a.step}: {a.outcome} {a.option}".rstrip()))
            parts.append(Text(""))
            continue
        head.append(f"  {p.runbook.title}")
        state = "complete" if p.complete else f"next: {p.next[1].id}" if p.next else ""
        head.append(f"  {p.answered} of {p.total} steps answered · {state}", style="dim")
        parts.append(head)

        phases = Table(box=None, padding=(0, 1), header_style="dim")
        for name in ("PHASE", "STEPS", "TIME BOX", "DEADLINE", "STATUS"):
            phases.add_column(name, overflow="fold", no_wrap=name != "PHASE")
        for ph in p.phases:
            status = Text(ph.status)
            if ph.overrun is not None:
                late = "finished late by" if ph.finished_at else "overrun by"
                status.append(f" · {late} {format_duration(ph.overrun)}", style="bold red")
            phases.add_row(
                Text(ph.phase.title),
                f"{ph.answered}/{ph.total}",
                ph.phase.timebox or "-",
                hhmm(ph.clock.deadline, report.now),
                status,
            )
        parts.append(phases)

        steps = Table(box=None, padding=(0, 1), header_style="dim")
        for name in ("", "STEP", "OUTCOME", "AT", "BY", "NOTE / EVIDENCE"):
            steps.add_column(name, overflow="fold", no_wrap=name not in ("NOTE / EVIDENCE",))
        for _, s in p.runbook.iter_steps():
            a = p.answers.get(s.id)
            sat = p.satisfied.get(s.id)
            if a is None and sat is not None:
                steps.add_row(
                    Text("✓", style="green"),
                    s.id,
                    Text("done", style="green"),
                    hhmm(sat.at, report.now),
                    Text(sat.event.author),
                    Text(f"by the timeline: {sat.summary()} (event {sat.event.id})", style="dim"),
                )
                continue
            if a is None:
                steps.add_row("·", s.id, Text("-", style="dim"), "", "", "")
                continue
            outcome = a.outcome + (f" {a.option}" if a.option else "")
            extra = Text(flat(a.note))
            if a.evidence:
                extra.append(("  " if a.note else "") + a.evidence, style="dim")
            steps.add_row(
                Text(OUTCOME_MARK.get(a.outcome, "?"), style=OUTCOME_STYLE.get(a.outcome, "")),
                s.id,
                Text(outcome, style=OUTCOME_STYLE.get(a.outcome, "")),
                hhmm(a.at, report.now),
                Text(a.author),
                extra,
            )
        parts.append(steps)
        if p.unknown_steps:
            parts.append(
                Text(
                    "answered steps this runbook no longer has: " + ", ".join(p.unknown_steps),
                    style="yellow",
                )
            )
        parts.append(Text(""))
    return Group(*parts)


def describe_runbook_step(data: dict[str, Any]) -> str:
    """One line for a `runbook_step` event in an incident's timeline."""
    outcome = data["outcome"] + (f" {data['option']}" if data.get("option") else "")
    text = f"runbook {data['runbook']}: {data['step']} {outcome}"
    if data.get("note"):
        text += f": {data['note']}"
    if data.get("evidence"):
        text += f" (evidence: {data['evidence']})"
    return text
