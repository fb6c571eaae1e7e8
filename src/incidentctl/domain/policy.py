"""The team's configuration (incidentctl.toml) as a validated model.

Every policy number lives in configuration; the defaults ship as a TOML file
(incidentctl/defaults/incidentctl.toml), never as constants here.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from incidentctl.domain import ids
from incidentctl.domain.timeparse import TimeParseError, parse_duration

STATUSES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved")
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


# conditions a rule can carry (`when`): "" always; "security": the incident is a
# security incident ([obligations] security_categories / security_runbooks);
# "user_facing": customers are affected (a customers_affected figure above 0, or a
# communication that reached customers)
Condition = Literal["", "security", "user_facing"]


class NotifyRule(_Strict):
    """Notify `who` once the incident has been open (unresolved) for `after`; with
    `when`, only if the incident meets that condition."""

    who: str
    after: Duration = timedelta(0)
    when: Condition = ""


class AttendeeRule(_Strict):
    """Someone the post-incident review requires. Met by an attendee entry (`pir add
    INC --section attendee TEXT`) naming `who`, or naming the person who holds the
    incident's `role` (e.g. commander); with `when`, required only under that condition."""

    who: str
    role: str = ""
    when: Condition = ""


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
    # which messages meet customer_comms_within: status page and/or email templates
    customer_comms_via: list[Literal["statuspage", "email"]] = ["statuspage", "email"]
    # customer communication is owed only when customers_affected is above this
    customer_comms_above: Annotated[int, Field(ge=0)] | None = None
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
    # communication metrics (White Room: initial update <15 minutes for P0/P1; the final
    # update is final_update_within below, a rule and a metric); regular updates are
    # measured against update_every
    initial_update_within: Duration | None = None
    # targets for the mean time to identify and to mitigate; neither seed sets them
    identify_within: Duration | None = None
    mitigate_within: Duration | None = None
    # timing rules after mitigation and resolution (domain/rules.py)
    monitor_for: Duration | None = None  # after mitigation: watch for recurrence this long
    stable_for: Duration | None = None  # monitoring this long before `resolve` (else --force)
    final_update_within: Duration | None = None  # a communication after the resolution
    resolution_email_within: Duration | None = None  # an email/ message after the resolution
    runbook_update_within: Duration | None = None  # a `note --kind runbook` after resolution
    pir_schedule_within: Duration | None = None  # `pir schedule` within this of resolution
    pir_attendees: list[AttendeeRule] = []

    @field_validator("update_every", "status_page_every")
    @classmethod
    def _cadence_is_positive(cls, value: timedelta | None) -> timedelta | None:
        # one meaning only: no cadence is a key left out; 0 would be "always overdue"
        if value is not None and value <= timedelta(0):
            raise ValueError("must be longer than 0 (leave it out for no cadence)")
        return value


class IncidentSettings(_Strict):
    org: str = ""
    id_format: str = ids.DEFAULT_ID_FORMAT
    id_seq_width: Annotated[int, Field(ge=1, le=6)] = 3
    timezone: str = "UTC"
    war_room: str = "#incident-{id}"
    doc_url: str = ""
    # how far ahead of this machine's clock an event's time may be: another machine's
    # clock running a little ahead; anything later is refused as in the future
    clock_skew: Annotated[Duration, Field(le=timedelta(hours=1))] = timedelta(seconds=30)

    @field_validator("id_format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        ids.validate_format(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        if not value:
            raise ValueError("timezone must not be empty (use an IANA name like UTC)")
        return _check_zone_name(value)


class EscalationLevel(_Strict):
    """A technical escalation level. Level 1's threshold is per severity
    (`escalate_after`); a higher level's threshold is its own `escalate_after`."""

    level: Annotated[int, Field(ge=1)]
    name: str
    escalate_after: Duration | None = None


class RunbookSettings(_Strict):
    vars: dict[str, str] = {}
    # how much of a command's output a runbook step keeps as evidence (the rest is counted)
    evidence_max_bytes: Annotated[int, Field(ge=1024)] = 65536


WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


def _weekday(value: Any) -> Any:
    """'Mon', 'monday', 'MONDAY' -> 'monday'."""
    if isinstance(value, str):
        text = value.strip().lower()
        for name in WEEKDAYS:
            if len(text) >= 3 and name.startswith(text):
                return name
        raise ValueError(f"not a day of the week: {value!r} (use e.g. monday or mon)")
    return value


Weekday = Annotated[str, BeforeValidator(_weekday)]


def _check_zone_name(value: str) -> str:
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
            ) from None
    return value


