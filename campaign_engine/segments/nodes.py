"""What segment nodes share: the strict base, day counts, windows, moments and counts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_DAYS = 36_500  # a hundred years: longer windows are mistakes
CalendarDate: TypeAlias = date  # `Moment.date` shadows the type name inside the class

Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]


class Node(BaseModel):
    """Base of every node: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(Node):
    """A time window: the last N days, or from `since` to `until` (dates, inclusive)."""

    last_days: Days | None = None
    since: date | None = None
    until: date | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        if self.last_days is not None and (self.since or self.until):
            raise ValueError("give either 'last_days' or 'since'/'until', not both")
        if self.last_days is None and not (self.since or self.until):
            raise ValueError("give 'last_days', or 'since' and/or 'until'")
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"the window starts {self.since}, after it ends {self.until}")
        return self


class Moment(Node):
    """A point in time: a date, or a number of days before now."""

    date: CalendarDate | None = None
    days_ago: Annotated[int, Field(ge=0, le=MAX_DAYS)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Moment:
        if (self.date is None) == (self.days_ago is None):
            raise ValueError("give exactly one of 'date' or 'days_ago'")
        return self


class Counted(Node):
    """At least / at most N times; with neither, at least once."""

    at_least: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    at_most: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    window: Window | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Counted:
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(f"at_least {self.at_least} is more than at_most {self.at_most}")
        return self
