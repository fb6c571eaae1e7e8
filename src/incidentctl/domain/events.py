"""Timeline events: one pydantic model per type, picked by the record's `type`.

An event file is one of these, dumped to TOML. Files are written once and never
changed, so every field a later reader needs must be in the event itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
)

from incidentctl.domain.review import ActionKind, ActionStatus, PirSection
from incidentctl.domain.timeparse import iso

SCHEMA_VERSION = 1
# the event schemas this version reads: a new schema is a new number, read alongside
# the old ones (a file without `schema` is schema 1)
SCHEMA_VERSIONS: tuple[int, ...] = (1,)
_FIELD_ORDER = ("type", "id", "incident", "at", "recorded_at", "author")
# `note` is what `note` records unless told otherwise. Only `update` (what `update -m`
# records) counts as an update to stakeholders (domain/state.py, the update cadence).
# `runbook` records a runbook updated after the incident (the runbook-update rule);
# `inject` is a drill scenario's inject as `drill run` plays it.
NOTE_KINDS = ("note", "finding", "hypothesis", "decision", "action", "update", "runbook", "inject")
NoteKind = Literal[
    "note", "finding", "hypothesis", "decision", "action", "update", "runbook", "inject"
]


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry an explicit UTC offset")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_aware_utc), PlainSerializer(iso, return_type=str)]
Text = Annotated[str, Field(max_length=100_000)]


class EventBase(BaseModel):
    # defer_build: building all 22 validators at import took longer than a warm `list`
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: int = Field(default=SCHEMA_VERSION, alias="schema")
    id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    incident: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    at: UtcTime
    recorded_at: UtcTime
    author: str = ""

    def sort_key(self) -> tuple[datetime, datetime, str]:
        return (self.at, self.recorded_at, self.id)

    def to_record(self) -> dict[str, Any]:
        """The dict written to the event file (and shown in --json): no None values,
        the common fields first so a file reads top-down."""
        record = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        ordered = {k: record.pop(k) for k in _FIELD_ORDER if k in record}
        ordered.update(record)
        return ordered


class Declared(EventBase):
    type: Literal["declared"] = "declared"
    human_id: str
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    severity: str
    status: str = "investigating"
    services: list[str] = []
    impact: Text = ""
    commander: str = ""
    responders: list[str] = []
    detected_at: UtcTime | None = None
    runbook: str = ""
    category: str = ""  # e.g. security (the rules with when = "security")
    customers_affected: Annotated[int, Field(ge=0)] | None = None
    # a practice incident (docs/drills.md): its kind, its scenario, and the speed its
    # injects were played at (scenario time = real time x speed)
    drill: bool = False
    drill_kind: str = ""
    scenario: str = ""
    drill_speed: Annotated[float, Field(gt=0)] | None = None


class Acknowledged(EventBase):
    type: Literal["acknowledged"] = "acknowledged"
    message: Text = ""


class StatusChanged(EventBase):
    type: Literal["status_changed"] = "status_changed"
    status: str
    previous: str = ""
    message: Text = ""


class SeverityChanged(EventBase):
    type: Literal["severity_changed"] = "severity_changed"
    severity: str
    previous: str = ""
    reason: Text = ""


class ImpactChanged(EventBase):
    type: Literal["impact_changed"] = "impact_changed"
    impact: Text
    message: Text = ""
    customers_affected: Annotated[int, Field(ge=0)] | None = None


class NoteAdded(EventBase):
    type: Literal["note_added"] = "note_added"
    text: Annotated[str, Field(min_length=1, max_length=100_000)]
    # a file without `kind` predates the kinds and was an update: keep reading it so (the
    # repo's format is a promise); every writer names the kind
    kind: NoteKind = "update"


class RoleAssigned(EventBase):
    type: Literal["role_assigned"] = "role_assigned"
    role: str
    user: str
    previous: str = ""


class Mitigated(EventBase):
    type: Literal["mitigated"] = "mitigated"
    message: Text
    status: str = "monitoring"  # the status it moved to; "" with --keep-status


class Resolved(EventBase):
    type: Literal["resolved"] = "resolved"
    root_cause: Text
    resolution: Text
    category: str = ""
    impact: Text = ""
    # `resolve --force`: the rule it was resolved against (monitoring not yet stable)
    forced: Text = ""


class Reopened(EventBase):
    type: Literal["reopened"] = "reopened"
    message: Text


class Renumbered(EventBase):
    """A human-ID collision found on sync: this incident takes a new number."""

    type: Literal["renumbered"] = "renumbered"
    human_id: str
    previous: str


class Escalated(EventBase):
    """Technical escalation to a higher level (L1 on-call, L2 lead, L3 staff/architect)."""

    type: Literal["escalated"] = "escalated"
    level: Annotated[int, Field(ge=1)]
    previous: int = 1
    name: str = ""  # the level's name in the config when it was recorded
    to: str = ""
    reason: Text


class Notified(EventBase):
    """A stakeholder (CTO, Engineering Manager, support, ...) was told about the incident."""

    type: Literal["notified"] = "notified"
    who: Annotated[str, Field(min_length=1, max_length=200)]
    message: Text = ""


class PirEntry(EventBase):
    """One fact for the post-incident review: a 5 Whys step, a factor, a lesson..."""

    type: Literal["pir_entry"] = "pir_entry"
    section: PirSection
    text: Annotated[str, Field(min_length=1, max_length=100_000)]


class PirScheduled(EventBase):
    """The review meeting is set for `review_at` (a later one reschedules it)."""

    type: Literal["pir_scheduled"] = "pir_scheduled"
    review_at: UtcTime


class PirCompleted(EventBase):
    """The review was held, at `at`."""

    type: Literal["pir_completed"] = "pir_completed"
    message: Text = ""


class ActionAdded(EventBase):
    """An action item. Its ID is this event's ULID; `number` is the short #A<n>."""

    type: Literal["action_added"] = "action_added"
    number: Annotated[int, Field(ge=1)]
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    owner: Annotated[str, Field(min_length=1)]
    due: date
    priority: str
    kind: ActionKind = "preventive"


