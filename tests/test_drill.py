"""Drills end to end: declare --drill marks every message, --post goes only to the drill
webhook, metrics leave drills out; each built-in scenario is played by `drill run` at
speed in a real process while the test responds with the ordinary commands, and
`drill report` scores it."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import BIN, example

NOW = {"INCIDENTCTL_NOW": "2026-02-12T10:00:00Z"}
BANNER = "🧪 DRILL: this is an exercise, not a real incident"


class Hook:
    """A webhook on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/drill"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks():
    made: list[Hook] = []

    def make() -> Hook:
        made.append(Hook())
        return made[-1]

    yield make
    for hook in made:
        hook.close()


def test_every_message_of_a_drill_says_drill_and_a_real_one_does_not(waooaw):
    drill = waooaw("declare", "Tabletop: API down", "-s", "P0", "--drill", env=NOW)
    assert drill.out.splitlines()[0] == BANNER
    inc = waooaw("show", "-", "--json").json()
    assert (inc["drill"], inc["drill_kind"]) == (True, "tabletop")  # [drills] kind
    for template in ("slack/update", "statuspage", "email/customer", "slack/exec"):
        text = waooaw("render", template, inc["id"], env=NOW).out
        assert text.splitlines()[0] == BANNER, template
    blocks = waooaw("render", "slack/update", inc["id"], "-f", "blocks", env=NOW).out
    assert "DRILL" in blocks
    plain = waooaw("render", "slack/update", inc["id"], "--no-emoji", env=NOW).out
    assert plain.splitlines()[0] == "DRILL: this is an exercise, not a real incident"
    real = waooaw("declare", "API down", "-s", "P0", env=NOW)
    assert "DRILL" not in real.out
    listed = waooaw("list", env=NOW).out
    assert "[DRILL] Tabletop: API down" in listed and "[DRILL] API down" not in listed
    assert "DRILL" in waooaw("status", ok=False, env=NOW).out


def test_a_drill_without_a_drill_webhook_is_not_posted_and_says_so(waooaw, hooks):
    team = hooks()
    env = {**NOW, "INCIDENTCTL_SLACK_WEBHOOK": team.url}
    result = waooaw("declare", "Tabletop", "-s", "P1", "--drill", "--post", env=env)
    assert result.code == 0
    assert "is a drill: not posted ([drills] webhook is not set" in result.err
    assert team.bodies == []  # never the team's channel
    flushed = waooaw("outbox", "flush", env=env)  # nothing was queued either
    assert flushed.code == 0 and team.bodies == []


def test_a_drill_posts_only_to_the_drill_webhook(waooaw, hooks):
    team, drills = hooks(), hooks()
    config = waooaw.repo / "incidentctl.toml"
    text = config.read_text().replace(
        '[drills]\nkind = "tabletop"',
        f'[drills]\nkind = "tabletop"\nwebhook = "{drills.url}"\nchannel = "#drills"',
    )
    config.write_text(text)
    waooaw.git("commit", "-qam", "drill webhook")
    env = {**NOW, "INCIDENTCTL_SLACK_WEBHOOK": team.url}
    result = waooaw("declare", "Tabletop", "-s", "P1", "--drill", "--post", "--record", env=env)
    assert "posted the drill's slack/declared to #drills" in result.err
    assert team.bodies == [] and len(drills.bodies) == 1
    assert drills.bodies[0]["text"].startswith(BANNER)
    [sent] = waooaw("show", "-", "--json").json()["communications"]
    assert (sent["channel"], sent["via"]) == ("#drills", "drill-webhook")
    # a real incident still goes to the team's webhook
    waooaw("declare", "Real", "-s", "P1", "--post", env=env)
    assert len(team.bodies) == 1 and len(drills.bodies) == 1


def test_metrics_leave_drills_out_unless_asked(waooaw):
    waooaw("declare", "Real outage", "-s", "P1", env=NOW)
    waooaw("declare", "Practice", "-s", "P1", "--drill", env=NOW)
    later = {"INCIDENTCTL_NOW": "2026-02-20T10:00:00Z"}
    plain = waooaw("metrics", "--json", env=later).json()
    assert plain["incidents"]["total"] == 1 and plain["drills"]["total"] == 1
    assert plain["drills_included"] is False
    both = waooaw("metrics", "--drills", "--json", env=later).json()
    assert both["incidents"]["total"] == 2
    [tabletop] = plain["drills"]["cadence"]
    assert (tabletop["name"], tabletop["every"], tabletop["kept"]) == (
        "Tabletop exercise", "quarter", 1
    )  # fmt: skip
    table = waooaw("metrics", env=later).out
    assert "## Drills" in table and "Tabletop exercise (every quarter): held in 1 of 1" in table
    assert "## Obligations met and missed" in table


def test_obligations_met_and_missed_share_in_metrics(waooaw):
    on_time = waooaw.declare("Fast", severity="P1", env={"INCIDENTCTL_NOW": "2026-02-12T10:00:00Z"})
    waooaw("ack", on_time, env={"INCIDENTCTL_NOW": "2026-02-12T10:05:00Z"})
    late = waooaw.declare("Slow", severity="P1", env={"INCIDENTCTL_NOW": "2026-02-12T11:00:00Z"})
    waooaw("ack", late, env={"INCIDENTCTL_NOW": "2026-02-12T11:40:00Z"})
    data = waooaw("metrics", "--json", env={"INCIDENTCTL_NOW": "2026-02-12T12:00:00Z"}).json()
    ack = next(r for r in data["obligations"] if r["kind"] == "acknowledge")
    assert (ack["met"], ack["missed"], ack["met_share"]) == (1, 1, 0.5)
    assert ack["missed_incidents"] == [late]


