"""PagerDuty (Events API v2) against a real HTTP server on 127.0.0.1 that behaves like
the documented service: each page is delivered at most once (one alert per dedup key,
one state change per action), and exactly once once the server recovers."""

from __future__ import annotations

import json
import time

import pytest

from conftest import Cli, add_config, kill_a_flush
from servers.httpbase import Fault
from servers.pagerduty import PagerDutyServer

pytestmark = pytest.mark.usefixtures("no_proxy")

NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}
SRE_KEY = "R0UTINGKEYSRE0000000000000000000"
BACKEND_KEY = "R0UTINGKEYBACKEND000000000000000"
KEYS = {"PD_SRE_KEY": SRE_KEY, "PD_KEY": BACKEND_KEY}
INC = "INC-2026-02-12-001"


@pytest.fixture
def pd():
    with PagerDutyServer() as server:
        yield server


@pytest.fixture
def team(waooaw, pd) -> Cli:
    add_config(waooaw, pd.config())
    return waooaw


def declare(cli: Cli, *extra: str, severity: str = "P1", env=None, ok=True):
    return cli(
        "declare", "Scheduler not executing goals", "-s", severity, "--ic", "@sarah-sre",
        "--impact", "All customers", "--service", "scheduler", *extra,
        env={**NOW, **KEYS, **(env or {})}, ok=ok,
    )  # fmt: skip


def pages(cli: Cli) -> list[dict]:
    state = cli("show", INC, "--json", env=KEYS).json()
    return [e for e in state["timeline"] if e["type"] == "paged"]


def outbox(cli: Cli) -> list[dict]:
    return cli("outbox", "--json", env=KEYS).json()


def test_page_triggers_each_target_once_with_the_documented_event(team, pd):
    declare(team, severity="P0")
    assert "page" in owed(team)  # status shows the page the policy asks for
    result = team("page", INC, "-m", "Scheduler down since 14:00", env={**NOW, **KEYS})
    assert result.code == 0
    assert len(pd.log) == 3 and len(pd.alerts) == 3
    by_key = {e["routing_key"]: e for e in pd.events()}
    sre = by_key[SRE_KEY]  # [pagerduty.targets."On-call SRE"] has its own key
    uid = team("show", INC, "--json").json()["uid"]
    assert sre["event_action"] == "trigger" and sre["dedup_key"] == f"{uid}-on-call-sre"
    payload = sre["payload"]
    assert payload["summary"] == f"{INC}: Scheduler not executing goals"
    assert payload["source"] == "scheduler" and payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-02-12T14:23:00+00:00"
    assert payload["custom_details"]["commander"] == "@sarah-sre"
    assert payload["custom_details"]["war_room"] == "#incident-inc-001"
    assert payload["custom_details"]["message"] == "Scheduler down since 14:00"
    assert [p["outcome"] for p in pages(team)] == ["delivered"] * 3
    # the pager obligation is met: status no longer owes the page
    assert "page" not in owed(team)


def owed(cli: Cli) -> list[str]:
    status = cli("status", "--json", env=NOW, ok=False).json()
    return [o["kind"] for i in status["incidents"] for o in i["obligations"]]


def test_declare_page_then_ack_and_resolve_reach_the_same_alert(team, pd):
    declare(team, "--page")
    assert [a["actions"] for a in pd.alerts.values()] == [["trigger"]]
    team("ack", INC, env={**NOW, **KEYS})
    team("resolve", INC, "--root-cause", "a deploy", "--resolution", "rolled back", "--force",
         env={**NOW, **KEYS})  # fmt: skip
    [alert] = pd.alerts.values()
    assert alert["actions"] == ["trigger", "acknowledge", "resolve"]
    assert len({e["dedup_key"] for e in pd.events()}) == 1
    assert [(p["action"], p["outcome"]) for p in pages(team)] == [
        ("trigger", "delivered"), ("acknowledge", "delivered"), ("resolve", "delivered"),
    ]  # fmt: skip


