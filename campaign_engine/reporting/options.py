"""Report options read from a query string; a bad value is refused with its parameter named.

Pages and API endpoints share these: `parse_query(Kind, request.args, now)` returns the
options or raises `InvalidQuery` (400) listing every bad parameter. Empty values count as
absent, so a filter form's blank choices mean "any". Unknown parameters are ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from campaign_engine.errors import InvalidQuery, Problem
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import ATTRIBUTION_MODELS
from campaign_engine.models.campaigns import STATUSES, TYPES
from campaign_engine.models.contacts import CHANNELS
from campaign_engine.reporting.comparison import ComparisonRow

DEFAULT_DAYS = 30  # a period left open ends with today and starts this many days earlier
SORTABLE = tuple(field.name for field in dataclasses.fields(ComparisonRow))


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"choose one of {', '.join(choices)}, not {value!r}")
        return value

    return check


def _moment(end_of_day: bool) -> Callable[[Any], Any]:
    """Parse an ISO date or time as UTC; a bare date is its midnight (`until`: the next one)."""

    def parse(raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        text = raw.strip()
        if len(text) > 19 and text[-6] == " ":  # an unencoded "+02:00" arrives as " 02:00"
            text = f"{text[:-6]}+{text[-5:]}"
        try:
            if len(text) == 10:
                day = date.fromisoformat(text) + timedelta(days=1 if end_of_day else 0)
                return datetime.combine(day, time(), UTC)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"give a date such as 2026-06-01 or an ISO 8601 time, not {raw!r}"
            ) from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    return parse


AttributionModel = Annotated[str, AfterValidator(_one_of(ATTRIBUTION_MODELS))]
Since = Annotated[datetime | None, BeforeValidator(_moment(end_of_day=False))]
Until = Annotated[datetime | None, BeforeValidator(_moment(end_of_day=True))]


class Query(BaseModel):
    """Options common to every report: the attribution model and machine events."""

    model_config = ConfigDict(extra="ignore")

    model: AttributionModel = "last_touch"
    include_machine: bool = False

    def _check_period(self, since: datetime | None, until: datetime | None) -> None:
        if since is not None and until is not None and since >= until:
            raise ValueError("the period must end after it starts: give an until after since")


class CampaignQuery(Query):
    """A campaign's report: `?model=&include_machine=`."""


class DailyQuery(Query):
    """A campaign's daily series, optionally within [since, until)."""

    since: Since = None
    until: Until = None

    @model_validator(mode="after")
    def _ordered(self) -> DailyQuery:
        self._check_period(self.since, self.until)
        return self


class ComparisonQuery(Query):
    """Campaigns side by side: filters, then an optional sort column and order."""

    status: Annotated[str, AfterValidator(_one_of(STATUSES))] | None = None
    type: Annotated[str, AfterValidator(_one_of(TYPES))] | None = None
    channel: Annotated[str, AfterValidator(_one_of(CHANNELS))] | None = None
    since: Since = None
    until: Until = None
    sort: Annotated[str, AfterValidator(_one_of(SORTABLE))] | None = None
    order: Literal["asc", "desc"] = "desc"

    @model_validator(mode="after")
    def _ordered(self) -> ComparisonQuery:
        self._check_period(self.since, self.until)
        return self

    @property
    def descending(self) -> bool:
        """Return whether the sort runs from the largest value down."""
        return self.order == "desc"


class PeriodQuery(Query):
    """A report over [since, until); left open, the last `DEFAULT_DAYS` days up to today."""

    since: Since = None
    until: Until = None

    @model_validator(mode="after")
    def _defaults(self, info: ValidationInfo) -> PeriodQuery:
        now: datetime = (info.context or {}).get("now") or datetime.now(UTC)
        if self.until is None:
            self.until = datetime.combine(now.date() + timedelta(days=1), time(), UTC)
        if self.since is None:
            self.since = self.until - timedelta(days=DEFAULT_DAYS)
        self._check_period(self.since, self.until)
        return self

    @property
    def period(self) -> tuple[datetime, datetime]:
        """Return (since, until), both set once parsed."""
        assert self.since is not None and self.until is not None
        return self.since, self.until


Q = TypeVar("Q", bound=Query)


def parse_query(kind: type[Q], args: Mapping[str, str], now: datetime | None = None) -> Q:
    """Return the options `args` give, or raise InvalidQuery naming every bad parameter."""
    data = {key: value for key, value in args.items() if value.strip()}
    try:
        return kind.model_validate(data, context={"now": now})
    except ValidationError as error:
        # A check across fields (the period's order) has no location: it is `until` that is off.
        problems = [p if p.location else Problem("until", p.message) for p in problems_of(error)]
        raise InvalidQuery("the query has invalid values", problems) from None
