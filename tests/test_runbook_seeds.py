"""The built-in runbooks reproduce the source procedures, and the runbook model rejects mistakes.

The seed documents are copied into tests/fixtures/seeds (with their README); the expected
step texts and commands are also written out here, and checked against the seeds.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNBOOK_DIR = ROOT / "src" / "incidentctl" / "runbooks"
SEEDS = Path(__file__).resolve().parent / "fixtures" / "seeds"
WHITE_ROOM_SEED = "000_4caff353e4cf1124.txt"
WAOOAW_SEED = "002_27216d697439ed07.txt"

if importlib.util.find_spec("incidentctl") is None:  # core package not installed yet
    sys.path.insert(0, str(ROOT / "src"))

from incidentctl.domain.runbook import Runbook, RunbookError, parse_runbook  # noqa: E402
from incidentctl.services.runbooks import _command_line  # noqa: E402
from incidentctl.templating.sandbox import string_variables  # noqa: E402


# the commands' variables as the product reads and fills them: in the Jinja2 sandbox
def command_variables(runbook: Runbook) -> set[str]:
    return {name for c in runbook.all_commands() for name in string_variables(c, runbook.name)}


def missing_variables(runbook: Runbook, values: dict[str, str]) -> set[str]:
    return command_variables(runbook) - set(runbook.vars) - set(values)


def render_command(command: str, values: dict[str, str]) -> str:
    """As `runbook show` renders it: a variable with no value stays `{{ name }}`."""
    return _command_line(command, values, "", "test").text


WAOOAW_VALUES = {
    "namespace": "waooaw-prod",
    "deployment": "plant-backend",
    "scheduler_service": "plant-scheduler",
    "database": "waooaw",
    "app": "plant",
    "replicas": "10",
    "backup_dir": "/backup",
}
WHITE_ROOM_VALUES = {
    "namespace": "production",
    "container": "<container-name>",
    "pod": "<pod-name>",
    "prometheus_url": "http://localhost:9090",
    "service_url": "http://localhost:8000",
}

# name -> (seed file, first line of the section, seed values, expected step texts,
#          expected commands as the seed writes them)
CASES: dict[str, dict[str, Any]] = {
    "api-outage": {
        "seed": WAOOAW_SEED,
        "heading": "### Procedure 1: API outage (P0)",
        "values": WAOOAW_VALUES,
        "steps": [
            "Declare P0 incident",
            "Page Incident Commander + On-call SRE + On-call Backend",
            "Check infrastructure status",
            "Check recent deployments",
            "Review logs for error spike",
            "Check database connectivity",
            "Check external service dependencies",
            "Review monitoring dashboards",
            "Mitigation Options (Choose fastest)",
            'Update status page: "Investigating API service disruption"',
            "Send email to all active users (template: incident_notification.html)",
            'Post to Twitter/LinkedIn: "We\'re aware of service issues..."',
        ],
        "commands": [
            "kubectl get pods -n waooaw-prod",
            "docker ps | grep plant",
            "kubectl rollout history deployment/plant-backend -n waooaw-prod",
            "kubectl logs -n waooaw-prod deployment/plant-backend --tail=100",
            "kubectl rollout undo deployment/plant-backend -n waooaw-prod",
            "kubectl rollout restart deployment/plant-backend -n waooaw-prod",
            "kubectl scale deployment/plant-backend --replicas=10 -n waooaw-prod",
        ],
    },
    "scheduler-failure": {
        "seed": WAOOAW_SEED,
        "heading": "### Procedure 2: Scheduler Failure (P1)",
        "values": WAOOAW_VALUES,
        "steps": [
            "Declare P1 incident",
            "Check scheduler status",
            "Check database access from scheduler",
            "Recent config changes?",
            "Database migration in progress?",
            "Resource exhaustion (memory/CPU)?",
            "Restart scheduler",
            "If persists, rollback to previous version",
            "Manually trigger missed goals",
        ],
        "commands": [
            "docker compose ps plant-scheduler",
            "docker compose logs plant-scheduler --tail=50",
            "docker compose restart plant-scheduler",
            "docker compose exec plant-backend \\\n"
            "  python -m src.Plant.BackEnd.scripts.trigger_missed_goals \\\n"
            '  --since "2 hours ago"',
        ],
    },
    "data-corruption": {
        "seed": WAOOAW_SEED,
        "heading": "### Procedure 3: Data Corruption (P0)",
        "values": WAOOAW_VALUES,
        "steps": [
            "Declare P0 incident + page engineering leadership immediately",
            "Take database snapshot immediately",
            "Identify scope of corruption (which tables, how many rows)",
            "Identify time corruption started (transaction logs)",
            "Identify cause (buggy code, failed migration, manual error)",
            "If recent (< 1 hour), consider point-in-time recovery",
            "If contained to specific customers, quarantine affected data",
            "Restore from last known good backup (if severe)",
            "Notify customers immediately if their data affected",
            "Transparent about root cause and recovery plan",
            "Legal/compliance teams notified (GDPR, data breach protocols)",
        ],
        "commands": ["pg_dump waooaw > /backup/emergency-$(date +%s).sql"],
    },
    "security-breach": {
        "seed": WAOOAW_SEED,
        "heading": "### Procedure 4: Security Breach (P0)",
        "values": WAOOAW_VALUES,
        "steps": [
            "Declare P0 incident + page CTO + Security team immediately",
            "Isolate affected systems (may mean taking offline)",
            "Preserve forensic evidence",
            "Rotate all credentials (API keys, database passwords)",
            "Notify legal/compliance teams",
            "Follow: Security Incident Response Plan"
            " (./security_incident_response.md) (separate document)",
        ],
        "commands": [
            "docker compose logs > incident-$(date +%s)-logs.txt",
            "kubectl get pods -o yaml > incident-$(date +%s)-pods.yaml",
        ],
    },
    "standard-response": {
        "seed": WHITE_ROOM_SEED,
        "heading": "### Phase 1: Detection & Acknowledgment (Minutes 0-5)",
        "values": WHITE_ROOM_VALUES,
        "steps": [
            "Alert received: PagerDuty page for P0/P1, Slack notification for P2/P3,"
            " email for all priorities",
            'Acknowledge alert in PagerDuty: click "Acknowledge", add estimated resolution time,'
            " assign to yourself",
            "Acknowledge alert in Slack: post in #incidents channel, use incident template",
            "Initial assessment: check Grafana dashboards",
            "Initial assessment: review logs in Loki",
            "Initial assessment: consult relevant runbook",
            "Initial assessment: determine severity level",
            "Gather context: check service status",
            "Gather context: check logs",
            "Gather context: check metrics",
            "Identify root cause: review recent deployments",
            "Identify root cause: check error rates",
            "Identify root cause: analyze performance metrics",
            "Identify root cause: review configuration changes",
            "Document findings: update incident ticket",
            "Document findings: post in #incidents channel",
            "Document findings: share diagnosis with team",
            "Implement fix: follow relevant runbook",
            "Implement fix: test fix in staging first",
            "Implement fix: apply fix to production",
            "Implement fix: verify resolution",
            "Verify service recovery: check service health",
            "Verify service recovery: run smoke tests",
            "Verify service recovery: monitor metrics",
            "Close incident: resolve PagerDuty incident",
            "Close incident: update incident ticket",
            "Close incident: notify stakeholders",
            "Write post-mortem: timeline of events, root cause analysis, impact assessment,"
            " resolution steps, action items",
            "Action items: create follow-up tickets",
            "Action items: update runbooks",
            "Action items: implement preventive measures",
            "Action items: schedule review meeting",
        ],
        "commands": [
            "kubectl get pods -n production",
            "docker ps",
            "docker logs <container-name> --tail 100",
            "kubectl logs <pod-name> -n production",
            "curl http://localhost:9090/api/v1/query?query=up",
            "curl http://localhost:8000/health",
            "./scripts/smoke-test.sh",
            "watch -n 5 'curl -s http://localhost:9090/api/v1/query?query=up | jq'",
        ],
    },
}

# --- helpers -------------------------------------------------------------------------------


def load(name: str) -> Runbook:
    path = RUNBOOK_DIR / f"{name}.toml"
    with path.open("rb") as fh:
        return parse_runbook(tomllib.load(fh), path.name)


def seed_section(seed: str, heading: str) -> str:
    """The seed's text from `heading` to the next heading of the same or a higher level.

    For the White Room phases the section runs on to the next `## ` heading, so all four
    phases are included.
    """
    lines = (SEEDS / seed).read_text(encoding="utf-8").splitlines()
    start = lines.index(heading)
    stop_prefixes = ("## ",) if heading.startswith("### Phase") else ("## ", "### ")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith(stop_prefixes)),
        len(lines),
    )
    return "\n".join(lines[start:end])


def normalize(command: str) -> str:
    """Join line continuations and collapse whitespace, to compare commands by content."""
    return " ".join(re.sub(r"\\\s*\n", " ", command).split())


def commands_in(section: str) -> list[str]:
    """The shell command lines of a section's code blocks, continuations joined.

    Comment lines and `- ...` lines (the White Room's "In PagerDuty: click ..." block is
    instructions, not shell) are not commands.
    """
    out: list[str] = []
    in_code = False
    pending = ""
    for raw in section.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            in_code = not in_code
            continue
        if not in_code or not line or line.startswith(("#", "- ")):
            continue
        pending += line
        if line.endswith("\\"):
            pending += "\n"
            continue
        out.append(normalize(pending))
        pending = ""
    return out


def items_in(section: str) -> list[str]:
    """The seed's numbered and bulleted items, markdown removed, in order."""
    out: list[str] = []
    in_code = False
    for raw in section.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            in_code = not in_code
            continue
        m = re.match(r"^(?:\d+\.|-)\s+(.*)$", line)
        if not m or (in_code and not line.startswith("- ")):
            continue
        text = m.group(1).replace("**", "").strip().rstrip(":").strip()
        text = re.sub(r"^Option [A-Z]: ", "", text)
        out.append(text)
    return out


