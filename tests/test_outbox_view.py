"""`incidentctl outbox` on a terminal: the table names each entry's destination, as the
JSON and the plain listing do, and keeps its key columns at 80 and 60 columns."""

from __future__ import annotations

import re

import pytest

from conftest import Cli, run_cli
from servers.httpbase import free_port

NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}
INC = "INC-2026-02-12-001"
PD_KEY = {"PD_KEY": "R0UTINGKEYBACKEND000000000000000"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def queued(tmp_path) -> Cli:
    """A repo with two messages queued: a Slack webhook post and a PagerDuty page, both
    to ports nothing listens on."""
    path = tmp_path / "waooaw"
    assert run_cli("init", str(path), "--example", "waooaw").code == 0
    cli = Cli(path)
    config = path / "incidentctl.toml"
    config.write_text(
        config.read_text()
        + f'\n[pagerduty]\nevents_url = "http://127.0.0.1:{free_port()}/v2/enqueue"\n'
        + 'routing_key_env = "PD_KEY"\ntimeout = "2s"\n'
        + '[pagerduty.targets."On-call SRE"]\nrouting_key_env = "PD_KEY"\n'
    )
    env = {
        **NOW,
        **PD_KEY,
        "INCIDENTCTL_SLACK_WEBHOOK": f"http://127.0.0.1:{free_port()}/services/T0/B0/x",
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
        "DISPLAY": "",
        "WAYLAND_DISPLAY": "",
    }
    cli("declare", "Scheduler not executing goals", "-s", "P1", "--ic", "@sarah-sre",
        "--impact", "All customers", "--post", env=env, ok=False)  # fmt: skip
    cli("page", INC, "On-call SRE", env=env, ok=False)
    listed = cli("outbox", "--json").json()
    assert sorted(e["destination"] for e in listed) == ["pagerduty", "slack-webhook"]
    return cli


def table(cli: Cli, monkeypatch, columns: int) -> list[str]:
    """`incidentctl outbox` as a terminal `columns` wide sees it (colours stripped)."""
    monkeypatch.setattr("incidentctl.cli.terminal.stdout_is_tty", lambda: True)
    result = cli("outbox", env={"COLUMNS": str(columns), "TERM": "xterm"})
    lines = [ANSI.sub("", line) for line in result.out.splitlines()]
    assert all(len(line) <= columns for line in lines), "\n".join(lines)
    return lines


@pytest.mark.parametrize("columns", [200, 80, 60])
def test_the_outbox_table_shows_each_entrys_destination(queued, monkeypatch, columns):
    entries = queued("outbox", "--json").json()
    lines = table(queued, monkeypatch, columns)
    assert "DESTINATION" in lines[0].split()
    for entry in entries:
        [line] = [line for line in lines if entry["id"] in line]  # the whole ID: drop takes it
        cells = line.split()
        assert f" {entry['state']} " in line and entry["destination"] in cells
        if columns >= 80:
            assert INC in cells
        else:  # cut to its tail, the day and the number
            assert any(c.startswith("…") and INC.endswith(c[1:]) for c in cells), line


def test_a_wide_terminal_shows_every_column(queued, monkeypatch):
    lines = table(queued, monkeypatch, 200)
    assert lines[0].split() == [
        "ID", "STATE", "DESTINATION", "INCIDENT", "TEMPLATE", "QUEUED", "TRIES", "LAST", "ERROR",
    ]  # fmt: skip
    assert any("pagerduty/trigger" in line and "cannot reach PagerDuty" in line for line in lines)
