"""The examples reproduce the seeds' own templates, line for line.

Each test replays the seed's own example incident in an example repo, renders the
template, and compares it with the template's text in tests/fixtures/seeds: the same
number of lines, and every line the same words, except where the seed shows a value
(listed for each template below). `compare` is strict: any changed word outside a
value fails it (`test_the_comparison_fails_on_any_changed_word` proves that, word by
word).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import Cli, run_cli
from incidentctl.services.comms import render_message
from incidentctl.services.workspace import open_workspace

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
WHITE_ROOM = SEEDS / "000_4caff353e4cf1124.txt"
WAOOAW = SEEDS / "002_27216d697439ed07.txt"

# The seeds' emoji were garbled when they were saved (their README names the intended
# characters); so were the arrow and the rupee sign.
GARBLED = {
    "ðŸš¨": "🚨",
    "ðŸ”„": "🔄",
    "âœ…": "✅",
    "üö®": "🚨",
    "‚úÖ": "✅",
    "‚ùå": "❌",
    "‚Üí": "→",
    "‚Çπ": "₹",
}


def seed_block(path: Path, heading: str) -> list[str]:
    """The lines of the first fenced block after the line `heading`, emoji restored."""
    text = path.read_text(encoding="utf-8")
    for bad, good in GARBLED.items():
        text = text.replace(bad, good)
    lines = text.splitlines()
    at = lines.index(heading)
    start = next(i for i in range(at + 1, len(lines)) if lines[i].startswith("```")) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    return lines[start:end]


def frame(seed: list[str], values: list[str]) -> list[re.Pattern[str]]:
    """One pattern per seed line: its text literally, each value a hole for any text.
    Every value must be in the seed (a value that is not would mask nothing)."""
    block = "\n".join(seed)
    missing = [v for v in values if v not in block]
    assert not missing, f"not in the seed text: {missing}"
    values_rx = (
        "(" + "|".join(re.escape(v) for v in sorted(set(values), key=len, reverse=True)) + ")"
    )
    patterns = []
    for line in seed:
        parts = re.split(values_rx, line) if values else [line]
        rx = "".join("(.+?)" if k % 2 else re.escape(p) for k, p in enumerate(parts))
        patterns.append(re.compile(rx))
    return patterns


def compare(seed: list[str], values: list[str], rendered: str) -> list[str]:
    """The differences between a rendered text and the seed, values aside: [] if none."""
    lines = rendered.rstrip("\n").split("\n")
    patterns = frame(seed, values)
    problems = []
    if len(lines) != len(seed):
        problems.append(f"{len(lines)} lines, the seed has {len(seed)}")
    for n, (pattern, want, got) in enumerate(zip(patterns, seed, lines, strict=False), 1):
        if not pattern.fullmatch(got):
            problems.append(f"line {n}: seed {want!r}, rendered {got!r}")
    return problems


def value_spans(seed: list[str], values: list[str], rendered: str) -> list[list[tuple[int, int]]]:
    """For each rendered line, the spans the seed's values cover."""
    lines = rendered.rstrip("\n").split("\n")
    spans = []
    for pattern, line in zip(frame(seed, values), lines, strict=True):
        m = pattern.fullmatch(line)
        assert m is not None
        spans.append([m.span(g) for g in range(1, (m.lastindex or 0) + 1)])
    return spans


def assert_like_seed(seed: list[str], values: list[str], rendered: str) -> None:
    problems = compare(seed, values, rendered)
    assert not problems, "\n".join(["differs from the seed:", *problems, "", rendered])


# -- the three White Room Slack templates --------------------------------------------

WR_DECLARED = seed_block(WHITE_ROOM, "### Incident Declaration (Slack)")
WR_DECLARED_VALUES = [
    "P0 - Critical",
    "JUCE Backend",
    "Service Down - High error rate",
    "2026-01-15 14:30 UTC",
    "@username",
    "#incident-2026-01-15-juce-backend",
    "15 minutes",
    "https://runbooks.white-room.ai/service-down",
    "Users unable to access audio engine",
    "All audio processing affected",
]
WR_UPDATE = seed_block(WHITE_ROOM, "### Status Update (Every 15 minutes)")
WR_UPDATE_VALUES = [
    "1234",
    "Investigating",
    "2026-01-15 14:45 UTC",
    "15 min",
    "Confirmed service down on all instances",
    "Checking recent deployment",
    "Reviewing logs for errors",
    "15:00 UTC",
    "All users affected",
]
WR_RESOLVED = seed_block(WHITE_ROOM, "### Resolution Notification")
WR_RESOLVED_VALUES = [
    "1234",
    "2026-01-15 15:30 UTC",
    "1 hour",
    "P0 - Critical",
    "Recent deployment introduced memory leak in audio engine",
    "Rolled back to previous version",
    "Fixed memory leak",
    "Deployed fix to production",
    "Service health checks passing",
    "Error rates back to normal",
    "Monitoring stable",
    "2026-01-16 10:00 UTC",
]


