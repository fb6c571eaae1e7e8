"""The weekly on-call rotation and its overrides. Pure: times are passed in.

Weeks start at `start_day start_time` local time in the rotation's zone, so a week
that contains a daylight-saving change is 167 or 169 hours long and every
handover stays at the same wall-clock time. `people[0]` is primary in the week
that starts on `first_week`; each later week goes to the next person, round the
list. The secondary is the previous week's primary (White Room: "Backup:
Previous week's on-call").

An override puts someone else in a role for [start, end). When overrides
overlap, the one recorded last wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from incidentctl.domain.events import UtcTime
from incidentctl.domain.policy import WEEKDAYS, OncallSettings

ROLES = ("primary", "secondary")
RECORD_TYPE = "oncall_override"
_WEEK = timedelta(weeks=1)


class RotationError(ValueError):
    pass


class OncallOverride(BaseModel):
    """One committed override record (oncall/overrides/<ts>-<ULID>.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["oncall_override"] = RECORD_TYPE
    id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    at: UtcTime  # when the override was agreed
    recorded_at: UtcTime
    author: str = ""
    user: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["primary", "secondary"] = "primary"
    start: UtcTime = Field(alias="from")
    end: UtcTime = Field(alias="to")
    reason: Annotated[str, Field(max_length=10_000)] = ""

    @model_validator(mode="after")
    def _check_span(self) -> OncallOverride:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end

    def to_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class RotationWeek:
    index: int  # weeks since first_week (negative before it)
    start: datetime  # UTC
    end: datetime  # UTC, the next week's start
    primary: str
    secondary: str  # "" when there is no secondary


@dataclass(frozen=True)
class OnCall:
    at: datetime
    week: RotationWeek
    primary: str
    secondary: str
    primary_override: OncallOverride | None = None
    secondary_override: OncallOverride | None = None


class Rotation:
    def __init__(self, settings: OncallSettings, zone: ZoneInfo) -> None:
        if not settings.people:
            raise RotationError("no one is in the on-call rotation")
        self.settings = settings
        self.zone = zone
        self._anchor = datetime.combine(settings.first_week, settings.start_time)  # naive local

    def week_index(self, at: datetime) -> int:
        # wall-clock arithmetic in the zone: weeks begin at the same local time
        local = at.astimezone(self.zone).replace(tzinfo=None)
        return (local - self._anchor) // _WEEK

    def week_start(self, index: int) -> datetime:
        local = self._anchor + index * _WEEK
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def primary_of(self, index: int) -> str:
        people = self.settings.people
        return people[index % len(people)]

    def secondary_of(self, index: int) -> str:
        if self.settings.secondary == "none" or len(self.settings.people) < 2:
            return ""
        return self.primary_of(index - 1)

    def week(self, index: int) -> RotationWeek:
        return RotationWeek(
            index,
            self.week_start(index),
            self.week_start(index + 1),
            self.primary_of(index),
            self.secondary_of(index),
        )

    def week_at(self, at: datetime) -> RotationWeek:
        return self.week(self.week_index(at))

    def handover_at(self, week: RotationWeek) -> datetime:
        """The handover briefing that ends `week`: the last handover day and time before
        the next week starts."""
        end_local = week.end.astimezone(self.zone)
        back = (end_local.weekday() - WEEKDAYS.index(self.settings.handover_day)) % 7
        day = end_local.date() - timedelta(days=back)
        moment = datetime.combine(day, self.settings.handover_time, tzinfo=self.zone)
        if moment >= end_local:
            moment = datetime.combine(
                day - timedelta(days=7), self.settings.handover_time, tzinfo=self.zone
            )
        return moment.astimezone(UTC)

    def on_call(self, at: datetime, overrides: list[OncallOverride]) -> OnCall:
        week = self.week_at(at)
        primary = effective_override(overrides, "primary", at)
        secondary = effective_override(overrides, "secondary", at)
        return OnCall(
            at=at,
            week=week,
            primary=primary.user if primary else week.primary,
            secondary=secondary.user if secondary else week.secondary,
            primary_override=primary,
            secondary_override=secondary,
        )


def effective_override(
    overrides: list[OncallOverride], role: str, at: datetime
) -> OncallOverride | None:
    """The override in force for `role` at `at`: the latest recorded among those covering it."""
    covering = [o for o in overrides if o.role == role and o.covers(at)]
    return max(covering, key=lambda o: (o.recorded_at, o.id), default=None)


def overrides_within(
    overrides: list[OncallOverride], start: datetime, end: datetime
) -> list[OncallOverride]:
    return sorted(
        (o for o in overrides if o.overlaps(start, end)), key=lambda o: (o.start, o.recorded_at)
    )
