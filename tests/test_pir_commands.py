"""`pir add|schedule|complete|generate` through the console script, on real git repos."""

from __future__ import annotations

import pytest

from conftest import run_cli

NOW = {"INCIDENTCTL_NOW": "2026-02-20T09:00:00Z"}


def declare_resolved(cli, severity="P0") -> str:
    human_id = cli.declare(
        "API returning 503", "--at", "2026-02-12T14:23Z", severity=severity, env=NOW
    )
    cli(
        "resolve",
        human_id,
        "--root-cause",
        "leak",
        "--resolution",
        "rollback",
        "--at",
        "2026-02-12T16:00Z",
        env=NOW,
    )
    return human_id


def test_review_facts_schedule_complete_and_commit(cli, tmp_path):
    inc = declare_resolved(cli)
    nasty = 'Why? → "quotes" \'single\' $(rm -rf /) `x` {{ 7*7 }} <!channel> <@U123> 🚨\nline 2 """'
    cli("pir", "add", inc, "--section", "why", nasty, "--at", "2026-02-13T08:00Z", env=NOW)
    cli("pir", "add", inc, "--section", "5 whys", "second", "--at", "2026-02-13T08:01Z", env=NOW)

    # P0: within 48h of resolution (2026-02-14 16:00) is fine; later warns but records
    on_time = cli("pir", "schedule", inc, "--at", "2026-02-14T10:00Z", env=NOW)
    assert "warning" not in on_time.err
    # (a schedule is recorded "now": a later now, so the two sort in the order they were made)
    later = {"INCIDENTCTL_NOW": "2026-02-20T09:01:00Z"}
    late = cli("pir", "schedule", inc, "--at", "2026-02-16T10:00Z", "--json", env=later)
    assert (
        "warning: the review on 2026-02-16 10:00 UTC is after the P0 deadline "
        "2026-02-14 16:00 UTC (within 2d of resolution)" in late.err
    )
    assert late.json()["events"][0]["type"] == "pir_scheduled"

    cli("pir", "complete", inc, "-m", "held in room 4", "--at", "2026-02-14T11:00Z", env=NOW)
    shown = cli("show", inc, "--json", env=NOW).json()
    assert shown["pir"] == {"why": [nasty, "second"]}
    assert shown["pir_scheduled_at"] == "2026-02-16T10:00:00+00:00"
    assert shown["pir_completed_at"] == "2026-02-14T11:00:00+00:00"
    trailers = cli.git("log", "-1", "--format=%(trailers:only)")
    assert "Event-Type: pir_completed" in trailers

    before = cli.commits()
    printed = cli("pir", "generate", inc, env=NOW).out
    assert "1. Why? → \"quotes\" 'single' $(rm -rf /) \\`x\\` {{ 7\\*7 }} \\<!channel\\>" in printed
    assert "Date: 2026-02-14\n" in printed  # the day it was held, not the later schedule
    assert "Date: 2026-03-01\n" in cli("pir", "generate", inc, "--date", "2026-03-01").out

    out_file = tmp_path / "review.md"
    wrote = cli("pir", "generate", inc, "-o", str(out_file), env=NOW)
    assert wrote.out == ""
    assert out_file.read_text(encoding="utf-8") == printed

    committed = cli("pir", "generate", inc, "--commit", env=NOW)
    assert committed.out == ""
    assert cli.commits() == before + 1
    files = cli.git("show", "--name-only", "--format=%B", "HEAD")
    assert files.startswith(f"{inc}: post-incident review (pir.md)\n")
    assert f"Incident: {inc}\n" in files
    changed = [line for line in files.splitlines() if line.startswith("incidents/")]
    assert len(changed) == 1 and changed[0].endswith("/pir.md")
    assert (cli.repo / changed[0]).read_text(encoding="utf-8") == printed

    again = cli("pir", "generate", inc, "--commit", env=NOW)
    assert "already up to date" in again.err
    assert cli.commits() == before + 1
    assert cli.git("status", "--porcelain") == ""
    # incidents/ is append-only: a changed review is not committed over the old one
    cli("pir", "add", inc, "--section", "lesson", "Page the DB team sooner", env=NOW)
    changed_review = cli("pir", "generate", inc, "--commit", env=NOW, ok=False)
    assert changed_review.code == 2 and "already committed" in changed_review.err
    assert "-o FILE" in changed_review.err
    assert cli.git("status", "--porcelain") == ""