def _render(repo: Path, template: str, ref: str) -> tuple[str, str]:
    rendered = render_message(open_workspace(str(repo)), template, ref, fmt=None)
    return rendered.text, rendered.template


def white_room_incident(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The guide's JUCE backend outage of 2026-01-15, through the commands; each message
    as the command printed it."""
    assert run_cli("init", str(repo), "--example", "white-room").code == 0
    cli = Cli(repo)
    inc = "INC-2026-01-15-001"
    printed = {}
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-01-15T14:30:00Z")
    printed["declared"] = cli(
        "declare", "Service Down - High error rate", "-s", "P0", "--service", "JUCE Backend",
        "--ic", "@username", "--runbook", "api-outage",
        "--impact", "Users unable to access audio engine\nAll audio processing affected",
    ).out  # fmt: skip
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-01-15T14:45:00Z")
    cli("note", inc, "Confirmed service down on all instances", "--kind", "finding", "--at", "14:38")  # fmt: skip
    cli("note", inc, "Checking recent deployment", "--kind", "action", "--at", "14:40")
    printed["update"] = cli("update", inc, "-m", "Reviewing logs for errors").out
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-01-15T15:30:00Z")
    cli("mitigate", inc, "-m", "Rolled back to previous version", "--at", "15:10")
    cli("note", inc, "Service health checks passing", "--kind", "finding", "--at", "15:15")
    cli("note", inc, "Error rates back to normal", "--kind", "finding", "--at", "15:20")
    cli("note", inc, "Monitoring stable", "--kind", "finding", "--at", "15:25")
    cli("pir", "schedule", inc, "--at", "2026-01-16T10:00Z")
    printed["resolved"] = cli(
        "resolve", inc,
        "--root-cause", "Recent deployment introduced memory leak in audio engine",
        "--resolution", "Rolled back to previous version\nFixed memory leak\nDeployed fix to production",
    ).out  # fmt: skip
    return printed


def test_white_room_commands_print_the_guides_own_slack_templates(tmp_path, monkeypatch):
    repo = tmp_path / "white-room"
    printed = white_room_incident(repo, monkeypatch)
    assert_like_seed(WR_DECLARED, WR_DECLARED_VALUES, printed["declared"])
    assert_like_seed(WR_UPDATE, WR_UPDATE_VALUES, printed["update"])
    assert_like_seed(WR_RESOLVED, WR_RESOLVED_VALUES, printed["resolved"])
    # the values are the incident's own
    assert "**Time**: 2026-01-15 14:45 UTC (15 min elapsed)" in printed["update"]
    assert "**Next Update**: 15:00 UTC" in printed["update"]
    assert "3. Follow runbook: https://runbooks.white-room.ai/api-outage" in printed["declared"]
    assert "Scheduled for 2026-01-16 10:00 UTC" in printed["resolved"]
    assert "**Duration**: 1 hour" in printed["resolved"]


def test_white_room_messages_come_from_its_template_family(tmp_path, monkeypatch):
    repo = tmp_path / "white-room"
    white_room_incident(repo, monkeypatch)
    for name in ("declared", "update", "resolved"):
        _, template = _render(repo, f"slack/{name}", "INC-2026-01-15-001")
        assert template == f"slack/white-room/{name}"
    # a team's own slack/update in templates/ still wins over the example's family
    (repo / "templates" / "slack").mkdir(parents=True)
    (repo / "templates" / "slack" / "update.slack.j2").write_text("ours {{ id }}\n")
    text, template = _render(repo, "slack/update", "INC-2026-01-15-001")
    assert (template, text) == ("slack/update", "ours INC-2026-01-15-001")


def test_the_comparison_fails_on_any_changed_word(tmp_path, monkeypatch):
    """Every word of a rendered message, changed alone: outside the seed's values the
    comparison fails, inside one it passes."""
    printed = white_room_incident(tmp_path / "white-room", monkeypatch)
    checked = 0
    for seed, values, text in (
        (WR_DECLARED, WR_DECLARED_VALUES, printed["declared"]),
        (WR_UPDATE, WR_UPDATE_VALUES, printed["update"]),
        (WR_RESOLVED, WR_RESOLVED_VALUES, printed["resolved"]),
    ):
        lines = text.rstrip("\n").split("\n")
        spans = value_spans(seed, values, text)
        for n, line in enumerate(lines):
            for word in re.finditer(r"\w+", line):
                mutated = line[: word.start()] + word.group() + "Z" + line[word.end() :]
                changed = "\n".join([*lines[:n], mutated, *lines[n + 1 :]])
                in_value = any(a <= word.start() and word.end() <= b for a, b in spans[n])
                assert bool(compare(seed, values, changed)) is not in_value, (
                    f"line {n + 1}: changing {word.group()!r} "
                    + ("failed inside a value" if in_value else "was not noticed")
                )
                checked += 1
    assert checked > 100
    # and a missing or an extra line
    assert compare(WR_UPDATE, WR_UPDATE_VALUES, printed["update"] + "\nextra")
    assert compare(WR_UPDATE, WR_UPDATE_VALUES, printed["update"].replace("\n\n", "\n", 1))


def test_the_old_waooaw_words_do_not_pass_for_white_room():
    old = (
        "🔄 INCIDENT UPDATE - INC-2026-01-15-001\n\nStatus: Investigating\n"
        "Time: 2026-01-15 14:45 UTC (15 minutes elapsed)\n\nFindings:\n- a\n- b\n- c\n\n"
        "Next Update: 15:00 UTC\n\nImpact: x"
    )
    assert compare(WR_UPDATE, WR_UPDATE_VALUES, old)


# -- the post-mortem templates ---------------------------------------------------------

WR_POSTMORTEM = seed_block(WHITE_ROOM, "### Post-Mortem Template")
WR_POSTMORTEM_VALUES = [
    "[Title]",
    "[Brief description of what happened]",
    "14:30",
    "Alert triggered",
    "14:35",
    "Incident declared",
    "15:30",
    "Incident resolved",
    "All users",
    "1 hour",
    "P0 - Critical",
    "[Technical explanation of what went wrong]",
    "[Steps taken to fix the issue]",
    "Item 1",
    "Item 2",
    "@user",
    "2026-01-20",
    "2026-01-22",
]


def test_white_room_post_mortem_is_the_guides_template(tmp_path, monkeypatch):
    repo = tmp_path / "white-room"
    assert run_cli("init", str(repo), "--example", "white-room").code == 0
    cli = Cli(repo)
    inc = "INC-2026-01-15-001"
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-01-15T14:35:00Z")
    cli("declare", "JUCE backend down", "-s", "P0", "--detected-at", "14:30")
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-01-16T09:00:00Z")
    cli(
        "resolve", inc, "--at", "2026-01-15T15:30Z",
        "--root-cause", "A deploy leaked memory in the audio engine",
        "--resolution", "Rolled back, fixed the leak, deployed the fix",
    )  # fmt: skip
    cli("pir", "add", inc, "--section", "summary", "The JUCE backend was down for an hour.")
    cli("pir", "add", inc, "--section", "customers-affected", "All users")
    cli("action", "add", inc, "Add a memory test", "--owner", "@ops", "--due", "2026-01-20", "-p", "P1")  # fmt: skip
    cli("action", "add", inc, "Alert on heap", "--owner", "@dev", "--due", "2026-01-22", "-p", "P2")  # fmt: skip
    result = cli("pir", "generate", inc)
    assert result.code == 0, result.err
    assert_like_seed(WR_POSTMORTEM, WR_POSTMORTEM_VALUES, result.out)
    assert "3. Action items" in result.out
    for extension in ("Revenue Impact", "5 Whys", "Contributing Factors", "Response Metrics"):
        assert extension not in result.out
    # the richer template is the team's choice
    richer = cli("pir", "generate", inc, "--template", "white-room-extended").out
    for extension in ("Revenue Impact", "5 Whys", "Contributing Factors", "Response Metrics"):
        assert extension in richer


WAOOAW_PIR = seed_block(WAOOAW, "### PIR Document Template")
WAOOAW_PIR_VALUES = [
    "INC-YYYY-MM-DD-XXX",
    "[Date of review]",
    "[Date incident occurred]",
    "[List names and roles]",
    "P0/P1/P2",
    "X hours Y minutes",
    "X (Y% of total)",
    "₹X (if applicable)",
    "[2-3 sentences]",
    # the timeline: times and events
    "14:00",
    "Deployment of v2.3.1 to production",
    "14:15",
    "First automated alert: API response time elevated",
    "14:18",
    'Customer support ticket: "Can\'t login"',
    "14:23",
    "Incident declared (IC: @sarah)",
    "14:30",
    "Root cause identified: Memory leak in new code",
    "14:35",
    "Decision made: Rollback deployment",
    "14:42",
    "Rollback complete",
    "14:50",
    "Service recovered, monitoring",
    "16:00",
    "Incident declared resolved",
    "[What directly caused the incident]",
    "Why did X happen? → Y",
    "Why did Y happen? → Z",
    "3. ...",
    "[Factor 1]",
    "[Factor 2]",
    "Fast detection (3 minutes from deployment to alert)",
    "Clear escalation path followed",
    "Quick decision on rollback",
    "Good communication to customers",
    "Monitoring didn't catch issue in staging",
    "Took 12 minutes to identify root cause (too long)",
    "Rollback process manual and slow",
    "Customer communication delayed (should be <15 min)",
    # the preventive actions, cell by cell
    "Add memory leak detection to CI pipeline",
    "Automate deployment rollback",
    "Improve staging environment parity with prod",
    "Create customer communication playbook",
    "@mike-backend",
    "@devops-team",
    "@sre-team",
    "@ops-lead",
    "2026-02-20",
    "2026-02-28",
    "2026-03-15",
    "2026-02-25",
    "P0",
    "P1",
    "P2",
    "In Progress",
    "Not Started",
    "Staging environment missed this because [reason]",
    "[solution]",
    "Rollback took 7 minutes due to manual process",
    "Automate",
    "Customer communication template needs improvement",
    "Create templates",
    "#incident-inc-001",
    "[Link]",
    "[Screenshot/Link]",
    "[Links]",
]


def test_waooaw_pir_is_the_procedures_template(tmp_path, monkeypatch):
    repo = tmp_path / "waooaw"
    assert run_cli("init", str(repo), "--example", "waooaw").code == 0
    cli = Cli(repo)
    inc = "INC-2026-02-12-001"
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-02-12T14:23:00Z")
    cli("declare", "Scheduler not executing goals", "-s", "P1", "--ic", "@sarah", "--detected-at", "14:15")  # fmt: skip
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-02-12T16:00:00Z")
    cli("note", inc, "Customer support ticket: Can't login", "--at", "14:25")
    cli("update", inc, "--status", "identified", "-m", "Memory leak in new code", "--at", "14:30")
    cli("note", inc, "Rollback deployment", "--kind", "decision", "--at", "14:35")
    cli("note", inc, "Rollback complete", "--kind", "action", "--at", "14:42")
    cli("mitigate", inc, "-m", "Service recovered, monitoring", "--at", "14:50")
    cli("note", inc, "Stable for 40 minutes", "--kind", "finding", "--at", "15:30")
    cli("resolve", inc, "--root-cause", "A memory leak in v2.3.1", "--resolution", "Rolled back")
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-02-14T11:00:00Z")
    sections = [
        ("customers-affected", "87 (12% of total)"),
        ("revenue-impact", "₹45,000 in SLA credits"),
        ("summary", "A deploy leaked memory; goals did not run for 97 minutes."),
        ("why", "Why were goals missed? → The scheduler crashed"),
        ("why", "Why did it crash? → Out of memory"),
        ("why", "Why out of memory? → A leak in new code"),
        ("factor", "Staging has a tenth of prod traffic"),
        ("factor", "No memory alert"),
        ("went-well", "Fast detection"),
        ("went-well", "Clear escalation"),
        ("went-well", "Quick rollback"),
        ("went-well", "Good comms"),
        ("went-wrong", "Staging missed it"),
        ("went-wrong", "Slow root cause"),
        ("went-wrong", "Manual rollback"),
        ("went-wrong", "Late customer comms"),
        ("lesson", "Staging missed the leak → Action: replay prod traffic"),
        ("lesson", "Rollback took 7 minutes -> Action: Automate"),
        ("lesson", "The comms template needs work"),
        ("attendee", "@sarah (IC)"),
    ]
    for section, text in sections:
        cli("pir", "add", inc, "--section", section, text)
    for title, owner, due, prio in (
        ("Memory leak detection in CI", "@mike-backend", "2026-02-20", "P0"),
        ("Automate rollback", "@devops-team", "2026-02-28", "P1"),
        ("Staging parity", "@sre-team", "2026-03-15", "P1"),
        ("Comms playbook", "@ops-lead", "2026-02-25", "P2"),
    ):
        cli("action", "add", inc, title, "--owner", owner, "--due", due, "-p", prio)
    cli("action", "update", f"{inc}#A1", "--status", "in-progress")
    cli("pir", "schedule", inc, "--at", "2026-02-14T10:00Z")
    result = cli("pir", "generate", inc)
    assert result.code == 0, result.err
    assert_like_seed(WAOOAW_PIR, WAOOAW_PIR_VALUES, result.out)
    assert "| Memory leak detection in CI | @mike-backend | 2026-02-20 | P0 | In Progress |" in (
        result.out
    )
    assert "- **Lesson 1**: Staging missed the leak → Action: replay prod traffic" in result.out
    assert "- **Lesson 2**: Rollback took 7 minutes → Action: Automate" in result.out
    assert "- **Lesson 3**: The comms template needs work → Action: _TODO" in result.out
    richer = cli("pir", "generate", inc, "--template", "waooaw-extended").out
    assert "| ID | Action Item | Owner | Due Date | Priority | Type | Status |" in richer
