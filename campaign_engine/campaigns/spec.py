"""The campaign format: plan, audience, variants with a template per channel, schedule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from campaign_engine.errors import InvalidInput
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import Campaign

CampaignType = Literal[
    "acquisition", "retention", "cross_sell", "up_sell", "win_back", "newsletter"
]
Channel = Literal["email", "sms", "social"]
WINNER_METRICS = ("accepted_rate", "open_rate", "click_rate", "conversion_rate", "revenue")
MAX_DAYS = 90


def _whole_days(value: Any) -> Any:
    """Refuse anything but a whole number of days from 1 to `MAX_DAYS`, saying so plainly."""
    number = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_DAYS:
        raise ValueError(f"give a whole number of days from 1 to {MAX_DAYS} (got {value!r})")
    return number


Days = Annotated[int, Field(ge=1, le=MAX_DAYS), BeforeValidator(_whole_days)]


def _model_default(column: str) -> int:
    """Return the default a campaign row gives `column`, so the format and the table agree."""
    return int(Campaign.__table__.c[column].default.arg)


class Strict(BaseModel):
    """A part of the format: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class MessageSpec(Strict):
    """The template a variant sends on one channel."""

    channel: Channel
    template_id: Annotated[int, Field(ge=1)]


class VariantSpec(Strict):
    """An A/B variant: its share of the treated contacts (percent) and its messages."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")] = "A"
    share: Annotated[float, Field(gt=0, le=100)] = 100
    messages: Annotated[list[MessageSpec], Field(min_length=1, max_length=3)]

    @field_validator("messages")
    @classmethod
    def _one_per_channel(cls, messages: list[MessageSpec]) -> list[MessageSpec]:
        channels = [m.channel for m in messages]
        if len(set(channels)) != len(channels):
            raise ValueError("give each channel one message per variant")
        return messages


class AudienceSpec(Strict):
    """Who: contacts in any of `segments` and in none of `exclude_segments`; a holdout share."""

    segments: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1, max_length=20)]
    exclude_segments: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=20)] = []
    holdout_percent: Annotated[float, Field(ge=0, le=90)] = 0


class AttributionSpec(Strict):
    """How many days after a click, an open or a delivery an order is credited to the campaign."""

    click_days: Days = _model_default("attribution_click_days")
    open_days: Days = _model_default("attribution_open_days")
    delivery_days: Days = _model_default("attribution_delivery_days")


class ABTestSpec(Strict):
    """Send the variants to `percent` of the treated audience, then the winner to the rest."""

    percent: Annotated[float, Field(gt=0, lt=100)] = 20
    hours: Annotated[int, Field(ge=1, le=24 * 14)] = 24
    metric: Literal[WINNER_METRICS] = "click_rate"  # type: ignore[valid-type]


class ScheduleSpec(Strict):
    """When: not yet, once at a time, recurring by cron, or at an hour in each contact's zone."""

    kind: Literal["none", "once", "cron", "local_time"] = "none"
    send_at: datetime | None = None
    cron: str | None = None
    timezone: str = "UTC"
    local_hour: Annotated[int, Field(ge=0, le=23)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> ScheduleSpec:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise ValueError("give send_at with a time zone offset, like 2026-12-01T09:00:00Z")
        if self.kind in ("once", "local_time") and self.send_at is None:
            raise ValueError(f"a {self.kind!r} schedule needs send_at")
        if self.kind == "local_time" and self.local_hour is None:
            raise ValueError("a 'local_time' schedule needs local_hour (0-23)")
        if self.kind == "cron":
            if not self.cron or not croniter.is_valid(self.cron):
                raise ValueError(f"{self.cron!r} is not a valid cron expression (5 fields)")
            if len(self.cron.split()) != 5:
                raise ValueError(
                    "give a cron expression of 5 fields: minute hour day month weekday"
                )
        return self


class TargetingSpec(Strict):
    """Uplift mode: contact only the audience members a model says the message changes.

    `rule` picks them by stored uplift score: `threshold` (score at least `threshold`),
    `top_share` (the `top_share` percent of the audience with the highest positive scores) or
    `net_value` (score x `value` - `cost` > 0, the expected profit of contacting).
    """

    mode: Literal["uplift"] = "uplift"
    model: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    rule: Literal["threshold", "top_share", "net_value"] = "net_value"
    threshold: Annotated[float, Field(ge=-1, le=1e6)] | None = None
    top_share: Annotated[float, Field(gt=0, le=100)] | None = None
    value: Annotated[float, Field(gt=0)] | None = None
    cost: Annotated[float, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _rule_complete(self) -> TargetingSpec:
        needs = {"threshold": "threshold", "top_share": "top_share", "net_value": "value"}
        field = needs[self.rule]
        if getattr(self, field) is None:
            raise ValueError(f"the {self.rule!r} rule needs {field}")
        return self


class CampaignSpec(Strict):
    """A whole campaign as saved from the wizard or the API."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None
    type: CampaignType = "newsletter"
    objective: Annotated[str, Field(max_length=2000)] = ""
    purpose: Literal["marketing", "transactional"] = "marketing"
    budget: Annotated[float, Field(ge=0)] | None = None
    fixed_cost: Annotated[float, Field(ge=0)] = 0
    audience: AudienceSpec
    variants: Annotated[list[VariantSpec], Field(min_length=1, max_length=5)]
    ab_test: ABTestSpec | None = None
    schedule: ScheduleSpec = ScheduleSpec()
    attribution: AttributionSpec = AttributionSpec()
    # Days after a send over which treated and held-out contacts' purchases are compared.
    outcome_days: Days = _model_default("outcome_days")
    targeting: TargetingSpec | None = None

    @model_validator(mode="after")
    def _variants_add_up(self) -> CampaignSpec:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("give every variant its own name")
        total = sum(v.share for v in self.variants)
        if abs(total - 100) > 1e-6:
            raise ValueError(f"variant shares must add up to 100; they add up to {total:g}")
        if self.ab_test is not None and len(self.variants) < 2:
            raise ValueError("an A/B test needs at least two variants")
        if set(self.audience.segments) & set(self.audience.exclude_segments):
            raise ValueError("a segment cannot be both included and excluded")
        return self


def parse_spec(data: Any) -> CampaignSpec:
    """Validate a campaign body or raise InvalidInput naming every bad field."""
    try:
        return CampaignSpec.model_validate(data)
    except ValidationError as error:
        raise InvalidInput("the campaign is invalid", problems_of(error)) from None
