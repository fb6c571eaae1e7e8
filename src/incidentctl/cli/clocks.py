"""Commands for the clocks: status, watch, escalate, notify (and the oncall group)."""

from __future__ import annotations

from typing import Annotated

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import AtOpt, ByOpt, IncidentArg, JsonOpt, publish, workspace

WATCH_INTERVAL = 1.0  # seconds between redraws
RESOLVED_SHOWN = 10  # resolved incidents owing a review that `status` lists without --all


def status(
    ctx: typer.Context,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all",
            help=f"List every resolved incident that owes something (else the {RESOLVED_SHOWN} most urgent).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Exit 3 if any obligation is overdue (for cron and alerting)."
        ),
    ] = False,
) -> None:
    """What every open incident owes next: updates, customer comms, notifications, escalation."""
    from incidentctl.cli.report import finish
    from incidentctl.services.clocks import status_report

    report = status_report(workspace(ctx), check=check)
    if as_json:
        terminal.out_json(report.to_dict())
    elif report.incidents:
        from incidentctl.cli.views.clocks import status_lines

        shown, left = (report, 0) if show_all else report.shown(RESOLVED_SHOWN)
        color = terminal.stdout_is_tty() and terminal.color_allowed()
        lines = status_lines(shown, color=color, width=terminal.page_width())
        terminal.out("\n".join(lines), styled=True)
        if left:
            terminal.talk(
                f"... and {left} more resolved incidents that owe a review (status --all lists them)"
            )
    else:
        terminal.talk("no open incidents")
    finish(report)


def watch(
    ctx: typer.Context,
    incident: Annotated[
        str | None,
        typer.Argument(metavar="[INC]", help="Only this incident (default: every open one)."),
    ] = None,
) -> None:
    """A live view of the clocks and the latest events, redrawn every second. Ctrl-C quits (exit 0)."""
    import time

    from incidentctl.cli.views.clocks import watch_view
    from incidentctl.errors import UsageError
    from incidentctl.services.clocks import Watcher

    console = terminal.console()
    if not console.is_terminal or console.is_dumb_terminal:
        raise UsageError(
            "watch needs an interactive terminal",
            hint="for a snapshot use: incidentctl status (or status --json)",
        )
    import gc

    gc.enable()  # the one long-running command: main() turned the collector off
    watcher = Watcher(workspace(ctx), incident)
    for note in watcher.report.notes:
        terminal.warn(note)
    title = f"incidentctl watch {incident}" if incident else "incidentctl watch"

    from rich.live import Live

    try:
        with Live(
            watch_view(watcher.report.shown(RESOLVED_SHOWN)[0], title, console.width),
            console=console,
            screen=True,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as live:
            while True:
                time.sleep(WATCH_INTERVAL)
                # the size is read again on every draw, so a resized terminal just redraws
                live.update(
                    watch_view(watcher.refresh().shown(RESOLVED_SHOWN)[0], title, console.width),
                    refresh=True,
                )
    except KeyboardInterrupt:
        return  # Ctrl-C is how you leave watch: a clean exit


def escalate(
    ctx: typer.Context,
    incident: IncidentArg,
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="REASON", help="Why it needs escalating.")
    ],
    level: Annotated[
        int | None,
        typer.Option("--level", metavar="N", help="The level to escalate to (default: the next)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="@USER", help="Who it is escalated to.")
    ] = None,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Escalate to the next technical level (L1 on-call, L2 lead, L3 staff) and print the message."""
    from incidentctl.cli import report
    from incidentctl.services.clocks import escalate

    ws = workspace(ctx)
    result = escalate(ws, incident, level=level, to=to, reason=message, by=by, at=at)
    publish(ctx, result.record)
    if result.text:
        if as_json:
            terminal.out_json({**result.record.to_dict(), "message": result.text})
        else:
            terminal.out(result.text)
    report.finish(result)


def notify(
    ctx: typer.Context,
    incident: IncidentArg,
    role: Annotated[
        str,
        typer.Argument(
            metavar="ROLE",
            help="Who was told: CTO, engineering-manager, product-manager, support...",
        ),
    ],
    message: Annotated[
        str, typer.Option("-m", "--message", metavar="TEXT", help="Optional note.")
    ] = "",
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a stakeholder was notified; the matching obligation clears."""
    from incidentctl.services.clocks import notify

    result = notify(workspace(ctx), incident, role, message, by=by, at=at)
    publish(ctx, result.record)
    if not result.rule_matched:
        terminal.talk(f"note: no notification rule names {result.who!r}; recorded anyway")
    for label in result.cleared:
        terminal.talk(f"cleared: {label}")
    if as_json:
        terminal.out_json({**result.record.to_dict(), "who": result.who, "cleared": result.cleared})


def register(app: typer.Typer) -> None:
    from incidentctl.cli import oncall

    app.command(rich_help_panel="Clocks")(status)
    app.command(rich_help_panel="Clocks")(watch)
    app.command(rich_help_panel="Record")(escalate)
    app.command(rich_help_panel="Record")(notify)
    oncall.register(app)