def seed_commands(name: str) -> list[str]:
    """The seed's commands for a runbook, read from the seed."""
    case = CASES[name]
    return commands_in(seed_section(case["seed"], case["heading"]))


def texts_in_order(runbook: Runbook) -> list[str]:
    """Step texts, each followed by its option texts and warnings."""
    out: list[str] = []
    for _, step in runbook.iter_steps():
        out.append(step.text)
        out.extend(o.text for o in step.options)
        out.extend(step.warnings)
    return out


def rendered_commands(name: str) -> list[str]:
    runbook = load(name)
    return [render_command(c, CASES[name]["values"]) for c in runbook.all_commands()]


# --- the built-in runbooks -----------------------------------------------------------------


def test_every_builtin_runbook_is_listed() -> None:
    assert sorted(p.stem for p in RUNBOOK_DIR.glob("*.toml")) == sorted(CASES)


@pytest.mark.parametrize("path", sorted(RUNBOOK_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_builtin_runbook_parses_and_validates(path: Path) -> None:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    runbook = parse_runbook(data, path.name)
    assert runbook.name == path.stem
    assert runbook.source
    ids = [step.id for _, step in runbook.iter_steps()]
    assert len(ids) == len(set(ids))
    assert not missing_variables(runbook, CASES[runbook.name]["values"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_step_texts_follow_the_seed(name: str) -> None:
    runbook = load(name)
    assert [step.text for _, step in runbook.iter_steps()] == CASES[name]["steps"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_commands_are_the_seed_commands(name: str) -> None:
    assert [normalize(c) for c in rendered_commands(name)] == seed_commands(name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_expected_lists_match_the_seed(name: str) -> None:
    """Keeps the lists written out above honest."""
    case = CASES[name]
    section = seed_section(case["seed"], case["heading"])
    assert commands_in(section) == [normalize(c) for c in case["commands"]]
    # every numbered or bulleted item of the seed appears, in order, in the runbook's
    # step texts, option texts and step warnings, or (a DO NOT line, a rule in bold)
    # in the runbook's warnings, in their order
    runbook = load(name)
    texts = [t.lower() for t in texts_in_order(runbook)]
    warnings = [w.lower() for w in runbook.warnings]
    at = warned = 0
    for item in items_in(section):
        in_warnings = [i for i in range(warned, len(warnings)) if item.lower() in warnings[i]]
        if in_warnings:
            warned = in_warnings[0] + 1
            continue
        found = next((i for i in range(at, len(texts)) if item.lower() in texts[i]), None)
        assert found is not None, f"seed item {item!r} missing or out of order"
        at = found
    assert warned == len(warnings), "a runbook warning the seed does not have"


def test_api_outage_mitigation_is_one_decision() -> None:
    runbook = load("api-outage")
    step = runbook.step("mitigate")
    assert step is not None and step.kind == "decision"
    assert [(o.key, o.text) for o in step.options] == [
        ("A", "Rollback recent deployment"),
        ("B", "Restart pods"),
        ("C", "Scale up replicas (if capacity issue)"),
    ]
    assert [len(o.commands) for o in step.options] == [1, 1, 1]
    timeboxes = {phase.id: phase.timebox for phase in runbook.phases}
    assert timeboxes["immediate"] == "5m"
    assert timeboxes["customer-communication"] == "15m"
    templates = {s.id: s.template for _, s in runbook.iter_steps() if s.kind == "communicate"}
    assert templates["status-page"] == "statuspage/investigating"
    assert templates["email-users"] == "email/customer"
    assert templates["social-post"] is None


def test_standard_response_phases_are_timed() -> None:
    runbook = load("standard-response")
    assert [(p.title, p.timebox) for p in runbook.phases] == [
        ("Detection & acknowledgment (minutes 0-5)", "5m"),
        ("Investigation & diagnosis (minutes 5-15)", "15m"),
        ("Resolution & recovery (minutes 15-60)", "1h"),
        ("Post-incident (hours 1-24)", "24h"),
    ]
    assert [p.timebox_delta.total_seconds() for p in runbook.phases] == [300, 900, 3600, 86400]


def test_shell_syntax_and_continuations_are_kept_verbatim() -> None:
    assert load("data-corruption").all_commands() == [
        "pg_dump {{ database }} > {{ backup_dir }}/emergency-$(date +%s).sql"
    ]
    assert all("$(date +%s)" in c for c in load("security-breach").all_commands())
    trigger = load("scheduler-failure").step("trigger-missed-goals")
    assert trigger is not None
    assert trigger.commands[0].count("\\\n") == 2


def test_data_corruption_warnings() -> None:
    runbook = load("data-corruption")
    for do_not in (
        "DO NOT restart services (may propagate corruption)",
        "DO NOT run migrations or schema changes",
        "DO NOT delete anything",
    ):
        assert do_not in runbook.warnings
        # a DO NOT line is a warning, acknowledged once, never a step
        assert not any("DO NOT" in step.text for _, step in runbook.iter_steps())
    assert "Always prefer data preservation over service restoration" in runbook.warnings


def test_security_breach_warnings() -> None:
    runbook = load("security-breach")
    assert runbook.warnings == [
        "DO NOT delete logs (evidence needed for forensics)",
        "DO NOT notify attacker (don't tip them off you've detected them)",
        "DO NOT make public statements until legal review",
    ]
    immediate = runbook.phases[0]
    assert immediate.timebox == "15m"


@pytest.mark.parametrize("name", sorted(CASES))
def test_variable_defaults_are_generic(name: str) -> None:
    runbook = load(name)
    for value in runbook.vars.values():
        assert "waooaw" not in value and "plant" not in value


def test_builtin_variables() -> None:
    assert command_variables(load("api-outage")) == {"namespace", "deployment", "app", "replicas"}
    assert command_variables(load("scheduler-failure")) == {"scheduler_service", "deployment"}
    assert command_variables(load("data-corruption")) == {"database", "backup_dir"}
    assert command_variables(load("security-breach")) == set()
    standard = load("standard-response")
    assert missing_variables(standard, {}) == {"container", "pod"}
    assert missing_variables(standard, {"container": "api", "pod": "api-0"}) == set()


# --- malformed runbooks --------------------------------------------------------------------

VALID: dict[str, Any] = {
    "name": "example",
    "title": "Example",
    "source": "test",
    "vars": {"namespace": "production"},
    "phases": [
        {
            "id": "first",
            "title": "First",
            "timebox": "5m",
            "steps": [
                {"id": "look", "kind": "check", "text": "Look",
                 "commands": ["kubectl get pods -n {{ namespace }}"]},
                {"id": "choose", "kind": "decision", "text": "Choose",
                 "options": [{"key": "A", "text": "Roll back",
                              "commands": ["kubectl rollout undo deployment/{{deployment}}"]}]},
            ],
        },
        {
            "id": "second",
            "title": "Second",
            "steps": [{"id": "tell", "kind": "communicate", "text": "Tell",
                       "template": "slack/declared"}],
        },
    ],
}  # fmt: skip


def broken(edit) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    edit(data)
    return data


def errors_for(data: dict[str, Any]) -> str:
    with pytest.raises(RunbookError) as info:
        parse_runbook(data, "team.toml")
    return str(info.value)


def test_valid_example_parses() -> None:
    runbook = parse_runbook(VALID, "team.toml")
    assert runbook.phases[0].steps[0].kind == "check"
    assert runbook.phases[1].timebox is None


def test_unknown_key() -> None:
    message = errors_for(broken(lambda d: d["phases"][0]["steps"][1].update(comands=[])))
    assert message == "team.toml: phases[0].steps[1].comands: Extra inputs are not permitted"
    message = errors_for(broken(lambda d: d.update(severty="P0")))
    assert message == "team.toml: severty: Extra inputs are not permitted"


def test_unknown_kind() -> None:
    message = errors_for(broken(lambda d: d["phases"][0]["steps"][1].update(kind="chek")))
    assert message.startswith("team.toml: phases[0].steps[1].kind: Input should be 'check'")


def test_decision_without_options() -> None:
    message = errors_for(broken(lambda d: d["phases"][0]["steps"][1].update(options=[])))
    assert message == (
        "team.toml: phases[0].steps[1].options: a decision step needs at least one option"
    )


def test_options_on_a_non_decision_step() -> None:
    message = errors_for(broken(lambda d: d["phases"][0]["steps"][1].update(kind="action")))
    assert "team.toml: phases[0].steps[1].options: only decision steps have options" in message


def test_bad_timebox() -> None:
    message = errors_for(broken(lambda d: d["phases"][1].update(timebox="5 minutes")))
    assert message.startswith("team.toml: phases[1].timebox: '5 minutes' is not a duration")
    for good in ("45s", "15m", "1h30m", "24h", "2d", "1w"):
        parse_runbook(broken(lambda d, g=good: d["phases"][1].update(timebox=g)), "team.toml")
    for bad in ("", "m", "30m1h", "1.5h", "5m\n", "99999999999w"):
        message = errors_for(broken(lambda d, b=bad: d["phases"][1].update(timebox=b)))
        assert "phases[1].timebox" in message


def test_duplicate_step_id() -> None:
    message = errors_for(broken(lambda d: d["phases"][1]["steps"][0].update(id="look")))
    assert message == (
        "team.toml: phases[1].steps[0].id: duplicate step id 'look'"
        " (already used by phases[0].steps[0])"
    )


def test_wrong_type() -> None:
    message = errors_for(
        broken(lambda d: d["phases"][0]["steps"][0].update(commands="kubectl get pods"))
    )
    assert message == "team.toml: phases[0].steps[0].commands: Input should be a valid list"
    message = errors_for(broken(lambda d: d["phases"][1].update(timebox=5)))
    assert message == "team.toml: phases[1].timebox: Input should be a valid string"
    message = errors_for(broken(lambda d: d["vars"].update(replicas=10)))
    assert message == "team.toml: vars.replicas: Input should be a valid string"


def test_each_problem_on_its_own_line() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["name"] = "Bad Name"
        del data["title"]
        data["phases"][0]["steps"][0]["kind"] = "chek"

    lines = errors_for(broken(edit)).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["name", "title", "phases[0].steps[0].kind"]
    assert all(line.startswith("team.toml: ") for line in lines)


def test_missing_and_empty_phases() -> None:
    assert errors_for(broken(lambda d: d.pop("phases"))) == "team.toml: phases: Field required"
    assert "team.toml: phases: List should have at least 1 item" in errors_for(
        broken(lambda d: d.update(phases=[]))
    )
    assert "team.toml: phases[1].steps: List should have at least 1 item" in errors_for(
        broken(lambda d: d["phases"][1].update(steps=[]))
    )


def test_bad_slug_and_template() -> None:
    message = errors_for(broken(lambda d: d["phases"][0]["steps"][0].update(id="Look Here")))
    assert message.startswith("team.toml: phases[0].steps[0].id: 'Look Here' is not a slug")
    message = errors_for(broken(lambda d: d["phases"][1]["steps"][0].update(template="Slack!")))
    assert message.startswith("team.toml: phases[1].steps[0].template:")


def test_runbook_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^team\.toml: name: Field required$"):
        parse_runbook(broken(lambda d: d.pop("name")), "team.toml")


# --- variables -----------------------------------------------------------------------------


def test_command_variables_include_option_commands() -> None:
    runbook = parse_runbook(VALID, "team.toml")
    assert command_variables(runbook) == {"namespace", "deployment"}


def test_missing_variables() -> None:
    runbook = parse_runbook(VALID, "team.toml")
    assert missing_variables(runbook, {}) == {"deployment"}
    assert missing_variables(runbook, {"deployment": "api"}) == set()
    assert missing_variables(runbook, {"unrelated": "x"}) == {"deployment"}


def test_render_command() -> None:
    assert render_command("kubectl -n {{namespace}} {{ other }}", {"namespace": "prod"}) == (
        "kubectl -n prod {{ other }}"
    )


def test_variables_named_like_jinja_globals_are_variables() -> None:
    # Jinja2's own `namespace` and `range` must never be printed into a command line
    command = "kubectl -n {{ namespace }} {{ range }}"
    assert render_command(command, {}) == command
    assert render_command(command, {"namespace": "prod", "range": "1"}) == "kubectl -n prod 1"
    assert string_variables(command, "test") == {"namespace", "range"}
