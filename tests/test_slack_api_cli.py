"""Slack as a bot (`[slack]` with a token) against a real fake Slack Web API on
127.0.0.1: `declare --post` opens the war room and posts the declaration with its
metadata, later `--post` messages go in its thread, `resolve --post` also rewrites it.
A post in doubt is looked for in the channel's history before anything is sent again,
so the server shows each message at most once, exactly once after recovery."""

from __future__ import annotations

import pytest

from conftest import Cli, add_config, kill_a_flush
from servers.httpbase import Fault
from servers.slack import SlackServer

pytestmark = pytest.mark.usefixtures("no_proxy")

NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}
TOKEN = "xoxb-test-token"
KEYS = {"BOT_TOKEN": TOKEN}
INC = "INC-2026-02-12-001"


@pytest.fixture
def slack():
    with SlackServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def team(waooaw, slack) -> Cli:
    add_config(waooaw, slack.config(timeout="1s"))
    return waooaw


def declare(cli: Cli, *extra: str, env=None, ok=True):
    return cli(
        "declare", "Scheduler not executing goals", "-s", "P1", "--ic", "@sarah-sre",
        "--impact", "All customers", "--service", "scheduler", "--post", *extra,
        env={**NOW, **KEYS, **(env or {})}, ok=ok,
    )  # fmt: skip


def timeline(cli: Cli, kind: str) -> list[dict]:
    return [e for e in cli("show", INC, "--json").json()["timeline"] if e["type"] == kind]


def outbox(cli: Cli) -> list[dict]:
    return cli("outbox", "--json", env=KEYS).json()


def top_level(slack: SlackServer) -> list[dict]:
    return [m for m in slack.posts() if "thread_ts" not in m or m["thread_ts"] == m["ts"]]


def test_declare_opens_the_war_room_and_posts_the_declaration_with_its_metadata(team, slack):
    result = declare(team)
    assert result.code == 0, result.err
    war_room = slack.channel_id("incident-inc-001")
    incidents = slack.channel_id("incidents")
    [declaration] = slack.messages[incidents]
    uid = team("show", INC, "--json").json()["uid"]
    payload = declaration["metadata"]["event_payload"]
    assert declaration["metadata"]["event_type"] == "incidentctl_message"
    assert payload["incident_uid"] == uid and payload["kind"] == "declaration"
    assert "INCIDENT DECLARED" in declaration["text"] and declaration["blocks"]
    posted = {e["kind"]: e for e in timeline(team, "slack_posted")}
    assert posted["war_room"]["channel_id"] == war_room
    assert posted["declaration"]["channel_id"] == incidents
    assert posted["declaration"]["ts"] == declaration["ts"]
    assert posted["declaration"]["message_event"] == payload["event_id"]
    assert outbox(team) == []


def test_updates_go_in_the_thread_and_the_resolution_rewrites_the_declaration(team, slack):
    declare(team)
    incidents = slack.channel_id("incidents")
    declaration = slack.messages[incidents][0]
    team(
        "update", INC, "--status", "identified", "-m", "a bad deploy", "--post", env={**NOW, **KEYS}
    )
    team("resolve", INC, "--root-cause", "a deploy", "--resolution", "rolled back", "--post", "--force",
         env={**NOW, **KEYS})  # fmt: skip
    replies = [
        m
        for m in slack.messages[incidents]
        if m.get("thread_ts") == declaration["ts"] and m is not declaration
    ]
    assert len(replies) == 2 and len(top_level(slack)) == 1
    assert declaration["text"].startswith(":white_check_mark: *RESOLVED*")
    assert "Resolved" in declaration["text"]
    assert [e.split()[0] for e in slack.effects()] == ["channel", "post", "post", "post", "update"]


def test_declare_again_reuses_the_war_room(team, slack):
    slack._new_channel("incident-inc-001")  # someone made it already
    declare(team)
    assert [c["name"] for c in slack.channels.values()].count("incident-inc-001") == 1
    posted = {e["kind"]: e for e in timeline(team, "slack_posted")}
    assert posted["war_room"]["channel_id"] == slack.channel_id("incident-inc-001")


def test_without_a_token_the_webhook_posts_as_before(team, slack):
    result = declare(team, env={"BOT_TOKEN": ""}, ok=False)
    assert result.code == 2 and "webhook" in result.err  # no webhook configured either
    assert slack.log == []


def test_a_429_is_waited_out_and_posted_once(team, slack):
    slack.fail(
        Fault.rate_limited(retry_after=1, match=lambda r: r.path.endswith("chat.postMessage"))
    )
    declare(team)
    assert len(top_level(slack)) == 1
    assert [r.status for r in slack.requests(path="chat.postMessage")] == [429, 200]


@pytest.mark.parametrize(
    "fault",
    [
        Fault.answer(200, {"ok": False, "error": "channel_not_found"}),
        Fault.answer(400, {"ok": False, "error": "x"}),
        "refused",
    ],
)
def test_a_failed_post_is_queued_and_flushed_exactly_once(team, slack, fault):
    if fault == "refused":
        slack.refuse()
    else:
        fault.match = lambda r: r.path.endswith("chat.postMessage")
        slack.fail(fault)
    first = declare(team, ok=False)
    assert first.code == 4 and "queued in the outbox" in first.err
    assert slack.posts() == []
    assert {e["destination"] for e in outbox(team)} == {"slack"}
    slack.recover()
    team("outbox", "flush", env=KEYS)
    team("outbox", "flush", env=KEYS)
    assert len(top_level(slack)) == 1 and outbox(team) == []
    assert [e["kind"] for e in timeline(team, "slack_posted")].count("declaration") == 1


@pytest.mark.parametrize("applied", [True, False])
def test_no_answer_is_in_doubt_and_the_history_decides_before_any_resend(team, slack, applied):
    slack.fail(Fault.hang(apply=applied, match=lambda r: r.path.endswith("chat.postMessage")))
    first = declare(team, ok=False)
    assert first.code == 4 and "in doubt" in first.err
    slack.release()
    assert [e["state"] for e in outbox(team)] == ["in doubt"]
    team("outbox", "flush", env=KEYS)
    assert any(r.path.endswith("conversations.history") for r in slack.log)
    assert len(top_level(slack)) == 1 and outbox(team) == []
    [declaration] = [e for e in timeline(team, "slack_posted") if e["kind"] == "declaration"]
    assert declaration["ts"] == top_level(slack)[0]["ts"]


@pytest.mark.process
def test_a_killed_flush_leaves_the_post_in_doubt_and_the_next_flush_posts_it_once(team, slack):
    post = lambda r: r.path.endswith("chat.postMessage")  # noqa: E731
    slack.fail(Fault.answer(500, {"ok": False, "error": "x"}, match=post))
    declare(team, ok=False)  # in doubt: a 5xx may have posted it (it did not)
    slack.fail(Fault.hang(apply=True, match=post))
    kill_a_flush(
        team, lambda: len(slack.requests(path="chat.postMessage")) == 2, env=KEYS
    )  # killed mid-request
    slack.release()
    assert [e["state"] for e in outbox(team)] == ["in doubt"]
    team("outbox", "flush", env=KEYS)  # the history shows it: recorded, not posted again
    assert len(top_level(slack)) == 1 and outbox(team) == []
