"""Config mistakes are loud, and small inputs say what they mean: a broken incidentctl.toml
fails every command alike, unknown keys are named with the closest valid one, bad
environment values and multi-line names are usage errors, and what is shown names the
date, the missing severity, the impossible review time (docs/configuration.md)."""

from __future__ import annotations

import pytest

from conftest import run_cli
from teamrepos import edit_config
from test_runbook_cli import DRILL, add_team_runbooks

READERS = [
    ("list",),
    ("log", "{inc}"),
    ("show", "{inc}"),
    ("status",),
    ("metrics",),
    ("runbook", "list"),
    ("template", "list"),
    ("action", "list"),
    ("note", "{inc}", "x"),
]


@pytest.mark.parametrize("args", READERS)
def test_a_broken_config_fails_every_command_alike(cli, args):
    inc = cli.declare()
    cli(*(a.format(inc=inc) for a in args))  # passes once: remembered as valid
    config = cli.repo / "incidentctl.toml"
    good = config.read_text()
    config.write_text(good + "\n[[[ broken\n")
    result = cli(*(a.format(inc=inc) for a in args), ok=False)
    assert result.code == 1, result.err
    assert result.err.startswith("error: incidentctl.toml: invalid TOML"), result.err
    # valid TOML, but not a valid config: caught though the last one passed
    config.write_text(good.replace("[incident]", '[incident]\nid_fromat = "x"', 1))
    result = cli(*(a.format(inc=inc) for a in args), ok=False)
    assert result.code == 1
    assert "incident.id_fromat: unknown key; did you mean 'id_format'?" in result.err
    config.write_text(good)
    cli(*(a.format(inc=inc) for a in args))


def test_doctor_still_reports_a_broken_config(cli):
    (cli.repo / "incidentctl.toml").write_text("[[[ broken\n")
    result = cli("doctor", ok=False)
    assert result.code == 1 and "error: incidentctl.toml: invalid TOML" in result.out


def test_unknown_team_config_keys_name_the_closest_valid_one(cli):
    config = cli.repo / "incidentctl.toml"
    text = config.read_text().replace("[incident]\n", '[incident]\nid_fromat = "x"\n', 1)
    text = text.replace('ack_within = "5m"', 'ack_whitin = "5m"', 1)
    config.write_text('sycn = "auto"\nzzz = 1\n' + text)
    result = cli("list", ok=False)
    assert result.code == 1
    assert "incident.id_fromat: unknown key; did you mean 'id_format'?" in result.err
    assert "severity.P0.ack_whitin: unknown key; did you mean 'ack_within'?" in result.err
    assert "sycn: unknown key; did you mean 'sync'?" in result.err
    assert "zzz: unknown key (valid keys: incident, roles, severity," in result.err


def test_a_typo_in_the_user_config_is_an_error_not_a_new_private_repo(repo, isolated_env, tmp_path):
    config = isolated_env / ".config" / "incidentctl" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'rpeo = "{repo}"\n')
    result = run_cli("list", cwd=tmp_path)
    assert result.code == 1
    assert f"error: {config}: unknown key 'rpeo'; did you mean 'repo'?" in result.err
    assert not (isolated_env / ".local" / "share" / "incidentctl").exists()
    config.write_text(f'repo = "{repo}"\n')
    assert run_cli("list", cwd=tmp_path).code == 0


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf"])
def test_a_bad_lock_timeout_is_a_usage_error_naming_the_variable(cli, value):
    inc = cli.declare()
    before = cli.commits()
    result = cli("note", inc, "x", env={"INCIDENTCTL_LOCK_TIMEOUT": value}, ok=False)
    assert result.code == 2, result.err
    assert f"error: INCIDENTCTL_LOCK_TIMEOUT={value!r} is not a number of seconds" in result.err
    assert "bug" not in result.err
    assert cli.commits() == before


@pytest.mark.parametrize(
    "args",
    [
        ("note", "{inc}", "x", "--by", "@a\nIncident-Uid: X"),
        ("declare", "t", "-s", "P1", "--commander", "@a\nb"),
        ("declare", "t", "-s", "P1", "--responder", "@a\rb"),
        ("declare", "t", "-s", "P1", "--service", "api\nx"),
        ("assign", "{inc}", "commander", "@a\nb"),
        ("escalate", "{inc}", "--to", "@a\tb", "-m", "x"),
        ("action", "add", "{inc}", "Fix it", "--owner", "@a\nb", "--due", "+1d", "-p", "P1"),
        ("oncall", "override", "@a\nb", "--from", "2026-02-20T09:00", "--to", "2026-02-20T17:00"),
    ],
)
def test_names_are_one_line(cli, args):
    inc = cli.declare()
    before = cli.commits()
    result = cli(*(a.format(inc=inc) for a in args), ok=False)
    assert result.code == 2, result.err
    assert "contains a newline, tab or other control character" in result.err
    assert cli.commits() == before


def test_a_zero_update_cadence_is_refused_in_the_config(cli):
    inc = cli.declare(severity="P1")
    edit_config(cli.repo, 'update_every = "30m"', 'update_every = "0m"')
    for args in (("status",), ("show", inc), ("declare", "t", "-s", "P2")):
        result = cli(*args, ok=False)
        assert result.code == 1
        assert "severity.P1.update_every: must be longer than 0" in result.err


def test_a_review_before_the_declaration_is_refused(cli):
    inc = cli.declare(
        "t", "--at", "2026-02-12T10:00Z", env={"INCIDENTCTL_NOW": "2026-02-12T10:05Z"}
    )
    before = cli.commits()
    result = cli("pir", "schedule", inc, "--at", "2001-01-01", ok=False)
    assert result.code == 2, result.err
    assert "before" in result.err and "was declared (2026-02-12 10:00 UTC)" in result.err
    cli(
        "resolve",
        inc,
        "--root-cause",
        "x",
        "--resolution",
        "y",
        env={"INCIDENTCTL_NOW": "2026-02-12T11:00Z"},
    )
    before = cli.commits()
    early = cli("pir", "schedule", inc, "--at", "2026-02-12T10:30Z", ok=False)
    assert early.code == 2 and "was resolved (2026-02-12 11:00 UTC)" in early.err
    assert cli.commits() == before
    cli("pir", "schedule", inc, "--at", "2026-02-14T10:00Z")


def test_a_severity_the_config_lost_is_named_not_nothing_due(cli):
    inc = cli.declare(severity="P3")
    config = cli.repo / "incidentctl.toml"
    text = config.read_text()
    start = text.index("[severity.P3]")
    end = text.index("\n[", start + 1)
    config.write_text(text[:start] + text[end + 1 :])
    cli.git("commit", "-qam", "drop P3")
    for args in (("status",), ("show", inc)):
        result = cli(*args)
        assert f"warning: {inc} is P3, a severity incidentctl.toml does not define" in result.err


def test_runbook_progress_dates_a_deadline_on_another_day(cli):
    add_team_runbooks(cli.repo, drill=DRILL)
    env = {"INCIDENTCTL_NOW": "2026-02-12T23:58:00Z"}
    inc = cli.declare("Widgets wobbling", "--runbook", "drill", env=env)
    text = cli("runbook", "progress", inc, env=env).out
    assert "2026-02-13 00:03 UTC" in text  # the first phase's 5m box ends tomorrow
    assert "23:58 UTC" not in text or "2026-02-12 23:58" not in text
    same_day = cli("runbook", "progress", inc, env={"INCIDENTCTL_NOW": "2026-02-13T00:01:00Z"})
    assert " 00:03 UTC" in same_day.out and "2026-02-13 00:03" not in same_day.out
