"""The Statuspage destination against a real fake Statuspage API on 127.0.0.1: the
request it builds (stage -> status, severity -> impact_override, components), create
then PATCH, 1 request/second/key and 429, and each way a post can end. The server's
log shows every post delivered at most once, and exactly once after recovery."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from incidentctl.adapters.destinations import DELIVERED, FAILED, IN_DOUBT, Job, statuspage
from incidentctl.adapters.destinations.statuspage import (
    DESTINATION,
    UnknownComponent,
    components_for,
    impact_for,
    incident_status,
)
from incidentctl.domain.incident import IncidentState
from incidentctl.domain.integrations import parse_section
from servers.httpbase import Fault
from servers.statuspage import StatuspageServer

pytestmark = pytest.mark.usefixtures("no_proxy")

KEY = "sp-test-key"
NOW = datetime(2026, 2, 12, 14, 0, tzinfo=UTC)


@pytest.fixture
def server(monkeypatch):
    """The API's one request per second, at a fifth of the scale (the spacing test
    keeps the real second)."""
    monkeypatch.setattr(statuspage, "MIN_INTERVAL", 0.2)
    with StatuspageServer(api_key=KEY, min_interval=0.2) as s:
        yield s


def settings_for(server, **more):
    table = {
        "api_url": server.api_url,
        "page_id": server.page_id,
        "api_key_env": "SP_KEY",
        "timeout": "1s",
        "components": {"api": "cmp0api00001", "web": "cmp0web00002"},
        **more,
    }
    settings, problems = parse_section("statuspage", table)
    assert not problems, problems
    return settings


def secret(name: str) -> str:
    return {"SP_KEY": KEY}.get(name, "")


def state(status="investigating", severity="P1", services=("api",), timeline=()):
    return IncidentState(
        uid="01J0000000000000000000TEST",
        human_id="INC-2026-02-12-001",
        title="Checkout API errors",
        severity=severity,
        status=status,
        declared_at=NOW,
        services=list(services),
        timeline=list(timeline),
    )


def job(st, text="We are investigating.", stage="", event_id="01J00000000000000000EVENT1"):
    return Job(
        "post", st, None, NOW, text=text, template="statuspage", stage=stage, event_id=event_id
    )  # type: ignore[arg-type]


def linked(incident_id):
    return SimpleNamespace(type="statuspage_linked", statuspage_incident=incident_id)


# -- the request ------------------------------------------------------------------------


def test_the_stage_is_the_status_and_the_severity_the_impact(server):
    settings = settings_for(server)
    assert [incident_status(s) for s in ("investigating", "identified", "monitoring", "resolved")] == [
        "investigating", "identified", "monitoring", "resolved"]  # fmt: skip
    assert [impact_for(s, settings) for s in ("P0", "P1", "P2", "P3")] == [
        "critical",
        "major",
        "minor",
        "none",
    ]
    custom = settings_for(server, impact={"P1": "critical"})
    assert impact_for("P1", custom) == "critical" and impact_for("P0", custom) is None


def test_components_follow_the_services_and_are_operational_once_resolved(server):
    settings = settings_for(server)
    assert components_for(["api", "web"], "P0", "identified", settings) == (
        ["cmp0api00001", "cmp0web00002"],
        {"cmp0api00001": "major_outage", "cmp0web00002": "major_outage"},
    )
    assert components_for(["api"], "P2", "monitoring", settings)[1] == {
        "cmp0api00001": "degraded_performance"
    }
    assert components_for(["api"], "P0", "resolved", settings)[1] == {"cmp0api00001": "operational"}


def test_an_unknown_component_is_bad_usage_named(server):
    with pytest.raises(UnknownComponent) as caught:
        DESTINATION.prepare(job(state(services=("api", "billing"))), settings_for(server))
    assert caught.value.exit_code == 2
    assert "'billing'" in caught.value.message and "[statuspage.components]" in caught.value.hint


def test_a_missing_key_or_page_is_a_problem_naming_the_key(server):
    settings = settings_for(server, page_id="")
    found = DESTINATION.problems(settings, lambda name: "")
    assert any("statuspage.page_id" in p for p in found)
    assert any("$SP_KEY is not set" in p for p in found)


def test_dry_run_prints_the_exact_request_with_the_key_masked(server):
    settings = settings_for(server)
    text = DESTINATION.dry_run(DESTINATION.prepare(job(state()), settings), settings, secret)
    assert text.startswith(f"POST {server.api_url}/pages/{server.page_id}/incidents\n")
    assert "Authorization: OAuth ********" in text and KEY not in text
    assert '"impact_override": "major"' in text and '"cmp0api00001": "partial_outage"' in text
    assert server.log == []


# -- create, then update ----------------------------------------------------------------


def test_the_first_post_creates_and_a_later_one_patches_it(server):
    settings = settings_for(server)
    first = DESTINATION.prepare(job(state()), settings)
    result = DESTINATION.send(first, settings, secret)
    assert result.outcome == DELIVERED, result.detail
    [created] = server.created()
    assert DESTINATION.events(first, result) == [
        {
            "type": "statuspage_linked",
            "page_id": server.page_id,
            "statuspage_incident": created,
            "url": f"https://stspg.io/{created}",
        }
    ]
    [post] = server.requests("POST")
    assert post.header("Authorization") == f"OAuth {KEY}"
    assert post.json == {
        "incident": {
            "name": "Checkout API errors",
            "status": "investigating",
            "body": "We are investigating.",
            "impact_override": "major",
            "component_ids": ["cmp0api00001"],
            "components": {"cmp0api00001": "partial_outage"},
        }
    }
    # prepared before the link existed: bound to it at send time
    later = DESTINATION.prepare(job(state("identified"), "Found it.", event_id="E2"), settings)
    later = DESTINATION.bind(later, state("identified", timeline=[linked(created)]))
    result = DESTINATION.send(later, settings, secret)
    assert result.outcome == DELIVERED and DESTINATION.events(later, result) == []
    [patch] = server.requests("PATCH")
    assert patch.path == f"/v1/pages/{server.page_id}/incidents/{created}"
    assert server.incidents[created]["status"] == "identified"
    assert server.created() == [created] and server.updates(created) == ["identified"]


def test_requests_with_one_key_are_spaced_a_second_apart(server, monkeypatch):
    monkeypatch.setattr(statuspage, "MIN_INTERVAL", 1.0)
    server.min_interval = 1.0
    settings = settings_for(server)
    start = time.monotonic()
    for i in range(3):
        prepared = DESTINATION.prepare(
            job(state(timeline=[linked("x")] if i else []), event_id=f"E{i}"), settings
        )
        if i:
            prepared.request["link"] = server.created()[0]
        assert DESTINATION.send(prepared, settings, secret).outcome == DELIVERED
    assert time.monotonic() - start >= 2.0
    assert all(r.status in (200, 201) for r in server.log)  # never rate limited


# -- each way a post ends -----------------------------------------------------------------


def test_a_429_waits_its_retry_after_and_is_sent_once(server):
    settings = settings_for(server)
    server.fail(Fault.rate_limited(retry_after=1))
    start = time.monotonic()
    result = DESTINATION.send(DESTINATION.prepare(job(state()), settings), settings, secret)
    assert result.outcome == DELIVERED and time.monotonic() - start >= 1.0
    assert [r.status for r in server.requests("POST")] == [429, 201]
    assert len(server.created()) == 1


@pytest.mark.parametrize("status", [500, 503, 400, 401, 422])
def test_a_refusal_failed_and_nothing_was_created(server, status):
    settings = settings_for(server)
    server.fail(Fault.answer(status, {"error": "nope"}))
    prepared = DESTINATION.prepare(job(state()), settings)
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == FAILED and result.status == status and "nope" in result.detail
    assert server.created() == []
    # recovered: the retry creates it once
    assert DESTINATION.send(prepared, settings, secret).outcome == DELIVERED
    assert len(server.created()) == 1


def test_a_refused_connection_failed_and_the_retry_after_recovery_creates_once(server):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(state()), settings)
    server.refuse()
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == FAILED and "cannot reach" in result.detail
    server.recover()
    assert DESTINATION.send(prepared, settings, secret).outcome == DELIVERED
    assert len(server.created()) == 1


@pytest.mark.parametrize("applied", [True, False])
def test_no_answer_after_the_request_was_read_is_in_doubt_and_confirm_tells(server, applied):
    settings = settings_for(server)
    prepared = DESTINATION.prepare(job(state()), settings)
    server.fail(Fault.hang(apply=applied))
    result = DESTINATION.send(prepared, settings, secret)
    assert result.outcome == IN_DOUBT and "may have arrived" in result.detail
    server.release()
    # before any retry: read it back
    assert DESTINATION.confirm(prepared, settings, secret) is applied
    if applied:  # found: recorded as it is, never created twice
        [created] = server.created()
        events = DESTINATION.events(prepared, type(result)(DELIVERED, "found"))
        assert events[0]["statuspage_incident"] == created
    else:
        assert DESTINATION.send(prepared, settings, secret).outcome == DELIVERED
    assert len(server.created()) == 1


def test_an_update_in_doubt_is_found_among_the_incident_updates(server):
    settings = settings_for(server)
    created = DESTINATION.send(DESTINATION.prepare(job(state()), settings), settings, secret)
    incident_id = created.response["statuspage_incident"]
    update = DESTINATION.prepare(
        job(state("monitoring", timeline=[linked(incident_id)]), "Fix deployed."), settings
    )
    server.fail(Fault.hang(apply=True))
    assert DESTINATION.send(update, settings, secret).outcome == IN_DOUBT
    server.release()
    assert DESTINATION.confirm(update, settings, secret) is True
    assert server.updates(incident_id) == ["monitoring"]


def test_integrations_check_gets_the_page_and_names_a_bad_key(server):
    settings = settings_for(server)
    assert DESTINATION.verify(settings, secret) == ""
    assert [(r.method, r.path) for r in server.log] == [("GET", f"/v1/pages/{server.page_id}")]
    assert "was refused" in DESTINATION.verify(settings, lambda name: "wrong")
    assert server.created() == []