def test_an_unpaged_incident_sends_nothing_on_ack(team, pd):
    declare(team)
    team("ack", INC, env={**NOW, **KEYS})
    assert pd.log == []


@pytest.mark.parametrize("failure", [500, 400, "refused"])
def test_a_refused_or_unreachable_page_is_queued_and_flushed_exactly_once(team, pd, failure):
    declare(team)
    if failure == "refused":
        pd.refuse()  # nothing listens on its port: connection refused
    else:
        pd.fail(Fault.answer(failure))
    first = team("page", INC, env={**NOW, **KEYS}, ok=False)
    assert first.code == 4 and "queued in the outbox" in first.err
    assert pd.alerts == {}
    assert [p["outcome"] for p in pages(team)] == ["failed"]  # the review sees it failed
    [entry] = outbox(team)
    assert entry["destination"] == "pagerduty" and entry["state"] == "queued"
    pd.recover()  # listening again, on the same port
    team("outbox", "flush", env=KEYS)
    team("outbox", "flush", env=KEYS)  # nothing left: nothing sent again
    assert [a["actions"] for a in pd.alerts.values()] == [["trigger"]]
    assert outbox(team) == []
    assert [p["outcome"] for p in pages(team)] == ["failed", "delivered"]


def _set_url(cli: Cli, url: str) -> None:
    path = cli.repo / "incidentctl.toml"
    text = path.read_text()
    start = text.index('events_url = "') + len('events_url = "')
    end = text.index('"', start)
    path.write_text(text[:start] + url + text[end:])


def test_a_429_is_waited_out_and_delivered_once(team, pd):
    declare(team)
    pd.fail(Fault.rate_limited(retry_after=1))
    started = time.monotonic()
    team("page", INC, env={**NOW, **KEYS})
    assert time.monotonic() - started >= 1.0  # it waited the Retry-After
    assert len(pd.log) == 2 and [a["actions"] for a in pd.alerts.values()] == [["trigger"]]


def test_a_timeout_after_the_request_was_read_is_in_doubt_and_resent_safely(team, pd):
    declare(team)
    pd.fail(Fault.hang(apply=True))  # PagerDuty took it; the answer never came
    first = team("page", INC, env={**NOW, **KEYS}, ok=False)
    assert first.code == 4 and "in doubt" in first.err
    [entry] = outbox(team)
    assert entry["state"] == "in doubt"
    # the dedup key makes a resend one alert: the flush resends it on its own
    team("outbox", "flush", env=KEYS)
    assert len(pd.log) == 2 and [a["actions"] for a in pd.alerts.values()] == [["trigger"]]
    assert outbox(team) == []


@pytest.mark.process
def test_a_killed_flush_leaves_the_page_in_doubt_and_the_next_flush_delivers_it_once(team, pd):
    declare(team)
    pd.fail(Fault.answer(500))
    team("page", INC, env={**NOW, **KEYS}, ok=False)
    pd.fail(Fault.hang(apply=True))  # taken, never answered
    kill_a_flush(team, lambda: len(pd.log) == 2, env=KEYS)  # killed mid-request
    [entry] = outbox(team)
    assert entry["state"] == "in doubt"
    team("outbox", "flush", env=KEYS)
    assert [a["actions"] for a in pd.alerts.values()] == [["trigger"]]
    assert outbox(team) == []


def test_ack_waits_for_an_undelivered_trigger_and_the_flush_keeps_their_order(team, pd):
    declare(team)
    pd.fail(Fault.answer(500))
    team("page", INC, env={**NOW, **KEYS}, ok=False)
    acked = team("ack", INC, env={**NOW, **KEYS}, ok=False)
    assert acked.code == 4 and len(pd.log) == 1  # the acknowledge waits for the trigger
    team("outbox", "flush", env=KEYS)
    [alert] = pd.alerts.values()
    assert alert["actions"] == ["trigger", "acknowledge"]


