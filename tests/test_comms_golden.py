"""Every built-in message template, rendered for fixture incidents, against golden files.

The fixtures replay the seeds' own examples (WAOOAW's scheduler incident of 2026-02-12,
White Room's JUCE backend outage of 2026-01-15) through the console script, with
INCIDENTCTL_NOW and --at pinning every time. Each message is rendered at the moment it
would be sent. Regenerate after a deliberate change with: UPDATE_GOLDEN=1 pytest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import Cli, run_cli
from incidentctl.services.comms import render_message
from incidentctl.services.workspace import open_workspace
from incidentctl.templating.sandbox import available_templates

GOLDEN = Path(__file__).parent / "golden" / "comms"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


class Scenario:
    """Builds an incident step by step and renders messages between the steps."""

    def __init__(self, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cli = Cli(repo)
        self.repo = repo
        self.monkeypatch = monkeypatch
        self.rendered: dict[str, str] = {}
        self.templates: set[str] = set()

    def at(self, now: str) -> Scenario:
        self.monkeypatch.setenv("INCIDENTCTL_NOW", now)
        return self

    def run(self, *args: str) -> None:
        self.cli(*args)

    def render(self, golden: str, template: str, ref: str, **kw) -> None:
        ws = open_workspace(str(self.repo))
        rendered = render_message(ws, template, ref, **kw)
        self.rendered[golden] = rendered.text + "\n"
        self.templates.add(rendered.template)


def _compare(rendered: dict[str, str]) -> None:
    mismatched = []
    for name, text in rendered.items():
        path = GOLDEN / name
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            continue
        expected = path.read_text(encoding="utf-8") if path.exists() else "<missing>"
        if text != expected:
            mismatched.append(f"--- {name}\n{text}")
    assert not mismatched, "golden mismatch (UPDATE_GOLDEN=1 regenerates):\n" + "\n".join(
        mismatched
    )


def test_waooaw_scheduler_incident_messages(tmp_path, monkeypatch):
    repo = tmp_path / "waooaw"
    assert run_cli("init", str(repo), "--example", "waooaw").code == 0
    s = Scenario(repo, monkeypatch)
    inc = "INC-2026-02-12-001"

    s.at("2026-02-12T14:23:00Z").run(
        "declare", "Scheduler not executing goals", "-s", "P1",
        "--ic", "@sarah-sre", "--responder", "@on-call-backend", "--responder", "@on-call-ops",
        "--service", "plant-scheduler",
        "--impact", "All customers affected: scheduled goals are not executing",
        "--detected-at", "14:15", "--json",
    )  # fmt: skip
    s.render("waooaw/slack-declared.txt", "slack/declared", inc, fmt=None)
    s.render("waooaw/slack-declared-no-emoji.txt", "slack/declared", inc, fmt=None, emoji=False)
    s.render("waooaw/statuspage-investigating.txt", "statuspage", inc, fmt=None)

    s.at("2026-02-12T14:45:00Z")
    s.run("note", inc, "Scheduler pod restarted 3 times in the last hour", "--kind", "finding", "--at", "14:30")  # fmt: skip
    s.run("note", inc, "Memory climbing since the 12:00 UTC deployment", "--kind", "finding", "--at", "14:38")  # fmt: skip
    s.run("update", inc, "--status", "identified", "-m", "Memory leak in scheduler service from deployment at 12:00 UTC", "--json")  # fmt: skip
    s.render("waooaw/slack-update.txt", "slack/update", inc, fmt=None)
    s.render("waooaw/slack-update.md", "slack/update", inc, fmt="markdown")
    s.render("waooaw/statuspage-identified.txt", "statuspage", inc, fmt=None,
             overrides={"impact": "~40% of API requests may experience delays or errors", "eta": "1 hour"})  # fmt: skip

    s.at("2026-02-12T14:50:00Z")
    s.render("waooaw/slack-exec.txt", "slack/exec", inc, fmt=None)
    s.render("waooaw/slack-escalation.txt", "slack/escalation", inc, fmt=None,
             overrides={"level": "2", "to": "@mike-backend", "reason": "Root cause found, fix needs a backend owner"})  # fmt: skip

    s.at("2026-02-12T15:30:00Z").run("mitigate", inc, "-m", "Rolled back to previous version; scheduler resumed", "--json")  # fmt: skip
    s.render("waooaw/statuspage-monitoring.txt", "statuspage", inc, fmt=None)

    s.at("2026-02-12T17:00:00Z").run(
        "resolve", inc,
        "--root-cause", "Memory leak in scheduler service from deployment at 12:00 UTC",
        "--resolution", "Rolled back to previous version, scheduler resumed normal operation",
        "--impact", "Goals missed: ~450 across 87 customers\n"
        "Goals manually triggered: 450 (all recovered)\nCustomer complaints: 12 support tickets",
        "--json",
    )  # fmt: skip
    s.render("waooaw/slack-resolved.txt", "slack/resolved", inc, fmt=None)
    s.render("waooaw/slack-resolved-blocks.json", "slack/resolved", inc, fmt="blocks")
    s.render("waooaw/statuspage-resolved.txt", "statuspage", inc, fmt=None)
    s.render("waooaw/email-customer.txt", "email/customer", inc, fmt=None,
             overrides={"postmortem_url": "https://status.waooaw.com/incidents/inc-2026-02-12-001"})  # fmt: skip
    s.render("waooaw/email-resolved.txt", "email/resolved", inc, fmt=None)

    for stage in ("investigating", "identified", "monitoring", "resolved"):
        s.render(f"waooaw/social-{stage}.txt", f"social/{stage}", inc, fmt=None)

    assert built_in_messages(template_set="") <= s.templates, "a built-in message has no golden"
    _compare(s.rendered)


MESSAGES = ("slack/", "statuspage/", "email/", "social/")  # reviews and reports: own goldens


def built_in_messages(template_set: str) -> set[str]:
    """The built-in message templates: the plain ones, or a template set's own members."""
    names = {n for n, t in available_templates(None).items() if t.origin == "built-in"}
    messages = {n for n in names if n.startswith(MESSAGES)}
    if template_set:
        return {n for n in messages if n.split("/")[1:2] == [template_set]}
    return {n for n in messages if n.count("/") == 1}


