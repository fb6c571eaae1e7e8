"""`incidentctl repo`: which repo the commands run here use, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from incidentctl.cli import terminal
from incidentctl.cli.common import GlobalOptions, JsonOpt

if TYPE_CHECKING:
    from incidentctl.services.workspace import RepoInUse


def repo(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print the incident repo commands run here use, and why: --repo, $INCIDENTCTL_REPO,
    the enclosing repo, the user config or the default."""
    from incidentctl.services.workspace import repo_in_use

    options = ctx.find_object(GlobalOptions)
    used = repo_in_use(options.repo if options else None)
    if as_json:
        terminal.out_json(used.to_dict())
        return
    terminal.out(str(used.root))
    for line in explain(used):
        terminal.talk(line)


def explain(used: RepoInUse) -> list[str]:
    lines = [f"  because: {used.why}"]
    if not used.initialised:
        if used.how == "default":
            lines.append("  not created yet: the first command that needs it creates it")
        else:
            lines.append(
                f"  not an incident repo (no incidentctl.toml): incidentctl init {used.root}"
            )
    if used.passed_over is not None:
        lines.append(
            f"  {used.passed_over} (the enclosing git repo) is not an incident repo: "
            "it has no incidentctl.toml"
        )
    if used.configured is None:
        lines.append("  no repo is configured: incidentctl init PATH --default makes PATH the one")
    elif not used.is_configured:
        lines.append(f"  your configured repo is {used.configured}; {used.why} comes first")
    return lines


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Repo")(repo)