def test_dry_run_prints_the_exact_request_with_the_key_masked_and_sends_nothing(team, pd):
    declare(team)
    result = team("page", INC, "--dry-run", env={**NOW, **KEYS})
    assert f"POST {pd.events_url}" in result.out
    assert SRE_KEY not in result.out + result.err and '"routing_key": "********"' in result.out
    body = json.loads(result.out.split("\n\n", 1)[1].strip())
    assert body["event_action"] == "trigger"
    assert pd.log == [] and outbox(team) == [] and pages(team) == []


def test_bad_configuration_is_exit_2_named_and_nothing_is_recorded_or_sent(team, pd):
    declare(team)
    heads = team.git("rev-list", "--count", "HEAD")
    missing = team("page", INC, env={**NOW, "PD_KEY": BACKEND_KEY}, ok=False)
    assert missing.code == 2 and "PD_SRE_KEY is not set" in missing.err
    _set_url(team, "ftp://example.com")
    bad_url = team("page", INC, env={**NOW, **KEYS}, ok=False)
    assert bad_url.code == 2 and "pagerduty.events_url" in bad_url.err
    _set_url(team, pd.events_url)
    unknown = team("page", INC, "Nobody", env={**NOW, **KEYS}, ok=False)
    assert unknown.code == 2 and "unknown page target 'Nobody'" in unknown.err
    assert team.git("rev-list", "--count", "HEAD") == heads
    assert pd.log == [] and outbox(team) == []
    declared = declare(team, "--page", env={"PD_SRE_KEY": ""}, ok=False)
    assert declared.code == 2 and team.git("rev-list", "--count", "HEAD") == heads


def test_a_secret_in_incidentctl_toml_is_refused(team, pd):
    declare(team)
    path = team.repo / "incidentctl.toml"
    path.write_text(
        path.read_text().replace('routing_key_env = "PD_KEY"', f'routing_key = "{SRE_KEY}"')
    )
    result = team("page", INC, env={**NOW, **KEYS}, ok=False)
    assert result.code == 2 and "pagerduty.routing_key" in result.err and "secret" in result.err
    assert SRE_KEY not in result.err and pd.log == []


def test_credentials_toml_gives_the_key_and_is_refused_when_others_can_read_it(team, pd):
    declare(team)
    config_dir = team.repo.parent / "cfg"
    creds = config_dir / "incidentctl" / "credentials.toml"
    creds.parent.mkdir(parents=True)
    creds.write_text(f'PD_SRE_KEY = "{SRE_KEY}"\nPD_KEY = "{BACKEND_KEY}"\n')
    creds.chmod(0o644)
    env = {**NOW, "XDG_CONFIG_HOME": str(config_dir)}
    refused = team("page", INC, env=env, ok=False)
    assert refused.code == 2 and "may be read by other users" in refused.err
    assert "chmod 600" in refused.err and pd.log == []
    creds.chmod(0o600)
    team("page", INC, env=env)
    assert len(pd.alerts) == 1


def test_integrations_check_says_ok_or_the_problem_without_sending(team, pd):
    ok = team("integrations", "check", env=KEYS)
    assert ok.out.strip() == "pagerduty: ok" and pd.log == []
    bad = team("integrations", "check", env={"PD_KEY": BACKEND_KEY}, ok=False)
    assert bad.code == 2 and bad.out.startswith("pagerduty: ") and "PD_SRE_KEY" in bad.out


def test_a_drill_never_pages_a_real_destination(team, pd):
    """Drills never page, post or email real destinations: `declare --drill --page` is
    refused before anything is written, and `page` of a drill sends nothing."""
    refused = declare(team, "--drill", "--page", severity="P0", ok=False)
    assert refused.code == 2 and "drill" in refused.err
    assert team("list", "--json").json() == []  # nothing was written
    declare(team, "--drill", severity="P0")
    paged = team("page", INC, env={**NOW, **KEYS}, ok=False)
    assert paged.code == 2 and "drill" in paged.err
    assert pd.requests() == [] and outbox(team) == []
    assert pages(team) == []
