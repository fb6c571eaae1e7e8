"""The destinations' configuration: [pagerduty], [statuspage], [slack], [email].

incidentctl.toml keeps these tables as they were written (domain/policy.Config holds
them as plain tables); they are parsed here, when a command uses a destination or
`integrations check` runs, so a mistake in one is named then as bad usage (exit 2)
and nothing is recorded or sent. Secrets are never values here: a table names the
environment variable (`*_env`) that holds each one (or the key of the same name in
credentials.toml in the user config dir).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from incidentctl.domain.policy import Duration

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[str, Field(pattern=ENV_NAME)]

# a value that reads like a credential: Slack tokens, a PagerDuty integration key
# (32 hex digits), a bearer or OAuth header, an SMTP URL with a password
_SECRET_VALUE = re.compile(
    r"^(xox[abposr]-|xapp-)|^[0-9a-f]{32}$|^(Bearer|OAuth|Basic) \S+|://[^/@\s:]+:[^/@\s]+@",
    re.IGNORECASE,
)
# a key that names a secret; a value under it must be the name of a variable instead
_SECRET_KEY = re.compile(r"(^|_)(key|token|password|passwd|secret|api_key|routing_key)$")


def secret_problems(table: str, data: Any, where: str = "") -> list[str]:
    """Every value under `table` that looks like a secret, as 'pagerduty.routing_key: ...'."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{where}.{key}" if where else f"{table}.{key}"
            if isinstance(value, str) and value and _SECRET_KEY.search(str(key)):
                found.append(
                    f"{path}: a secret in incidentctl.toml (it is committed and shared); "
                    f'name an environment variable instead: {key}_env = "..."'
                )
            else:
                found += secret_problems(table, value, path)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += secret_problems(table, value, f"{where}[{i}]")
    elif isinstance(data, str) and _SECRET_VALUE.search(data.strip()):
        found.append(
            f"{where}: looks like a secret (a token, key or password) in incidentctl.toml; "
            "put it in an environment variable or credentials.toml and name that here"
        )
    return found


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: Duration = timedelta(seconds=10)


class PagerDutyTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    routing_key_env: EnvName


class PagerDutySettings(_Section):
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    routing_key_env: EnvName = "INCIDENTCTL_PAGERDUTY_ROUTING_KEY"
    # NAME is an entry of a severity's `page` list ("On-call SRE"); without an entry a
    # target uses routing_key_env
    targets: dict[str, PagerDutyTarget] = {}
    severity: dict[str, str] = {"P0": "critical", "P1": "error", "P2": "warning", "P3": "info"}
    source: str = ""  # payload.source when the incident names no service; default: the org

    @field_validator("severity")
    @classmethod
    def _check_severity(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = ("critical", "error", "warning", "info")
        for name, level in value.items():
            if level not in allowed:
                raise ValueError(f"severity.{name} = {level!r}: use one of {', '.join(allowed)}")
        return value


class StatuspageSettings(_Section):
    api_url: str = "https://api.statuspage.io/v1"
    page_id: str = ""
    api_key_env: EnvName = "INCIDENTCTL_STATUSPAGE_API_KEY"
    components: dict[str, str] = {}  # the tool's service name -> component id
    impact: dict[str, str] = {"P0": "critical", "P1": "major", "P2": "minor", "P3": "none"}
    # severity -> the status of each affected component while open (operational once
    # resolved): operational, under_maintenance, degraded_performance, partial_outage,
    # major_outage
    component_status: dict[str, str] = {
        "P0": "major_outage",
        "P1": "partial_outage",
        "P2": "degraded_performance",
        "P3": "degraded_performance",
    }


class SlackSettings(_Section):
    api_url: str = "https://slack.com/api"
    token_env: EnvName = "SLACK_BOT_TOKEN"
    channel: str = "#incidents"


class EmailSettings(_Section):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    smtp_host: str
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    starttls: bool = True
    ssl: bool = False  # SMTP over TLS from the start (port 465)
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    from_: Annotated[str, Field(alias="from", min_length=3)]
    to: list[str] = []
    bcc: list[str] = []


SECTIONS: dict[str, type[_Section]] = {
    "pagerduty": PagerDutySettings,
    "statuspage": StatuspageSettings,
    "slack": SlackSettings,
    "email": EmailSettings,
}


def parse_section(name: str, data: dict[str, Any]) -> tuple[Any, list[str]]:
    """(settings, problems) for the table `name`: the problems name each key
    ('pagerduty.events_url: ...'); settings is None when there are any."""
    problems = secret_problems(name, data)
    try:
        settings = SECTIONS[name].model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in (name, *err["loc"]))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif err["type"] == "missing":
                message = "missing (required)"
            problems.append(f"{where}: {message}")
        return None, problems
    return (None if problems else settings), problems
