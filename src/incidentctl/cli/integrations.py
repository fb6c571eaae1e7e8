"""`incidentctl integrations check`: each configured destination, verified without
sending a message."""

from __future__ import annotations

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import JsonOpt, workspace

integrations_app = typer.Typer(
    help="The destinations: PagerDuty, Statuspage, Slack, email (docs/integrations.md).",
    no_args_is_help=True,
)


@integrations_app.command("check")
def integrations_check(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Verify each configured destination without sending anything: one line each,
    ok or the problem and the fix. Exit 2 when any is not ready."""
    from incidentctl.cli import report
    from incidentctl.services.integrations import check

    checked = check(workspace(ctx))
    if as_json:
        terminal.out_json([line.to_dict() for line in checked.lines])
    else:
        for line in checked.lines:
            terminal.out(f"{line.name}: {line.problem or 'ok'}")
        if not checked.lines:
            terminal.talk(
                "no destination is configured ([pagerduty], [statuspage], [slack], [email])"
            )
    report.finish(checked)


def register(app: typer.Typer) -> None:
    app.add_typer(integrations_app, name="integrations", rich_help_panel="Communicate")
