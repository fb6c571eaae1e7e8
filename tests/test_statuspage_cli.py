"""`render statuspage INC --post` against a real fake Statuspage API on 127.0.0.1: one
status-page incident created, then updated per stage; customer communication recorded;
each failure leaves the post in the outbox, and the server's log shows each post at
most once, exactly once after recovery."""

from __future__ import annotations

import time

import pytest

from conftest import Cli, add_config, kill_a_flush
from servers.httpbase import Fault
from servers.statuspage import StatuspageServer

pytestmark = pytest.mark.usefixtures("no_proxy")

NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}
KEY = "sp-test-key"
KEYS = {"SP_KEY": KEY}
INC = "INC-2026-02-12-001"


@pytest.fixture
def sp():
    with StatuspageServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def team(waooaw, sp) -> Cli:
    cli = waooaw
    add_config(cli, sp.config(timeout="1s"))
    cli("declare", "Scheduler not executing goals", "-s", "P1", "--ic", "@sarah-sre",
        "--impact", "All customers", "--service", "scheduler", env=NOW)  # fmt: skip
    return cli


def post(cli: Cli, *extra: str, ok=True, now=NOW):
    return cli("render", "statuspage", INC, "--post", *extra, env={**now, **KEYS}, ok=ok)


def timeline(cli: Cli, kind: str) -> list[dict]:
    return [e for e in cli("show", INC, "--json").json()["timeline"] if e["type"] == kind]


def outbox(cli: Cli) -> list[dict]:
    return cli("outbox", "--json", env=KEYS).json()


def test_the_first_post_creates_later_posts_update_and_each_is_customer_communication(team, sp):
    assert "customer_comms" in owed(team)
    post(team)
    assert "customer_comms" not in owed(team)  # a status-page post reached the customers
    [created] = sp.created()
    assert sp.incidents[created]["name"] == "Scheduler not executing goals"
    body = sp.requests("POST", "/incidents")[0].json["incident"]
    assert body["status"] == "investigating" and body["impact_override"] == "major"
    assert body["components"] == {"cmp0api00001": "partial_outage"}
    assert body["body"].startswith("Investigating:")
    [link] = timeline(team, "statuspage_linked")
    assert link["statuspage_incident"] == created and link["page_id"] == sp.page_id
    [comm] = timeline(team, "communication_sent")
    assert comm["audience"] == "customers" and comm["via"] == "statuspage"
    assert comm["template"] == "statuspage/investigating"
    team("update", INC, "--status", "identified", "-m", "found it", env=NOW)
    time.sleep(1)  # one request per second per key
    post(team)
    post(team, "--stage", "monitoring")
    assert sp.created() == [created]
    assert sp.updates(created) == ["identified", "monitoring"]
    assert [r.method for r in sp.log if r.status in (200, 201)] == ["POST", "PATCH", "PATCH"]
    assert len(timeline(team, "communication_sent")) == 3


def owed(cli: Cli) -> list[str]:
    status = cli("status", "--json", env=NOW, ok=False).json()
    return [o["kind"] for i in status["incidents"] for o in i["obligations"]]


def test_an_unknown_component_is_exit_2_named_and_nothing_is_recorded_or_sent(waooaw, sp):
    cli = waooaw
    add_config(cli, sp.config(components='web = "cmp0web00002"', timeout="1s"))
    cli("declare", "Scheduler down", "-s", "P1", "--service", "scheduler", env=NOW)
    before = cli("show", INC, "--json").json()["timeline"]
    result = post(cli, ok=False)
    assert (
        result.code == 2 and "'scheduler'" in result.err and "[statuspage.components]" in result.err
    )
    assert sp.log == [] and outbox(cli) == []
    assert cli("show", INC, "--json").json()["timeline"] == before


def test_dry_run_prints_the_request_with_the_key_masked_and_sends_nothing(team, sp):
    result = post(team, "--dry-run")
    assert f"POST {sp.api_url}/pages/{sp.page_id}/incidents" in result.out
    assert "OAuth ********" in result.out and KEY not in result.out + result.err
    assert sp.log == [] and outbox(team) == [] and timeline(team, "communication_sent") == []


@pytest.mark.parametrize("failure", [500, 422, "refused"])
def test_a_failed_post_is_queued_and_flushed_exactly_once(team, sp, failure):
    if failure == "refused":
        sp.refuse()
    else:
        sp.fail(Fault.answer(failure, {"error": "nope"}))
    first = post(team, ok=False)
    assert first.code == 4 and "queued in the outbox" in first.err
    assert sp.created() == []
    [entry] = outbox(team)
    assert entry["destination"] == "statuspage" and entry["state"] == "queued"
    sp.recover()
    time.sleep(1)
    team("outbox", "flush", env=KEYS)
    team("outbox", "flush", env=KEYS)
    assert len(sp.created()) == 1 and outbox(team) == []
    assert len(timeline(team, "statuspage_linked")) == 1


def test_a_429_is_waited_out_and_posted_once(team, sp):
    sp.fail(Fault.rate_limited(retry_after=1))
    started = time.monotonic()
    post(team)
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in sp.log] == [429, 201] and len(sp.created()) == 1


@pytest.mark.parametrize("applied", [True, False])
def test_no_answer_is_in_doubt_and_the_flush_reads_it_back_before_resending(team, sp, applied):
    sp.fail(Fault.hang(apply=applied))
    first = post(team, ok=False)
    assert first.code == 4 and "in doubt" in first.err
    sp.release()
    [entry] = outbox(team)
    assert entry["state"] == "in doubt"
    time.sleep(1)
    team("outbox", "flush", env=KEYS)
    assert len(sp.created()) == 1 and outbox(team) == []
    [link] = timeline(team, "statuspage_linked")
    assert link["statuspage_incident"] == sp.created()[0]


def test_an_update_queued_behind_a_failed_create_patches_what_the_create_made(team, sp):
    sp.fail(Fault.answer(500))
    post(team, ok=False)
    # a later time: outbox IDs are ULIDs of the (here frozen) clock, and order the entries
    later = {"INCIDENTCTL_NOW": "2026-02-12T14:30:00Z"}
    team("update", INC, "--status", "identified", "-m", "found it", env=later)
    second = post(team, ok=False, now=later)  # waits for the create: same stream
    assert second.code == 4 and sp.created() == []
    time.sleep(1)
    team("outbox", "flush", env=KEYS)
    [created] = sp.created()
    assert sp.updates(created) == ["identified"] and outbox(team) == []


@pytest.mark.process
def test_a_killed_flush_leaves_the_post_in_doubt_and_the_next_flush_posts_it_once(team, sp):
    sp.fail(Fault.answer(500))
    post(team, ok=False)
    sp.fail(Fault.hang(apply=True))
    kill_a_flush(team, lambda: len(sp.log) == 2, env=KEYS)  # killed mid-request
    sp.release()
    [entry] = outbox(team)
    assert entry["state"] == "in doubt"
    time.sleep(1)
    team("outbox", "flush", env=KEYS)  # read back: it is there, so not created again
    assert len(sp.created()) == 1 and outbox(team) == []
    assert len(timeline(team, "statuspage_linked")) == 1
