"""The sections `metrics` adds for the timing rules and the drills: obligations met
and missed, drills held against their cadence, and the trend of drill MTTx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _span(seconds: float | None) -> str:
    from incidentctl.domain.timeparse import compact_duration

    return "-" if seconds is None else compact_duration(timedelta(seconds=round(seconds)))


def extra_markdown(result: Any) -> str:
    """Both sections as Markdown (the table form prints the same text)."""
    from incidentctl.cli.views.incident import cell_text

    lines = ["## Obligations met and missed", ""]
    if not result.obligations:
        lines.append("No obligations in this period.")
    else:
        lines += ["| Obligation | Met | Missed | Pending | Met share |", "|---|---|---|---|---|"]
        for row in result.obligations:
            lines.append(
                f"| {cell_text(row.label)} | {row.met} | {row.missed} | {row.pending} | "
                f"{_share(row.share)} |"
            )
    d = result.drills
    lines += ["", "## Drills", ""]
    counted = (
        "counted in the metrics above"
        if result.drills_included
        else "left out of the metrics above (--drills counts them)"
    )
    lines.append(f"{d.total} drills in this period, {counted}.")
    for c in d.cadence:
        periods = ", ".join(f"{p}: {n}" for p, n in c.periods) or "none yet"
        lines.append(
            f"- {cell_text(c.name)} (every {c.every}): held in {c.kept} of "
            f"{len(c.periods)} {c.every}s ({periods})"
        )
    if d.by_quarter:
        lines.append("- By quarter: " + ", ".join(f"{q}: {n}" for q, n in d.by_quarter))
    if d.trend:
        lines += ["", "| Month | MTTA | MTTI | MTTM | MTTR |", "|---|---|---|---|---|"]
        for month, row in d.trend:
            lines.append(
                f"| {month} | {_span(row['MTTA'])} | {_span(row['MTTI'])} | "
                f"{_span(row['MTTM'])} | {_span(row['MTTR'])} |"
            )
    return "\n".join(lines) + "\n"


def extra_lines(result: Any) -> list[str]:
    return ["", *extra_markdown(result).rstrip("\n").splitlines()]
