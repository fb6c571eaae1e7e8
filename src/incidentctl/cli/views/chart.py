"""`show --chart`: the incident's phases (domain/chart.py) as bars on the terminal,
the same phases the review's Mermaid gantt draws."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentctl.domain.timeparse import format_duration

if TYPE_CHECKING:
    from incidentctl.domain.chart import Phase


def phase_chart(phases: list[Phase], width: int) -> Any:
    """One line per phase: its name, a bar placed on the incident's time axis, its
    duration; times in UTC."""
    from rich.console import Group
    from rich.text import Text

    if not phases:
        return Text("no phases yet: the record has one mark (declared)", style="dim")
    start, end = phases[0].start, phases[-1].end
    total = max((end - start).total_seconds(), 1.0)
    name_w = max(len(p.name) for p in phases)
    stamps = [f"{p.start:%H:%M}" for p in phases]
    tail_w = max(len(_took(p)) for p in phases) + 2
    bar_w = max(width - name_w - len(stamps[0]) - tail_w - 4, 10)
    lines = [Text(f"phases (UTC {start:%Y-%m-%d})", style="bold")]
    for p, stamp in zip(phases, stamps, strict=True):
        left = round((p.start - start).total_seconds() / total * bar_w)
        size = max(round((p.end - p.start).total_seconds() / total * bar_w), 1)
        left = min(left, bar_w - size)
        line = Text(f"{p.name:<{name_w}}  {stamp} ", no_wrap=True)
        line.append(" " * left)
        line.append("█" * size, style="yellow" if p.ongoing else "cyan")
        line.append(" " * (bar_w - left - size))
        line.append(f"  {_took(p)}")
        lines.append(line)
    return Group(*lines)


def _took(p: Phase) -> str:
    return format_duration(p.end - p.start) + (" so far" if p.ongoing else "")