def test_white_room_update_follows_its_fifteen_minute_cadence(tmp_path, monkeypatch):
    repo = tmp_path / "white-room"
    assert run_cli("init", str(repo), "--example", "white-room").code == 0
    s = Scenario(repo, monkeypatch)
    inc = "INC-2026-01-15-001"

    s.at("2026-01-15T14:35:00Z").run(
        "declare", "Service Down - High error rate", "-s", "P0", "--service", "JUCE Backend",
        "--ic", "@username", "--at", "14:30", "--json",
        "--impact", "Users unable to access audio engine\nAll audio processing affected",
    )  # fmt: skip
    s.render("white-room/slack-declared.txt", "slack/declared", inc, fmt=None)
    s.at("2026-01-15T14:45:00Z")
    s.run("note", inc, "Confirmed service down on all instances", "--kind", "finding", "--at", "14:38")  # fmt: skip
    s.run("note", inc, "Checking recent deployment", "--kind", "action", "--at", "14:40")
    s.run("note", inc, "Reviewing logs for errors", "--kind", "action", "--at", "14:42")
    s.render("white-room/slack-update.txt", "slack/update", inc, fmt=None)
    s.render("white-room/statuspage-investigating.txt", "statuspage", inc, fmt=None)
    s.render("white-room/social-investigating.txt", "social", inc, fmt=None)
    s.render("white-room/social-identified.txt", "social", inc, fmt=None, stage="identified")
    s.render("white-room/social-monitoring.txt", "social", inc, fmt=None, stage="monitoring")
    s.at("2026-01-15T15:30:00Z")
    s.run("mitigate", inc, "-m", "Rolled back to previous version", "--at", "15:10")
    s.run("note", inc, "Service health checks passing", "--kind", "finding", "--at", "15:15")
    s.run("resolve", inc, "--root-cause", "Memory leak in audio engine", "--resolution", "Rolled back")  # fmt: skip
    s.render("white-room/slack-resolved.txt", "slack/resolved", inc, fmt=None)
    s.render("white-room/social-resolved.txt", "social", inc, fmt=None)
    assert built_in_messages("white-room") <= s.templates, "a White Room message has no golden"
    _compare(s.rendered)