def test_a_review_for_an_open_incident(cli):
    inc = cli.declare("Scheduler slow", "--at", "2026-02-13T08:00Z", severity="P1", env=NOW)
    before = cli.commits()

    refused = cli("pir", "complete", inc, env=NOW, ok=False)
    assert refused.code == 2
    assert refused.err.splitlines() == [
        f"error: {inc} is still investigating; its review is held after resolution",
        f"hint: resolve it first: incidentctl resolve {inc} --root-cause TEXT --resolution TEXT",
    ]
    assert cli.commits() == before

    draft = cli("pir", "generate", inc, env=NOW)
    assert f"warning: {inc} is still investigating: this review is a draft" in draft.err
    assert "**Duration**: _TODO: still investigating;" in draft.out

    scheduled = cli("pir", "schedule", inc, "--at", "2026-02-20T10:00Z", env=NOW)
    assert f"warning: {inc} is still investigating: a review follows resolution" in scheduled.err
    assert cli.commits() == before + 1


def test_bad_review_input_changes_nothing(cli):
    inc = declare_resolved(cli, severity="P2")
    before = cli.commits()
    cases = [
        (["pir", "add", inc, "--section", "gossip", "x"], 2, "unknown section 'gossip'"),
        (["pir", "add", inc, "--section", "why", "   "], 2, "the text must not be empty"),
        (["pir", "add", "INC-2026-02-12-009", "--section", "why", "x"], 1, "no incident"),
        (["pir", "schedule", inc, "--at", "next week-ish"], 2, "--at: not a time"),
        (["pir", "complete", inc, "--at", "2026-02-12T15:00Z"], 2, "cannot be held before"),
        (["pir", "generate", inc, "--date", "2026-02-31"], 2, "--date: not a date"),
        (["pir", "generate", inc, "--template", "nope"], 1, "no review template 'nope'"),
        (["pir", "generate", inc, "-o", "/dev/null/review.md"], 1, "cannot write"),
    ]
    for args, code, message in cases:
        result = cli(*args, env=NOW, ok=False)
        assert result.code == code, (args, result.err)
        first = result.err.splitlines()[0]
        assert first.startswith("error: ") and message in first, (args, result.err)
        assert "hint: " in result.err and "Traceback" not in result.err
    assert cli.commits() == before
    assert cli.git("status", "--porcelain") == ""


def test_a_repo_template_overrides_the_built_in(cli):
    inc = declare_resolved(cli)
    folder = cli.repo / "templates" / "pir"
    folder.mkdir(parents=True)
    (folder / "waooaw-extended.md.j2").write_text(
        "Review of {{ id }}: {{ title }} ({{ severity }})\n"
    )
    (folder / "short.md.j2").write_text("{{ id }} took {{ duration }}\n")
    assert (
        cli("pir", "generate", inc).out == "Review of INC-2026-02-12-001: API returning 503 (P0)\n"
    )
    assert cli("pir", "generate", inc, "-t", "short").out == f"{inc} took 1 hour 37 minutes\n"


@pytest.mark.process
def test_pir_help_is_light():
    code = (
        "import sys\n"
        "from incidentctl.cli.app import main\n"
        "for args in (['pir', '--help'], ['action', 'add', '--help'], ['metrics', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('git', 'jinja2')\n"
        "         or m.startswith(('incidentctl.domain', 'incidentctl.services'))]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr
    usages = [line.strip() for line in proc.stdout.splitlines() if "Usage:" in line]
    assert usages == [
        "Usage: incidentctl pir [OPTIONS] COMMAND [ARGS]...",
        "Usage: incidentctl action add [OPTIONS] INC TITLE",
        "Usage: incidentctl metrics [OPTIONS]",
    ], proc.stdout
    assert run_cli("pir", "--help").code == 0