def test_a_team_scenario_under_drills_and_a_broken_one(waooaw):
    folder = waooaw.repo / "drills"
    folder.mkdir()
    (folder / "db-failover.toml").write_text(
        'title = "Primary database unreachable"\nseverity = "P0"\n'
        'injects = ["+0m: alert: db down", "+2m: replica lag alarm"]\n'
        '[targets]\nmtta = "5m"\n'
    )
    (folder / "broken.toml").write_text('title = "x"\nseverity = "P0"\ninjects = ["soon: x"]\n')
    listed = waooaw("drill", "list", "--json", ok=False).json()
    assert {s["name"] for s in listed} == {
        "db-failover", "juce-backend-outage", "scheduler-memory-leak"
    }  # fmt: skip
    started = waooaw("drill", "start", "db-failover", "--json", env=NOW).json()
    assert started["severity"] == "P0"
    shown = waooaw("show", started["id"], "--json").json()
    assert (shown["drill"], shown["scenario"]) == (True, "db-failover")
    bad = waooaw("drill", "start", "broken", ok=False)
    assert bad.code == 1 and "drills/broken.toml" in bad.err and "not an inject" in bad.err
    unknown = waooaw("drill", "start", "nope", ok=False)
    assert unknown.code == 2 and unknown.err.startswith("error: no drill scenario 'nope'")


def test_drill_report_refuses_a_real_incident(waooaw):
    inc = waooaw.declare("Real", severity="P1", env=NOW)
    result = waooaw("drill", "report", inc, ok=False)
    assert result.code == 2 and result.err.startswith(f"error: {inc} is not a drill")


# -- a drill of each built-in scenario, end to end -------------------------------------

RESPONSES = {
    # scenario -> (example, speed, {inject prefix: the commands it prompts})
    "scheduler-memory-leak": (
        "waooaw",
        400,
        {
            "[+0m]": [["ack", "{inc}", "-m", "On it"]],
            "[+3m]": [["update", "{inc}", "-m", "Investigating: support tickets coming in"]],
            "[+7m]": [["update", "{inc}", "--status", "identified", "-m", "Scheduler OOM"]],
            "[+19m]": [["mitigate", "{inc}", "-m", "Rolled back the scheduler"]],
        },
    ),
    "juce-backend-outage": (
        "white-room",
        500,
        {
            "[+0m]": [["ack", "{inc}", "-m", "Looking"]],
            "[+5m]": [["update", "{inc}", "-m", "Pods crash-looping on every instance"]],
            "[+15m]": [["update", "{inc}", "--status", "identified", "-m", "Memory leak"]],
            "[+40m]": [["mitigate", "{inc}", "-m", "Rolled back"]],
        },
    ),
}


@pytest.mark.process
@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_built_in_scenario_runs_end_to_end_and_is_scored(tmp_path, name):
    example_name, speed, responses = RESPONSES[name]
    cli = example(tmp_path, example_name)
    scenario = next(s for s in cli("drill", "list", "--json").json() if s["name"] == name)
    env = {k: v for k, v in os.environ.items() if k != "INCIDENTCTL_NOW"}
    started = time.monotonic()
    child = subprocess.Popen(
        [str(BIN), "--repo", str(cli.repo), "drill", "run", name, "--speed", str(speed),
         "--ic", "@sarah"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    heard: list[str] = []
    inc = ""
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("INJECT "):
            _, inc, text = line.rstrip("\n").split(" ", 2)
            heard.append(text)
            for prefix, commands in responses.items():
                if text.startswith(prefix):
                    for command in commands:
                        cli(*[part.format(inc=inc) for part in command], "--by", "@sarah")
    assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
    took = time.monotonic() - started
    assert len(heard) == scenario["injects"]
    assert took < 20  # a few seconds of injects at speed
    resolved = cli(
        "resolve", inc, "--root-cause", "Memory leak in the new build",
        "--resolution", "Rolled back", "--force", "--by", "@sarah",
    )  # fmt: skip
    assert resolved.code == 0
    shown = cli("show", inc, "--json").json()
    injects = [e for e in shown["timeline"] if e.get("kind") == "inject"]
    assert [e["text"] for e in injects] == heard
    assert [e["at"] for e in injects] == sorted(e["at"] for e in injects)
    report = cli("drill", "report", inc, "--json").json()
    assert report["scenario"] == name and report["speed"] == speed
    assert report["injects"] == scenario["injects"]
    metrics = {m["name"]: m for m in report["metrics"]}
    assert set(metrics) == {"MTTA", "MTTI", "MTTM", "MTTR"}
    for m in metrics.values():
        assert m["seconds"] is not None and m["seconds"] >= 0 and not m["running"]
        assert m["target_seconds"] is not None
    assert report["cadence"]["updates"] >= 4
    assert report["score"]["judged"] > 4
    assert any(o["met"] is not None for o in report["obligations"])
    assert report["steps"] and report["runbook"]
    md = cli("drill", "report", inc).out
    assert md.startswith(f"## Drill report: {inc}")
    for heading in (
        "### Response times",
        "### Update cadence",
        "### Obligations",
        "### Runbook steps",
    ):
        assert heading in md
    assert "times below are scenario time" in md