class ActionUpdated(EventBase):
    """A status change or note on the action item whose action_added event is `action`."""

    type: Literal["action_updated"] = "action_updated"
    action: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    number: Annotated[int, Field(ge=1)]  # as shown when written, for people reading the file
    status: ActionStatus | Literal[""] = ""
    note: Text = ""


RUNBOOK_OUTCOMES: tuple[str, ...] = ("done", "skipped", "failed", "decided")


class CommandRun(BaseModel):
    """A runbook command the responder confirmed and ran; its output is the evidence file."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    command: Annotated[str, Field(min_length=1, max_length=100_000)]
    exit_code: int
    output_bytes: int = 0  # all the output the command wrote; the evidence keeps a capped part
    truncated: bool = False
    interrupted: bool = False  # stopped with Ctrl-C


class RunbookStepAnswered(EventBase):
    """One runbook step answered: done, skipped, failed, or (a decision) decided for `option`."""

    type: Literal["runbook_step"] = "runbook_step"
    runbook: Annotated[str, Field(min_length=1)]
    step: Annotated[str, Field(min_length=1)]
    outcome: Literal["done", "skipped", "failed", "decided"]
    option: str = ""  # the chosen option's key, for `decided`
    note: Text = ""
    runs: list[CommandRun] = []
    evidence: str = ""  # e.g. "evidence/<event ULID>.txt", relative to the incident folder


class CommunicationSent(EventBase):
    """A message went out (or was handed to a human to send): which template, where,
    and a digest of the exact text, so the review and the clocks know who was told when."""

    type: Literal["communication_sent"] = "communication_sent"
    template: str
    channel: str = ""
    stage: str = ""
    audience: str = ""  # "customers" (status page, email) or "internal" (Slack)
    via: str = ""  # "manual" (copied or pasted) or "slack-webhook"
    excerpt: Text = ""
    digest: str = ""  # "sha256:<hex>" of the text as sent


DELIVERY_OUTCOMES: tuple[str, ...] = ("delivered", "failed", "in doubt")


class Paged(EventBase):
    """A page (PagerDuty Events API v2) to one target: what was asked (trigger,
    acknowledge, resolve), with which dedup key, and what became of it. Only a
    delivered trigger meets the pager obligation."""

    type: Literal["paged"] = "paged"
    target: Annotated[str, Field(min_length=1, max_length=200)]
    action: Literal["trigger", "acknowledge", "resolve"] = "trigger"
    dedup_key: Annotated[str, Field(min_length=1, max_length=255)]
    outcome: Literal["delivered", "failed", "in doubt"]
    via: str = "pagerduty"
    detail: Text = ""  # the service's answer or the error
    message: Text = ""  # -m TEXT


class StatuspageLinked(EventBase):
    """The status-page incident a first post created: every later post updates it."""

    type: Literal["statuspage_linked"] = "statuspage_linked"
    page_id: str = ""
    statuspage_incident: Annotated[str, Field(min_length=1, max_length=200)]
    url: str = ""


class SlackPosted(EventBase):
    """A message the Slack bot posted (the Web API): where it is, so later updates go
    in its thread and the resolution can update it."""

    type: Literal["slack_posted"] = "slack_posted"
    channel: str = ""  # the name, "#incidents"
    channel_id: Annotated[str, Field(min_length=1, max_length=100)]
    ts: Annotated[str, Field(min_length=1, max_length=100)]
    thread_ts: str = ""
    kind: str = ""  # "declaration", "update", "war_room"
    message_event: str = ""  # the delivery's event id (the message metadata)


Ulid = Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]


class Corrected(EventBase):
    """A correction of an earlier event of this incident: its time, or one of its texts.
    The original file stays as it was; the fold shows the corrected view."""

    type: Literal["corrected"] = "corrected"
    target: Ulid
    target_type: str
    corrected_at: UtcTime | None = None
    field: str = ""  # the text field corrected, with `text`
    text: Text | None = None
    reason: Text = ""


class Retracted(EventBase):
    """An earlier event of this incident no longer counts: the fold skips it."""

    type: Literal["retracted"] = "retracted"
    target: Ulid
    target_type: str
    reason: Annotated[str, Field(min_length=1, max_length=100_000)]


EVENT_TYPES: tuple[str, ...] = (
    "declared",
    "acknowledged",
    "status_changed",
    "severity_changed",
    "impact_changed",
    "note_added",
    "role_assigned",
    "mitigated",
    "resolved",
    "reopened",
    "renumbered",
    "escalated",
    "notified",
    "pir_entry",
    "pir_scheduled",
    "pir_completed",
    "action_added",
    "action_updated",
    "runbook_step",
    "communication_sent",
    "paged",
    "statuspage_linked",
    "slack_posted",
    "corrected",
    "retracted",
)


@cache
def _model_of(kind: str) -> type[EventBase]:
    """The model for a `type` tag. Models build their validators on first use
    (`defer_build`): a command that reads two kinds of event builds two, not 22."""
    models: dict[str, type[EventBase]] = {
        m.model_fields["type"].default: m for m in EventBase.__subclasses__()
    }
    return models[kind]


def parse_event(record: dict[str, Any]) -> EventBase:
    """Validate one event record (a parsed TOML table). Raises EventError with a clear reason."""
    kind = record.get("type")
    if not isinstance(kind, str):
        raise EventError("missing 'type'")
    if kind not in EVENT_TYPES:
        raise EventError(f"unknown event type {kind!r}")
    version = record.get("schema", SCHEMA_VERSION)
    if type(version) is not int or version not in SCHEMA_VERSIONS:
        known = ", ".join(map(str, SCHEMA_VERSIONS))
        raise EventError(
            f"unknown schema version {version!r} (this incidentctl reads schema {known}; "
            "a newer incidentctl may have written it)"
        )
    from pydantic import ValidationError

    try:
        return _model_of(kind).model_validate(record)
    except ValidationError as exc:
        raise EventError(describe_validation_error(exc)) from None


def describe_validation_error(exc: Any) -> str:
    problems = []
    for err in exc.errors():
        # drop the union tag pydantic puts first for discriminated unions
        parts = [str(p) for p in err["loc"]]
        if parts and parts[0] in EVENT_TYPES:
            parts = parts[1:]
        loc = ".".join(parts) or "(event)"
        problems.append(f"{loc}: {err['msg']}")
    return "; ".join(problems)


class EventError(ValueError):
    pass
