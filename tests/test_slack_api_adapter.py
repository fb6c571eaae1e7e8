"""The Slack bot destination (slack_sdk.WebClient) against a real fake Slack Web API on
127.0.0.1: the war-room channel (created, or reused when the name is taken), the
declaration with its metadata, replies in its thread, the resolution's chat.update, and
each way a post can end. An in-doubt post is looked for by its metadata before any
resend, so the server's log shows each message at most once, exactly once after
recovery."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from incidentctl.adapters.destinations import DELIVERED, FAILED, IN_DOUBT, Job, Result
from incidentctl.adapters.destinations.slack import (
    DESTINATION,
    channel_name,
    metadata,
    resolved_text,
)
from incidentctl.domain.incident import IncidentState
from incidentctl.domain.integrations import parse_section
from incidentctl.domain.policy import build_config, merge_with_defaults
from incidentctl.store.config import load_config_data
from servers.httpbase import Fault
from servers.slack import SlackServer

pytestmark = pytest.mark.usefixtures("no_proxy")

TOKEN = "xoxb-test-token"
NOW = datetime(2026, 2, 12, 14, 0, tzinfo=UTC)


@pytest.fixture
def server():
    with SlackServer(token=TOKEN) as s:
        yield s


@pytest.fixture(scope="module")
def config():
    defaults, _ = load_config_data(__import__("pathlib").Path("/nonexistent"))
    return build_config(merge_with_defaults(defaults, {}))


def settings_for(server, **more):
    table = {
        "api_url": server.api_url,
        "token_env": "BOT",
        "channel": "#incidents",
        "timeout": "1s",
        **more,
    }
    settings, problems = parse_section("slack", table)
    assert not problems, problems
    return settings


def secret(name: str) -> str:
    return {"BOT": TOKEN}.get(name, "")


def state(timeline=(), status="investigating"):
    return IncidentState(
        uid="01J0000000000000000000TEST",
        human_id="INC-2026-02-12-001",
        title="Checkout API errors",
        severity="P1",
        status=status,
        declared_at=NOW,
        services=["api"],
        timeline=list(timeline),
    )


def job(
    config,
    st,
    template="slack/declared",
    text="*INCIDENT DECLARED*",
    event_id="01JEVENT000000000000000001",
    **kw,
):
    return Job(
        kw.pop("action", "post"),
        st,
        config,
        NOW,
        text=text,
        template=template,
        event_id=event_id,
        **kw,
    )


def posted(channel_id, ts, kind="declaration"):
    return SimpleNamespace(
        type="slack_posted", channel_id=channel_id, ts=ts, kind=kind, channel="#incidents"
    )


def deliver(prepared, settings):
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == DELIVERED, result.detail
    return result


# -- builders ----------------------------------------------------------------------------


def test_the_war_room_name_is_a_valid_slack_channel_name():
    assert channel_name("#incident-INC-2026-02-12-001") == "incident-inc-2026-02-12-001"
    assert channel_name("#War Room: API/ü") == "war-room-api"
    assert len(channel_name("#" + "x" * 100)) == 80


def test_the_metadata_carries_the_incident_uid_and_the_event_id():
    assert metadata(state(), "E1", "declaration", "slack/declared") == {
        "event_type": "incidentctl_message",
        "event_payload": {
            "incident_uid": "01J0000000000000000000TEST",
            "incident": "INC-2026-02-12-001",
            "event_id": "E1",
            "kind": "declaration",
            "template": "slack/declared",
        },
    }


def test_a_missing_token_is_a_problem_naming_the_key(server):
    found = DESTINATION.problems(settings_for(server), lambda name: "")
    assert found and "$BOT is not set" in found[0] and "slack.token_env" in found[0]


def test_dry_run_is_the_exact_request_with_the_token_masked(server, config):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(config, state()), settings)
    text = DESTINATION.dry_run(prepared, settings, secret)
    assert text.startswith(
        f"POST {server.api_url}/chat.postMessage\nAuthorization: Bearer ********\n"
    )
    assert TOKEN not in text and '"event_id": "01JEVENT000000000000000001"' in text
    assert server.log == []


# -- the incident's messages ----------------------------------------------------------------


def test_the_war_room_is_created_then_reused(server, config):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(config, state(), action="war_room", template=""), settings)
    assert prepared.request["args"] == {"name": "incident-inc-2026-02-12-001"}
    first = deliver(prepared, settings)
    again = deliver(prepared, settings)  # name_taken: found with conversations.list
    assert (
        first.response["channel_id"]
        == again.response["channel_id"]
        == server.channel_id("incident-inc-2026-02-12-001")
    )
    assert again.response["reused"] is True
    assert server.effects("channel ") == [
        f"channel {first.response['channel_id']} incident-inc-2026-02-12-001"
    ]
    [event] = DESTINATION.events(prepared, first)
    assert event["kind"] == "war_room" and event["channel"] == "#incident-inc-2026-02-12-001"


def test_the_declaration_then_a_reply_in_its_thread_then_the_resolution_updates_it(server, config):
    settings = settings_for(server)
    payload = {
        "text": "*INCIDENT DECLARED*",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    declared = DESTINATION.prepare(job(config, state(), options={"payload": payload}), settings)
    result = deliver(declared, settings)
    incidents = server.channel_id("incidents")
    [event] = DESTINATION.events(declared, result)
    assert event == {
        "type": "slack_posted",
        "channel": "#incidents",
        "channel_id": incidents,
        "ts": result.response["ts"],
        "thread_ts": "",
        "kind": "declaration",
        "message_event": "01JEVENT000000000000000001",
    }
    [message] = server.messages[incidents]
    assert message["blocks"] == payload["blocks"]
    assert message["metadata"]["event_payload"]["event_id"] == "01JEVENT000000000000000001"
    record = state([posted(incidents, result.response["ts"])])
    # an update prepared before the declaration was delivered is bound to its thread
    update = DESTINATION.prepare(
        job(config, state(), "slack/update", "Update", event_id="E2"), settings
    )
    update = DESTINATION.bind(update, record)
    reply = deliver(update, settings)
    assert server.messages[incidents][1]["thread_ts"] == result.response["ts"]
    assert DESTINATION.events(update, reply)[0]["thread_ts"] == result.response["ts"]
    resolution = DESTINATION.prepare(
        job(
            config,
            record,
            "slack/declared",
            resolved_text("Declared..."),
            event_id="E3",
            action="resolve_declaration",
        ),
        settings,
    )
    deliver(resolution, settings)
    assert server.messages[incidents][0]["text"].startswith(":white_check_mark: *RESOLVED*")
    assert DESTINATION.events(resolution, Result(DELIVERED)) == []
    assert [e.split()[0] for e in server.effects()] == ["post", "post", "update"]


def test_without_a_declaration_the_resolution_update_fails_plainly(server, config):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(config, state(), action="resolve_declaration"), settings)
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == FAILED and "never posted" in result.detail and server.log == []


# -- each way a post ends -----------------------------------------------------------------


def test_a_429_waits_its_retry_after_and_posts_once(server, config):
    settings = settings_for(server)
    server.fail(Fault.rate_limited(retry_after=1))
    deliver(DESTINATION.prepare(job(config, state()), settings), settings)
    assert [r.status for r in server.log] == [429, 200]
    assert len(server.posts_of_event("01JEVENT000000000000000001")) == 1


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        (Fault.answer(400, {"ok": False, "error": "invalid_arguments"}), FAILED),
        (Fault.answer(200, {"ok": False, "error": "channel_not_found"}), FAILED),
        (Fault.answer(500, {"ok": False, "error": "internal_error"}), IN_DOUBT),
        (Fault.answer(503, b"Service Unavailable"), IN_DOUBT),
    ],
)
def test_a_refusal_failed_a_server_error_is_in_doubt_and_nothing_is_posted_twice(
    server, config, fault, outcome
):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(config, state()), settings)
    server.fail(fault)
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == outcome, result.detail
    if outcome == IN_DOUBT:
        assert DESTINATION.confirm(prepared, settings, secret) is False  # not there: resend
    deliver(prepared, settings)
    assert len(server.posts_of_event("01JEVENT000000000000000001")) == 1


def test_a_refused_connection_failed_and_posts_once_after_recovery(server, config):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(config, state()), settings)
    server.refuse()
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == FAILED and "cannot reach the Slack API" in result.detail
    server.recover()
    deliver(prepared, settings)
    assert len(server.posts_of_event("01JEVENT000000000000000001")) == 1


@pytest.mark.parametrize("applied", [True, False])
@pytest.mark.parametrize("how", ["hang", "drop"])
def test_no_answer_is_in_doubt_and_the_history_decides_before_any_resend(
    server, config, applied, how
):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(config, state()), settings)
    server.fail(getattr(Fault, how)(apply=applied))
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == IN_DOUBT and "may have arrived" in result.detail
    server.release()
    assert DESTINATION.confirm(prepared, settings, secret) is applied
    history = [r for r in server.log if r.path.endswith("conversations.history")]
    sent = history[0].query.get("include_all_metadata") or [history[0].body.decode()]
    assert history and any(
        v in ("1", "true", "True") or "include_all_metadata=1" in v for v in sent
    ), sent
    if applied:
        [event] = DESTINATION.events(prepared, Result(DELIVERED, "found"))
        assert event["ts"] == server.posts_of_event("01JEVENT000000000000000001")[0]["ts"]
    else:
        deliver(prepared, settings)
    assert len(server.posts_of_event("01JEVENT000000000000000001")) == 1


def test_a_reply_in_doubt_is_looked_for_in_its_thread(server, config):
    settings = settings_for(server)
    declared = deliver(DESTINATION.prepare(job(config, state()), settings), settings)
    record = state([posted(declared.response["channel_id"], declared.response["ts"])])
    reply = DESTINATION.prepare(
        job(config, record, "slack/update", "Update", event_id="E2"), settings
    )
    server.fail(Fault.hang(apply=True))
    assert DESTINATION.send(reply, settings, secret).outcome == IN_DOUBT
    server.release()
    assert DESTINATION.confirm(reply, settings, secret) is True
    assert any(r.path.endswith("conversations.replies") for r in server.log)
    assert len(server.posts_of_event("E2")) == 1


def test_integrations_check_is_auth_test_and_names_a_bad_token(server):
    settings = settings_for(server)
    assert DESTINATION.verify(settings, secret) == ""
    assert "invalid_auth" in DESTINATION.verify(settings, lambda name: "xoxb-wrong")
    assert [r.path for r in server.log] == [
        "/api/auth.test",
        "/api/auth.test",
    ] and server.posts() == []
