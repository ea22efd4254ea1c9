"""What journey nodes are built from: ids, durations, times of day, filters and conditions."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

NODE_ID_PATTERN = r"^[a-z0-9_-]{1,16}$"
ATTRIBUTE_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# A built-in profile field (`birth_date`) or a custom attribute (`attributes.renewal_date`).
ATTRIBUTE_PATH_PATTERN = r"^([a-z][a-z0-9_]{0,63}|attributes\.[A-Za-z0-9_-]{1,64})$"
PROPERTY_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
TIME_OF_DAY_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
EVENT_TYPE_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_LIST = 1_000
MAX_DURATION_DAYS = 3_650

NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN)]
NextId: TypeAlias = NodeId | None  # None: contacts leaving this way end their journey here
SegmentId = Annotated[int, Field(ge=1)]
TemplateId = Annotated[int, Field(ge=1)]
EventType = Annotated[str, Field(pattern=EVENT_TYPE_PATTERN)]
AttributeKey = Annotated[str, Field(pattern=ATTRIBUTE_KEY_PATTERN)]
AttributePath = Annotated[str, Field(pattern=ATTRIBUTE_PATH_PATTERN)]
TimeOfDay = Annotated[str, Field(pattern=TIME_OF_DAY_PATTERN, examples=["09:00"])]
Label = Annotated[str, Field(min_length=1, max_length=80)]
Channel = Literal["email", "sms", "social"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FilterOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"]
Scalar: TypeAlias = str | int | float | bool | None

# Sentences for pattern mismatches, which pydantic would report as a regular expression.
PATTERN_MESSAGES = {
    NODE_ID_PATTERN: "Step ids are 1 to 16 characters: lowercase letters, digits, '_' or '-'.",
    ATTRIBUTE_KEY_PATTERN: "Attribute names are 1 to 64 letters, digits, '_' or '-'.",
    ATTRIBUTE_PATH_PATTERN: (
        "Name a profile field (such as birth_date) or a custom attribute as attributes.<name>."
    ),
    PROPERTY_PATTERN: "Event property names are 1 to 64 letters, digits, '_', '-' or '.'.",
    TIME_OF_DAY_PATTERN: "Give a time of day as HH:MM on a 24-hour clock, such as 09:00.",
    EVENT_TYPE_PATTERN: "Event types are 1 to 64 letters, digits, '_', '-', '.' or ':'.",
}


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone such as Europe/Paris or UTC") from None
    return name


TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_known_zone)]


def time_of_day(text: str) -> time:
    """Return the `time` for an `HH:MM` string of a definition."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class Model(BaseModel):
    """Base of every definition model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Position(Model):
    """Where the canvas draws a step; the engine ignores it."""

    x: Annotated[float, Field(ge=-1e6, le=1e6)] = 0
    y: Annotated[float, Field(ge=-1e6, le=1e6)] = 0


class Duration(Model):
    """A length of time in days, hours and minutes (added together; a day is 24 hours)."""

    days: Annotated[int, Field(ge=0, le=MAX_DURATION_DAYS)] = 0
    hours: Annotated[int, Field(ge=0, le=24 * MAX_DURATION_DAYS)] = 0
    minutes: Annotated[int, Field(ge=0, le=24 * 60 * MAX_DURATION_DAYS)] = 0

    @model_validator(mode="after")
    def _positive(self) -> Duration:
        if self.as_timedelta() <= timedelta(0):
            raise ValueError("A duration must be longer than zero: give days, hours or minutes")
        if self.as_timedelta() > timedelta(days=MAX_DURATION_DAYS):
            raise ValueError(f"A duration can be at most {MAX_DURATION_DAYS} days")
        return self

    def as_timedelta(self) -> timedelta:
        """Return the duration as a `timedelta`."""
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Comparison(Model):
    """An operator and a value; `exists` takes true (the default) or false and nothing else."""

    op: FilterOp
    value: Any = None

    @model_validator(mode="after")
    def _fits_op(self) -> Comparison:
        value = self.value
        if self.op == "exists":
            if value is not None and not isinstance(value, bool):
                raise ValueError("'exists' takes true or false, or no value (meaning true)")
        elif self.op == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
                raise ValueError(f"'in' takes a list of 1 to {MAX_LIST} values")
            if not all(isinstance(item, str | int | float | bool) for item in value):
                raise ValueError("'in' takes a list of text, numbers or true/false")
        elif self.op in ("gt", "gte", "lt", "lte"):
            if not (_is_number(value) or isinstance(value, str)):
                raise ValueError(f"{self.op!r} compares with a number (or an ISO date as text)")
        elif self.op == "contains":
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ValueError("'contains' looks for a piece of text or a list item")
        elif not isinstance(value, str | int | float | bool):
            raise ValueError(f"{self.op!r} needs a value: text, a number or true/false")
        return self


class PropertyFilter(Comparison):
    """A test on one property of an event: `{"property", "op", "value"}`."""

    property: Annotated[str, Field(pattern=PROPERTY_PATTERN)]


class AttributeCondition(Comparison):
    """A test on a profile field or a custom attribute (`attributes.<name>`)."""

    type: Literal["attribute"]
    attribute: AttributePath


class SegmentCondition(Model):
    """Membership (or, with `member: false`, non-membership) of a saved segment."""

    type: Literal["segment"]
    segment_id: SegmentId
    member: bool = True


class EngagementCondition(Model):
    """The contact opened or clicked the message an earlier send step sent."""

    type: Literal["engagement"]
    send_node: NodeId
    action: Literal["opened", "clicked"]


AnyCondition: TypeAlias = AttributeCondition | SegmentCondition | EngagementCondition
Condition = Annotated[AnyCondition, Field(discriminator="type")]
