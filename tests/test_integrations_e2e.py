"""Done when: a full incident with all four destinations configured, from `declare
--post --page` to `resolve`, each a real server on 127.0.0.1. The servers' logs show
a PagerDuty trigger, acknowledge and resolve with one dedup key; one status-page
incident created, then updated per stage; a war-room channel, a declaration with its
thread and a final chat.update; one email. The incident's timeline records each
delivery."""

from __future__ import annotations

import time

import pytest

from conftest import add_config
from servers.pagerduty import PagerDutyServer
from servers.slack import SlackServer
from servers.smtp import SmtpServer
from servers.statuspage import StatuspageServer

pytestmark = pytest.mark.usefixtures("no_proxy")

NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}
PD_KEY = "R0UTINGKEYBACKEND000000000000000"
SRE_KEY = "R0UTINGKEYSRE0000000000000000000"
SP_KEY = "sp-test-key"
BOT = "xoxb-test-token"
KEYS = {"PD_KEY": PD_KEY, "PD_SRE_KEY": SRE_KEY, "SP_KEY": SP_KEY, "BOT_TOKEN": BOT}
ENV = {**NOW, **KEYS}
INC = "INC-2026-02-12-001"


@pytest.fixture
def servers():
    with (
        PagerDutyServer() as pd,
        StatuspageServer(api_key=SP_KEY) as sp,
        SlackServer(token=BOT) as slack,
    ):
        smtp = SmtpServer()
        try:
            yield pd, sp, slack, smtp
        finally:
            smtp.close()


def test_a_full_incident_reaches_all_four_destinations_once_each(waooaw, servers):
    pd, sp, slack, smtp = servers
    cli = waooaw
    add_config(cli, pd.config() + sp.config() + slack.config() + smtp.config())
    assert "ok" in cli("integrations", "check", env=ENV).out
    assert slack.posts() == [] and sp.created() == [] and pd.alerts == {}  # the check sent nothing

    cli("declare", "Scheduler not executing goals", "-s", "P1", "--ic", "@sarah-sre",
        "--impact", "All customers", "--service", "scheduler", "--post", "--page", env=ENV)  # fmt: skip
    cli("render", "statuspage", INC, "--post", env=ENV)
    cli("render", "email/customer", INC, "--post", env=ENV)
    cli("ack", INC, env=ENV)
    cli("update", INC, "--status", "identified", "-m", "a bad deploy", "--post", env=ENV)
    time.sleep(1)  # Statuspage: one request per second per key
    cli("render", "statuspage", INC, "--post", env=ENV)
    cli("update", INC, "--status", "monitoring", "-m", "rolled back", "--post", env=ENV)
    time.sleep(1)
    cli("render", "statuspage", INC, "--post", env=ENV)
    cli(
        "resolve",
        INC,
        "--root-cause",
        "a deploy",
        "--resolution",
        "rolled back",
        "--post",
        "--force",
        env=ENV,
    )
    time.sleep(1)
    cli("render", "statuspage", INC, "--post", env=ENV)
    assert cli("outbox", "--json", env=KEYS).json() == []

    # PagerDuty: trigger, acknowledge, resolve, one dedup key per target
    assert pd.alerts and all(
        a["actions"] == ["trigger", "acknowledge", "resolve"] for a in pd.alerts.values()
    )
    assert len({e["dedup_key"] for e in pd.events()}) == len(pd.alerts)
    # Statuspage: created once, then updated per stage
    [created] = sp.created()
    assert sp.updates(created) == ["identified", "monitoring", "resolved"]
    # Slack: the war room, the declaration, its thread, the final chat.update
    incidents = slack.channel_id("incidents")
    assert slack.effects("channel ") == [
        f"channel {slack.channel_id('incident-inc-001')} incident-inc-001"
    ]
    top = [m for m in slack.messages[incidents] if m.get("thread_ts", m["ts"]) == m["ts"]]
    [declaration] = top
    replies = [m for m in slack.messages[incidents] if m is not declaration]
    assert len(replies) == 3 and all(m["thread_ts"] == declaration["ts"] for m in replies)
    assert slack.effects()[-1] == f"update {incidents} {declaration['ts']}"
    assert declaration["text"].startswith(":white_check_mark: *RESOLVED*")
    # email: one
    assert len(smtp.messages) == 1

    # the timeline records each delivery
    events = cli("show", INC, "--json").json()["timeline"]
    kinds = [e["type"] for e in events]
    assert kinds.count("statuspage_linked") == 1
    paged = [
        (e["target"], e["action"])
        for e in events
        if e["type"] == "paged" and e["outcome"] == "delivered"
    ]
    assert {a for _t, a in paged} == {"trigger", "acknowledge", "resolve"}
    posted = [e["kind"] for e in events if e["type"] == "slack_posted"]
    assert (
        posted.count("war_room") == 1
        and posted.count("declaration") == 1
        and posted.count("update") == 3
    )
    sent = [(e["via"], e["audience"]) for e in events if e["type"] == "communication_sent"]
    assert sent.count(("statuspage", "customers")) == 4 and sent.count(("email", "customers")) == 1