class BusinessHours(_Strict):
    """When a `business_hours_only` severity's acknowledgement and update clocks run."""

    days: list[Weekday] = ["monday", "tuesday", "wednesday", "thursday", "friday"]
    start: time = time(9, 0)
    end: time = time(17, 0)
    timezone: str = ""  # "" means [incident] timezone

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _check_zone_name(value)

    @model_validator(mode="after")
    def _check_window(self) -> BusinessHours:
        if not self.days:
            raise ValueError("business_hours.days must name at least one day")
        if self.start >= self.end:
            raise ValueError("business_hours.start must be before business_hours.end")
        return self

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(d) for d in self.days)


class OncallSettings(_Strict):
    """The weekly on-call rotation. `people[0]` is primary in the week that starts on
    `first_week`; each later week goes to the next person, round the list."""

    people: list[Annotated[str, Field(min_length=1)]] = []
    timezone: str = ""  # "" means [incident] timezone
    start_day: Weekday = "monday"
    start_time: time = time(0, 0)
    first_week: date = date(2026, 1, 5)
    handover_day: Weekday = "sunday"
    handover_time: time = time(18, 0)
    secondary: Literal["previous", "none"] = "previous"
    outgoing_checklist: list[str] = [
        "Summarize active incidents",
        "Share learnings from the week",
        "Document any ongoing issues",
        "Update runbooks if needed",
    ]
    incoming_checklist: list[str] = [
        "Review active incidents",
        "Read runbooks for common issues",
        "Test access to tools (Grafana, PagerDuty)",
        "Confirm PagerDuty is active",
    ]

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _check_zone_name(value)

    @model_validator(mode="after")
    def _check_first_week(self) -> OncallSettings:
        if self.first_week.weekday() != WEEKDAYS.index(self.start_day):
            raise ValueError(
                f"oncall.first_week {self.first_week.isoformat()} is a "
                f"{WEEKDAYS[self.first_week.weekday()]}, but weeks start on {self.start_day}"
            )
        return self


class MetricsSettings(_Strict):
    """Quality targets for `incidentctl metrics`. A target left unset is reported without
    a pass or fail."""

    # what makes an incident a repeat of an earlier one (domain/metrics.py REPEAT_RULES):
    # category-or-service (the default), root-cause (WAOOAW: "same root cause") or
    # same-incident (White Room: "same incident within 30 days")
    recurrence_rule: Literal["category-or-service", "root-cause", "same-incident"] = (
        "category-or-service"
    )
    recurrence_window: Duration | None = None  # a repeat is declared within this of the earlier
    recurrence_all_time: bool = False  # no window: look back over the whole history
    recurrence_target: Annotated[float, Field(ge=0, le=1)] | None = None  # at most this share
    pir_completion_target: Annotated[float, Field(ge=0, le=1)] | None = None  # at least this share


class ObligationSettings(_Strict):
    """[obligations]: rules for every severity (domain/rules.py)."""

    notify: list[NotifyRule] = []  # e.g. the CTO for any security incident
    security_categories: list[str] = ["security"]  # a category that makes it a security incident
    security_runbooks: list[str] = ["security-breach"]  # so does an attached runbook
    commander_resolves: bool = False  # a resolution by anyone but the IC warns


class DrillCadence(_Strict):
    """How often the procedure wants a kind of drill held."""

    name: str
    kind: str = ""  # "" counts every drill
    every: Literal["month", "quarter", "year"]


