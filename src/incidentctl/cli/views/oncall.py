"""Text for the on-call commands: who is on call, the schedule, and the handover brief."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from incidentctl.domain.wording import flat

if TYPE_CHECKING:
    from incidentctl.domain.oncall import OncallOverride
    from incidentctl.services.oncall import HandoverBrief, NextRotation, OncallView, Schedule


def local(dt: datetime, zone: ZoneInfo) -> str:
    """'Mon 2026-02-16 00:00 CET'."""
    return dt.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def override_text(o: OncallOverride, zone: ZoneInfo) -> str:
    text = f"{o.user} {o.role} from {local(o.start, zone)} to {local(o.end, zone)}"
    return text + (f" ({flat(o.reason)})" if o.reason.strip() else "")


def oncall_text(view: OncallView) -> str:
    o, zone = view.oncall, view.zone
    primary = o.primary
    if o.primary_override:
        primary += (
            f" (override until {local(o.primary_override.end, zone)}; rotation: {o.week.primary})"
        )
    secondary = o.secondary or "-"
    if o.secondary_override:
        secondary += (
            f" (override until {local(o.secondary_override.end, zone)};"
            f" rotation: {o.week.secondary or '-'})"
        )
    elif o.secondary:
        secondary += " (previous week's on-call)"
    return "\n".join(
        [
            f"primary:   {primary}",
            f"secondary: {secondary}",
            f"week:      {local(o.week.start, zone)} to {local(o.week.end, zone)}",
            f"handover:  {local(view.handover_at, zone)}",
        ]
    )


def next_text(upcoming: NextRotation) -> str:
    zone = upcoming.zone
    week = upcoming.week
    lines = [
        f"next week: {local(week.start, zone)} to {local(week.end, zone)}",
        f"primary:   {week.primary}",
        f"secondary: {week.secondary or '-'}",
        f"handover:  {local(upcoming.briefing_at, zone)}",
    ]
    lines += [f"override:  {override_text(o, zone)}" for o in upcoming.overrides]
    return "\n".join(lines)


def _short(dt: datetime, zone: ZoneInfo) -> str:
    return dt.astimezone(zone).strftime("%a %m-%d %H:%M")


def schedule_table(schedule: Schedule) -> Any:
    """One row per week; times in the rotation's zone, named once in the caption."""
    from rich.table import Table
    from rich.text import Text

    zone = schedule.zone
    table = Table(
        box=None,
        padding=(0, 1),
        header_style="dim",
        caption=f"times in {zone}",
        caption_justify="left",
    )
    table.add_column("WEEK FROM", no_wrap=True)
    table.add_column("PRIMARY")
    table.add_column("SECONDARY")
    table.add_column("HANDOVER", no_wrap=True)
    table.add_column("OVERRIDES")
    for item in schedule.weeks:
        overrides = "; ".join(
            f"{o.user} {o.role} {_short(o.start, zone)} to {_short(o.end, zone)}"
            for o in item.overrides
        )
        table.add_row(
            item.week.start.astimezone(zone).strftime("%a %Y-%m-%d %H:%M"),
            Text(item.week.primary),
            Text(item.week.secondary or "-"),
            _short(item.handover_at, zone),
            Text(overrides or "-"),
        )
    return table


def handover_text(brief: HandoverBrief) -> str:
    """The handover brief as plain text, ready to paste."""
    from incidentctl.cli.views.clocks import obligation_text

    zone = brief.zone
    out = [
        f"On-call handover: {brief.outgoing} -> {brief.incoming}",
        f"Week ending {local(brief.week.end, zone)}; briefing {local(brief.handover_at, zone)}",
        "",
        "Active incidents",
    ]
    if not brief.active:
        out.append("- none")
    for item in brief.active:
        s = item.state
        out.append(f"- {s.human_id} {s.severity} {s.status}: {flat(s.title)}")
        if s.commander:
            out.append(f"  IC: {s.commander}")
        for o in item.obligations:
            out.append(f"  next: {obligation_text(o)}")
    out += ["", "Incidents this week"]
    if not brief.this_week:
        out.append("- none")
    for s in brief.this_week:
        when = f"declared {local(s.declared_at, zone)}"
        if s.resolved_at is not None:
            when += f", resolved {local(s.resolved_at, zone)}"
        out.append(f"- {s.human_id} {s.severity} {s.status}: {flat(s.title)} ({when})")
    if brief.actions is not None:
        out += ["", "Open action items"]
        if not brief.actions:
            out.append("- none")
        for a in brief.actions:
            extra = ", ".join(
                part
                for part in (
                    a.owner,
                    f"due {a.due.isoformat()}" if a.due else "",
                    "OVERDUE" if a.overdue else "",
                )
                if part
            )
            out.append(f"- {a.incident}: {flat(a.text)}" + (f" ({extra})" if extra else ""))
    if brief.overrides:
        out += ["", "Overrides next week"]
        out += [f"- {override_text(o, zone)}" for o in brief.overrides]
    out += ["", f"Outgoing on-call ({brief.outgoing})"]
    out += [f"- [ ] {line}" for line in brief.outgoing_checklist]
    out += ["", f"Incoming on-call ({brief.incoming})"]
    out += [f"- [ ] {line}" for line in brief.incoming_checklist]
    return "\n".join(out) + "\n"
