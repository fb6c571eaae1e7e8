"""Writing a team runbook: the minimum a file needs, and `runbook new`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from conftest import Cli, run_cli
from incidentctl.domain.runbook import parse_runbook

MINIMAL = """
title = "Widgets wobbling"

[[phases]]
title = "First five minutes"

[[phases.steps]]
text = "Look at the widgets"

[[phases.steps]]
text = "Look at the widgets"

[[phases.steps]]
id = "look-at-the-widgets-3"
text = "Something else"
"""


def test_a_minimal_team_runbook_lints_clean(tmp_path: Path) -> None:
    path = tmp_path / "widgets.toml"
    path.write_text(MINIMAL)
    result = run_cli("runbook", "lint", str(path))
    assert result.code == 0, result.out + result.err
    assert result.out == ""
    assert f"ok: {path} (runbook widgets)" in result.err


def test_ids_default_to_slugs_and_stay_unique() -> None:
    runbook = parse_runbook(tomllib.loads(MINIMAL), "widgets.toml", default_name="widgets")
    assert runbook.name == "widgets"
    assert runbook.source is None
    assert runbook.phases[0].id == "first-five-minutes"
    assert [s.id for _, s in runbook.iter_steps()] == [
        "look-at-the-widgets",
        "look-at-the-widgets-2",
        "look-at-the-widgets-3",
    ]


def test_runbook_new_writes_a_skeleton_that_lints_clean(cli: Cli) -> None:
    start = cli.commits()
    made = cli("runbook", "new", "widget-outage")
    path = cli.repo / "runbooks" / "widget-outage.toml"
    assert "wrote runbooks/widget-outage.toml" in made.err
    assert path.is_file()
    assert cli.commits() == start  # a draft: nothing committed
    linted = run_cli("runbook", "lint", str(path))
    assert linted.code == 0, linted.out + linted.err
    assert "warning" not in linted.err
    text = path.read_text()
    assert text.startswith("# widget-outage: a team runbook.")
    assert 'title = "Widget outage"' in text
    assert "Required: `title`" in text

    # the repo lists and shows it; its ids come from the titles and texts
    shown = cli("runbook", "show", "widget-outage", "--json").json()
    assert shown["origin"] == "repo" and shown["source"] is None
    assert [p["id"] for p in shown["phases"]] == ["immediate-actions-first-5-minutes", "mitigation"]
    assert [s["id"] for s in shown["phases"][0]["steps"]] == ["declare-the-incident", "check-pods"]

    # never overwritten: the file is left as it was
    path.write_text(text + "# my edit\n")
    again = cli("runbook", "new", "widget-outage", ok=False)
    assert again.code == 1
    assert again.err.splitlines()[0] == (
        "error: runbooks/widget-outage.toml: already exists; it is left as it is"
    )
    assert path.read_text().endswith("# my edit\n")

    bad = cli("runbook", "new", "Widget Outage", ok=False)
    assert bad.code == 2 and bad.err.startswith("error: 'Widget Outage' is not a runbook name")

    printed = cli("runbook", "new", "other", "-o", "-")
    assert printed.out.startswith("# other: a team runbook.")
    assert not (cli.repo / "runbooks" / "other.toml").exists()


def test_lint_checks_each_template_a_step_names(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "widgets.toml"
    path.write_text(
        MINIMAL
        + '\n[[phases.steps]]\ntext = "Write it up"\ntemplate = "postmortem"\n'
        + '\n[[phases.steps]]\ntext = "Tell them"\ntemplate = "statuspage"\n'  # a family
        + '\n[[phases.steps]]\ntext = "Tell us"\ntemplate = "slack/ours"\n'
    )
    result = cli("runbook", "lint", str(path), ok=False)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith(
        f"{path}: phases[0].steps[3].template: no message template 'postmortem'"
        " (the repo can render: email/customer, "
    )
    assert "slack/declared" in lines[0]
    assert lines[1].startswith(
        f"{path}: phases[0].steps[5].template: no message template 'slack/ours'"
    )
    assert len(lines) == 2
    # a template of the repo's own is one it can render
    (cli.repo / "templates" / "slack").mkdir(parents=True)
    (cli.repo / "templates" / "slack" / "ours.slack.j2").write_text("{{ title }}\n")
    result = cli("runbook", "lint", str(path), ok=False)
    assert [line.split(": ")[1] for line in result.out.splitlines()] == [
        "phases[0].steps[3].template"
    ]


def test_builtin_steps_name_templates_that_render() -> None:
    builtin = Path(__file__).resolve().parents[1] / "src" / "incidentctl" / "runbooks"
    result = run_cli("runbook", "lint", *map(str, sorted(builtin.glob("*.toml"))))
    assert result.code == 0, result.out + result.err
