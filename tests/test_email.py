"""Email over SMTP against a real server (aiosmtpd) on 127.0.0.1: each message is
taken at most once, and exactly once once the server recovers."""

from __future__ import annotations

import pytest

from conftest import Cli, add_config, kill_a_flush
from servers.httpbase import free_port
from servers.smtp import SmtpServer

NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}
INC = "INC-2026-02-12-001"


@pytest.fixture
def smtp():
    with SmtpServer(silent_seconds=4) as server:
        yield server


CONFIG = 'bcc = ["list@waooaw.example"]\ntimeout = "2s"\n'  # after smtp.config()'s lines


@pytest.fixture
def team(waooaw, smtp) -> Cli:
    cli = waooaw
    add_config(cli, smtp.config(CONFIG))
    cli("declare", "Scheduler not executing goals", "-s", "P1", "--ic", "@sarah-sre",
        "--impact", "All customers", env=NOW)  # fmt: skip
    return cli


def send(cli: Cli, *extra: str, ok=True):
    return cli("render", "email/customer", INC, "--post", *extra, env=NOW, ok=ok)


def comms(cli: Cli) -> list[dict]:
    return cli("comms", "list", INC, "--json").json()


def outbox(cli: Cli) -> list[dict]:
    return cli("outbox", "--json").json()


def owed(cli: Cli) -> list[str]:
    status = cli("status", "--json", env=NOW, ok=False).json()
    return [o["kind"] for i in status["incidents"] for o in i["obligations"]]


def test_a_sent_email_has_its_subject_message_id_and_date_and_counts_for_customers(team, smtp):
    assert "customer_comms" in owed(team)
    send(team)
    [msg] = smtp.messages
    assert msg["subject"].startswith("Service Disruption Update")
    assert msg["message_id"].startswith("<") and msg["message_id"].endswith("@waooaw.example>")
    assert msg["date"] == "Thu, 12 Feb 2026 14:23:00 +0000"
    assert msg["rcpt"] == ["customers@waooaw.example", "list@waooaw.example"]
    assert msg["bcc"] is None  # bcc is in the envelope, never a header
    assert not msg["body"].startswith("Subject:")
    [sent] = comms(team)
    assert sent["via"] == "email" and sent["audience"] == "customers"
    assert "customer_comms" not in owed(team)


def test_to_overrides_the_recipients(team, smtp):
    send(team, "--to", "cto@waooaw.example")
    assert smtp.messages[0]["rcpt"] == ["cto@waooaw.example", "list@waooaw.example"]


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "550 5.7.1 Rejected"])
def test_a_refused_message_is_queued_and_flushed_exactly_once(team, smtp, reply):
    smtp.script = [reply]
    first = send(team, ok=False)
    assert first.code == 4 and reply[:3] in first.err and smtp.messages == []
    assert [e["destination"] for e in outbox(team)] == ["email"] and comms(team) == []
    team("outbox", "flush")
    team("outbox", "flush")
    assert len(smtp.messages) == 1 and outbox(team) == [] and len(comms(team)) == 1


def test_a_refused_connection_is_queued_and_sent_once_the_server_is_back(team, smtp):
    path = team.repo / "incidentctl.toml"
    path.write_text(
        path.read_text().replace(f"smtp_port = {smtp.port}", f"smtp_port = {free_port()}")
    )
    first = send(team, ok=False)
    assert first.code == 4 and "cannot reach" in first.err
    path.write_text(path.read_text().rsplit("\n[email]", 1)[0])
    add_config(team, smtp.config(CONFIG))
    team("outbox", "flush")
    assert len(smtp.messages) == 1 and outbox(team) == []


def test_no_reply_after_the_message_is_in_doubt_and_never_sent_again_on_its_own(team, smtp):
    smtp.script = ["silent"]
    first = send(team, ok=False)
    assert first.code == 4 and "in doubt" in first.err
    [entry] = outbox(team)
    assert entry["state"] == "in doubt"
    again = team("outbox", "flush", ok=False)
    assert again.code == 4 and len(smtp.attempts) == 1  # SMTP cannot be asked: a person decides
    team("outbox", "drop", entry["id"])  # it arrived (the server log says so)
    assert len(smtp.messages) == 1 and outbox(team) == []


@pytest.mark.process
def test_a_killed_flush_leaves_the_email_in_doubt(team, smtp):
    smtp.script = ["451 4.3.0 later", "silent"]
    send(team, ok=False)
    kill_a_flush(team, lambda: len(smtp.attempts) == 2)  # killed mid-request
    [entry] = outbox(team)
    assert entry["state"] == "in doubt"
    team("outbox", "flush", ok=False)
    assert len(smtp.messages) == 1  # never sent twice


def test_dry_run_prints_the_message_and_sends_nothing(team, smtp):
    result = send(team, "--dry-run")
    assert "RCPT TO:<list@waooaw.example>" in result.out and "Message-ID: <" in result.out
    assert smtp.attempts == [] and outbox(team) == [] and comms(team) == []


def test_bad_email_config_is_exit_2_and_nothing_is_recorded(team, smtp):
    heads = team.git("rev-list", "--count", "HEAD")
    path = team.repo / "incidentctl.toml"
    path.write_text(path.read_text().replace('from = "WAOOAW', 'fromm = "WAOOAW'))
    bad = send(team, ok=False)
    assert bad.code == 2 and "email.fromm: unknown key" in bad.err
    assert team.git("rev-list", "--count", "HEAD") == heads and smtp.attempts == []


def test_integrations_check_connects_and_says_ok(team, smtp):
    assert team("integrations", "check").out.strip() == "email: ok"
    assert smtp.attempts == []


def test_the_resolution_email_for_critical_customers_is_a_second_template(team, smtp):
    team("resolve", INC, "--root-cause", "a deploy", "--resolution", "rolled it back", "--force",
         env={"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"})  # fmt: skip
    team("render", "email/resolved", INC, "--post", env={"INCIDENTCTL_NOW": "2026-02-12T15:05:00Z"})
    [msg] = smtp.messages
    assert msg["subject"] == "Resolved: Scheduler not executing goals - 2026-02-12"
    assert "was resolved at 15:00 UTC" in msg["body"] and "rolled it back" in msg["body"]