class DrillSettings(_Strict):
    """[drills]: practice incidents (docs/drills.md)."""

    webhook: str = ""  # where `--post` of a drill goes; "" means drills are not posted
    channel: str = ""  # the drill channel shown on recorded communications
    kind: str = "simulation"  # the kind `declare --drill` records
    cadence: list[DrillCadence] = []

    @field_validator("webhook")
    @classmethod
    def _check_webhook(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("drills.webhook must be an http(s) URL")
        return value


class ReviewSettings(_Strict):
    template: str = (
        "waooaw-extended"  # `pir generate` default: pir/<template>, or any template name
    )


class CommsSettings(_Strict):
    """[comms]: where messages go and how they read. `war_room` and `doc_url` live
    under [incident]."""

    channel: str = "#incidents"  # the Slack channel the incident messages go to
    # the template family the commands' messages come from: `slack/declared` is read as
    # `slack/<template_set>/declared` where that template exists ("": the built-ins)
    template_set: Annotated[str, Field(pattern=r"^([a-z0-9][a-z0-9_-]*)?$")] = ""
    runbook_url: str = ""  # "Follow runbook: URL"; {runbook} is the incident's runbook
    slack_webhook: str = ""  # an incoming-webhook URL; $INCIDENTCTL_SLACK_WEBHOOK wins
    webhook_timeout: Duration = timedelta(seconds=5)
    emoji: bool = True
    status_page_url: str = ""
    support_email: str = ""
    email_from: str = ""  # the customer email's sign-off; default "The <org> Team"
    next_update_align: Duration = timedelta(minutes=15)  # round "next update" down to this
    findings_limit: Annotated[int, Field(ge=1, le=50)] = 5
    render_timeout: Duration = timedelta(seconds=2)  # the wall-clock budget of one render

    @field_validator("slack_webhook")
    @classmethod
    def _check_webhook(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("slack_webhook must be an http(s) URL")
        return value


class SyncSettings(_Strict):
    """How this clone shares the history with the team's remote (docs/sharing.md)."""

    mode: Literal["manual", "auto"] = "manual"  # auto: every event command syncs after it commits
    remote: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")] = "origin"
    push_retries: Annotated[int, Field(ge=0, le=20)] = 3  # after a push lost a race
    timeout: Duration = timedelta(seconds=30)  # for each fetch or push


class DoctorSettings(_Strict):
    """What `doctor` reports (docs/sharing.md, "Doctor")."""

    # committed events not on the remote for longer than this are reported
    unpushed_after: Duration = timedelta(minutes=15)


class StorageSettings(_Strict):
    """How the repo sits on disk (docs/storage.md, "The work tree")."""

    # a sparse work tree keeps a resolved incident's folder this long after its
    # resolution (store/sparse.py reads it raw, on the write path)
    checkout_window: Duration = timedelta(days=30)

    @field_validator("checkout_window")
    @classmethod
    def _window_not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative (0: resolved incidents leave at once)")
        return value


def _sync_shorthand(value: Any) -> Any:
    # `sync = "auto"` at the top level is short for [sync] mode = "auto"
    return {"mode": value} if isinstance(value, str) else value


class Config(_Strict):
    incident: IncidentSettings = IncidentSettings()
    roles: dict[str, str] = {}
    severity: dict[str, SeverityPolicy] = {}
    escalation: list[EscalationLevel] = []
    runbooks: RunbookSettings = RunbookSettings()
    business_hours: BusinessHours = BusinessHours()
    oncall: OncallSettings = OncallSettings()
    metrics: MetricsSettings = MetricsSettings()
    pir: ReviewSettings = ReviewSettings()
    obligations: ObligationSettings = ObligationSettings()
    drills: DrillSettings = DrillSettings()
    comms: CommsSettings = CommsSettings()
    sync: Annotated[SyncSettings, BeforeValidator(_sync_shorthand)] = SyncSettings()
    doctor: DoctorSettings = DoctorSettings()
    storage: StorageSettings = StorageSettings()
    # the destinations, as written: parsed (and refused, exit 2) only when used, by
    # domain/integrations.py
    pagerduty: dict[str, Any] | None = None
    statuspage: dict[str, Any] | None = None
    slack: dict[str, Any] | None = None
    email: dict[str, Any] | None = None

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

    def oncall_zone(self) -> ZoneInfo:
        return ZoneInfo(self.oncall.timezone or self.incident.timezone)

    def business_zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_hours.timezone or self.incident.timezone)


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
