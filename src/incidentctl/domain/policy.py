"""The team's configuration (incidentctl.toml) as a validated model.

Every policy number lives in configuration; the defaults ship as a TOML file
(incidentctl/defaults/incidentctl.toml), never as constants here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from incidentctl.domain import ids
from incidentctl.domain.timeparse import TimeParseError, parse_duration

STATUSES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved")
OPEN_STATUSES: tuple[str, ...] = ("investigating", "identified", "monitoring")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except TimeParseError as exc:
            raise ValueError(f"{exc} (use e.g. 15m, 1h30m, 2d, 1w)") from None
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NotifyRule(_Strict):
    """Notify `who` once the incident has been open (unresolved) for `after`."""

    who: str
    after: Duration = timedelta(0)


class SeverityPolicy(_Strict):
    label: str = ""
    description: str = ""
    # the *_note fields keep the procedure's own words where a number says too little
    detect_within: Duration | None = None
    ack_within: Duration | None = None
    ack_note: str = ""
    business_hours_only: bool = False
    page: list[str] = []
    page_note: str = ""
    update_every: Duration | None = None
    customer_comms_within: Duration | None = None
    customer_comms_note: str = ""
    status_page: bool = False
    status_page_every: Duration | None = None
    customer_email: bool = False
    customer_email_within: Duration | None = None
    notify: list[NotifyRule] = []
    escalate_after: Duration | None = None
    resolve_within: Duration | None = None
    resolve_within_note: str = ""
    pir_required: bool = False
    pir_within: Duration | None = None
    pir_note: str = ""


class IncidentSettings(_Strict):
    org: str = ""
    id_format: str = ids.DEFAULT_ID_FORMAT
    id_seq_width: Annotated[int, Field(ge=1, le=6)] = 3
    timezone: str = "UTC"
    war_room: str = "#incident-{id}"
    doc_url: str = ""

    @field_validator("id_format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        ids.validate_format(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
            ) from None
        return value


class EscalationLevel(_Strict):
    """A technical escalation level. Level 1's threshold is per severity
    (`escalate_after`); a higher level's threshold is its own `escalate_after`."""

    level: Annotated[int, Field(ge=1)]
    name: str
    escalate_after: Duration | None = None


class RunbookSettings(_Strict):
    vars: dict[str, str] = {}


class SyncSettings(_Strict):
    """How this clone shares the history with the team's remote (docs/sharing.md)."""

    mode: Literal["manual", "auto"] = "manual"  # auto: every event command syncs after it commits
    remote: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")] = "origin"
    push_retries: Annotated[int, Field(ge=0, le=20)] = 3  # after a push lost a race
    timeout: Duration = timedelta(seconds=30)  # for each fetch or push


def _sync_shorthand(value: Any) -> Any:
    # `sync = "auto"` at the top level is short for [sync] mode = "auto"
    return {"mode": value} if isinstance(value, str) else value


class Config(_Strict):
    incident: IncidentSettings = IncidentSettings()
    roles: dict[str, str] = {}
    severity: dict[str, SeverityPolicy] = {}
    escalation: list[EscalationLevel] = []
    runbooks: RunbookSettings = RunbookSettings()
    sync: Annotated[SyncSettings, BeforeValidator(_sync_shorthand)] = SyncSettings()

    @model_validator(mode="after")
    def _check_names(self) -> Config:
        for name in list(self.roles) + list(self.severity):
            if not _NAME_RE.match(name):
                raise ValueError(f"invalid name {name!r}: use letters, digits, '-' and '_'")
        if not self.severity:
            raise ValueError("at least one severity must be defined under [severity]")
        if not self.roles:
            raise ValueError("at least one role must be defined under [roles]")
        return self

    @property
    def severities(self) -> list[str]:
        return list(self.severity)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.incident.timezone)

    def severity_name(self, text: str) -> str | None:
        """The configured severity matching `text` in any letter case, or None."""
        for name in self.severity:
            if name.lower() == text.strip().lower():
                return name
        return None

    def role_name(self, text: str) -> str | None:
        wanted = text.strip().lower().replace("_", "-")
        aliases = {"ic": "commander", "incident-commander": "commander", "tl": "tech-lead"}
        wanted = aliases.get(wanted, wanted) if wanted not in self.roles else wanted
        for name in self.roles:
            if name.lower() == wanted:
                return name
        return None


def merge_with_defaults(defaults: dict[str, Any], team: dict[str, Any]) -> dict[str, Any]:
    """The team's tables replace the default tables of the same name, whole.

    `[incident]` is the exception: its keys are merged one by one, so a team can set
    only `org` and keep the default ID format.
    """
    merged = dict(defaults)
    for key, value in team.items():
        if key == "incident" and isinstance(value, dict):
            merged[key] = {**defaults.get("incident", {}), **value}
        else:
            merged[key] = value
    return merged


def build_config(data: dict[str, Any]) -> Config:
    return Config.model_validate(data)
