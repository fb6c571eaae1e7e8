"""`runbook import PROCEDURE.md`: a Markdown procedure becomes a runbook draft that lints
clean. The WAOOAW seed's four procedures (the copy in tests/fixtures/seeds) import to
the built-in runbooks, step for step, apart from the variables."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli, run_cli
from incidentctl.domain.runbook import Runbook, parse_runbook
from incidentctl.domain.runbook_import import import_procedure, timebox_of
from test_runbook_seeds import SEEDS, WAOOAW_SEED, WAOOAW_VALUES, load, normalize, render_command

PROCEDURES = {
    "api-outage": "Procedure 1",
    "scheduler-failure": "Procedure 2",
    "data-corruption": "Procedure 3",
    "security-breach": "Procedure 4",
}


def shape(runbook: Runbook, values: dict[str, str]) -> dict[str, Any]:
    """Everything but ids, variables and the metadata a procedure does not hold (summary,
    source, services, tags): commands are compared as they run, with `values`."""

    def commands(items: list[str]) -> list[str]:
        return [normalize(render_command(c, values)) for c in items]

    return {
        "title": runbook.title,
        "severity": runbook.severity,
        "symptoms": runbook.symptoms,
        "warnings": runbook.warnings,
        "phases": [
            {
                "title": phase.title,
                "timebox": phase.timebox,
                "steps": [
                    {
                        "text": step.text,
                        "kind": step.kind,
                        "template": step.template,
                        "satisfiers": step.satisfiers,
                        "commands": commands(step.commands),
                        "warnings": step.warnings,
                        "options": [(o.key, o.text, commands(o.commands)) for o in step.options],
                    }
                    for step in phase.steps
                ],
            }
            for phase in runbook.phases
        ],
    }


@pytest.mark.parametrize("name", sorted(PROCEDURES))
def test_the_seed_procedures_import_to_the_builtins(name: str, tmp_path: Path) -> None:
    seed = SEEDS / WAOOAW_SEED
    made = run_cli(
        "runbook", "import", str(seed), "--section", PROCEDURES[name], "-o", str(tmp_path)
    )
    assert made.code == 0, made.err
    path = tmp_path / f"{name}.toml"
    assert f"wrote {path}" in made.err
    assert "warning" not in made.err  # every line of the procedure was imported

    linted = run_cli("runbook", "lint", str(path))
    assert linted.code == 0 and "warning" not in linted.err, linted.out + linted.err

    imported = parse_runbook(tomllib.loads(path.read_text()), path.name)
    assert imported.name == name
    assert shape(imported, {}) == shape(load(name), WAOOAW_VALUES)


def test_headings_become_phases_with_time_boxes() -> None:
    doc = """# Widget outage (P1)

When the widgets stop.

**Symptoms**: widgets stopped, queue growing

## Detection (Minutes 0-5)

1. Declare the incident
2. Check the queue:
   ```bash
   # read only
   widgetctl queue --format '{{.Depth}}'
   ```
3. **DO NOT** drain the queue

## Recovery (Minutes 15-60)

- Choose a fix:
  - Option A: Restart the widgets
    ```sh
    widgetctl restart
    ```
  - Option B: Wait
- Notify customers by email
- **Keep the queue**

## Follow-up (Hours 1-24)

- Page the owner
- Is it back?

| a | b |
|---|---|
| 1 | 2 |
"""
    draft = import_procedure(doc, source="widgets.md")
    runbook = parse_runbook(draft.data, "widget-outage.toml")
    assert (runbook.name, runbook.title, runbook.severity) == (
        "widget-outage",
        "Widget outage",
        "P1",
    )
    assert runbook.summary == "When the widgets stop."
    assert runbook.symptoms == ["Widgets stopped", "Queue growing"]
    assert runbook.warnings == ["DO NOT drain the queue", "Keep the queue"]
    assert [(p.title, p.timebox) for p in runbook.phases] == [
        ("Detection (Minutes 0-5)", "5m"),
        ("Recovery (Minutes 15-60)", "1h"),
        ("Follow-up (Hours 1-24)", "24h"),
    ]
    steps = {s.text: s for _, s in runbook.iter_steps()}
    assert list(steps) == [
        "Declare the incident",
        "Check the queue",
        "Choose a fix",
        "Notify customers by email",
        "Page the owner",
        "Is it back?",
    ]
    assert steps["Declare the incident"].satisfiers == ["declared"]
    check = steps["Check the queue"]
    assert check.kind == "check" and check.warnings == ["read only"]
    # braces the document wrote stay as written
    assert render_command(check.commands[0], {}) == "widgetctl queue --format '{{.Depth}}'"
    choose = steps["Choose a fix"]
    assert choose.kind == "decision"
    assert [(o.key, o.text, o.commands) for o in choose.options] == [
        ("A", "Restart the widgets", ["widgetctl restart"]),
        ("B", "Wait", []),
    ]
    notify = steps["Notify customers by email"]
    assert (notify.kind, notify.template, notify.satisfiers) == (
        "communicate",
        "email/customer",
        ["sent:email/customer"],
    )
    assert steps["Page the owner"].satisfiers == ["acknowledged"]
    assert steps["Is it back?"].kind == "check"
    assert draft.notes == ["line 33: a table is not imported"]


@pytest.mark.parametrize(
    ("text", "box"),
    [
        ("Immediate Actions (First 5 minutes)", "5m"),
        ("Customer Communication (Within 15 min)", "15m"),
        ("Detection & Acknowledgment (Minutes 0-5)", "5m"),
        ("Investigation (Minutes 5-15)", "15m"),
        ("Post-Incident (Hours 1-24)", "24h"),
        ("Immediate Actions (Critical: DO NOT MAKE WORSE)", None),
        ("If recent (< 1 hour)", None),
    ],
)
def test_time_boxes(text: str, box: str | None) -> None:
    assert timebox_of(text) == box


def test_import_into_the_repo_never_overwrites(cli: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "procedure.md"
    doc.write_text("# Widget outage\n\n## First\n\n1. Look at the widgets\n")
    start = cli.commits()
    made = cli("runbook", "import", str(doc))
    path = cli.repo / "runbooks" / "widget-outage.toml"
    assert path.is_file() and "wrote runbooks/widget-outage.toml" in made.err
    assert cli.commits() == start
    assert cli("runbook", "show", "widget-outage", "--json").json()["steps"] == 1
    again = cli("runbook", "import", str(doc), ok=False)
    assert again.code == 1 and "already exists" in again.err
    renamed = cli("runbook", "import", str(doc), "--name", "widgets-2")
    assert (cli.repo / "runbooks" / "widgets-2.toml").is_file(), renamed.err

    empty = tmp_path / "empty.md"
    empty.write_text("# Nothing\n\nJust words.\n")
    nothing = cli("runbook", "import", str(empty), ok=False)
    assert nothing.code == 2
    assert nothing.err.splitlines()[0] == (
        f"error: {empty}: no numbered or bulleted steps found under 'Nothing'"
    )
    missing = cli("runbook", "import", str(tmp_path / "absent.md"), ok=False)
    assert missing.code == 1 and "Traceback" not in missing.err
