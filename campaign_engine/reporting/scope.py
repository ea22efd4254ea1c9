"""What a report reads and how it groups: campaigns, a contact set, a period, a breakdown."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, NotFound, Problem
from campaign_engine.models import ATTRIBUTION_MODELS, Campaign, CampaignRun
from campaign_engine.reporting.sql import as_date

Grouping = Literal["total", "variant", "channel", "day", "campaign"]
Key = Any  # a variant name, channel, date, campaign id, or None for the total
# Any select, whatever its columns.
Query: TypeAlias = "Select[*tuple[Any, ...]]"


def check_model(model: str) -> None:
    """Raise InvalidInput unless `model` names an attribution model."""
    if model not in ATTRIBUTION_MODELS:
        raise InvalidInput(
            "unknown attribution model",
            [Problem("model", f"choose one of {', '.join(ATTRIBUTION_MODELS)}")],
        )


@dataclass(frozen=True)
class Scope:
    """Which messages, events and orders a measure reads, and what it groups them by.

    Outside a per-day breakdown the period selects messages by when they were sent and orders
    by when they were placed; per day, everything is counted on the day it happened.
    """

    campaign_ids: tuple[int, ...] | None = None  # None: every campaign
    group_by: Grouping = "total"
    contacts: Select[Any] | None = None  # only these contact ids (a segment's members)
    since: datetime | None = None
    until: datetime | None = None
    model: str = "last_touch"
    include_machine: bool = False

    def __post_init__(self) -> None:
        check_model(self.model)

    def filter(
        self,
        stmt: Query,
        campaign: Any,
        contact: Any | None,
        moment: Any | None,
    ) -> Query:
        """Add this scope's campaign, contact and period conditions to `stmt`."""
        if self.campaign_ids is not None:
            stmt = stmt.where(campaign.in_(self.campaign_ids or (-1,)))
        if self.contacts is not None and contact is not None:
            stmt = stmt.where(contact.in_(self.contacts.scalar_subquery()))
        if moment is not None and self.since is not None:
            stmt = stmt.where(moment >= self.since)
        if moment is not None and self.until is not None:
            stmt = stmt.where(moment < self.until)
        return stmt

    def key(
        self, *, variant: Any, channel: Any, campaign: Any, day: Any
    ) -> ColumnElement[Any] | None:
        """Return the grouping expression among the source's columns (None for the total).

        `day` is already a day expression: `utc_day(timestamp)` or a date column.
        """
        match self.group_by:
            case "total":
                return None
            case "variant":
                return variant  # type: ignore[no-any-return]
            case "channel":
                return channel  # type: ignore[no-any-return]
            case "campaign":
                return campaign  # type: ignore[no-any-return]
            case "day":
                return day  # type: ignore[no-any-return]


def grouped(
    session: Session, stmt: Query, key: ColumnElement[Any] | None, day: bool
) -> dict[Key, tuple[Any, ...]]:
    """Run `stmt` grouped by `key` (prepended to its columns); return values by key."""
    if key is None:
        row = session.execute(stmt).one()
        return {None: tuple(row)}
    keyed = stmt.add_columns(key.label("report_key")).group_by(key)
    rows: dict[Key, tuple[Any, ...]] = {}
    for row in session.execute(keyed):
        *values, name = row
        rows[as_date(name) if day else name] = tuple(values)
    return rows


def merge(
    parts: Iterable[dict[Key, tuple[Any, ...]]], combine: Callable[[Any, Any], Any]
) -> dict[Key, tuple[Any, ...]]:
    """Merge per-key tuples from several queries, combining values position by position."""
    merged: dict[Key, tuple[Any, ...]] = {}
    for part in parts:
        for key, values in part.items():
            if key in merged:
                merged[key] = tuple(map(combine, merged[key], values))
            else:
                merged[key] = values
    return merged


@dataclass(frozen=True)
class CampaignFacts:
    """What reports need to know about a campaign, read once."""

    id: int
    code: str
    name: str
    channel: str
    type: str
    status: str
    fixed_cost: float
    start: datetime | None  # the first send: `started_at`, else the first run's due time
    outcome_days: int


def first_send() -> ColumnElement[datetime]:
    """Return SQL for a campaign's first send: `started_at`, else its first run's due time."""
    first_run = (
        select(func.min(CampaignRun.due_at))
        .where(CampaignRun.campaign_id == Campaign.id)
        .scalar_subquery()
    )
    return func.coalesce(Campaign.started_at, first_run)


def campaign_facts(session: Session, campaign_ids: Sequence[int]) -> list[CampaignFacts]:
    """Return the facts of the given campaigns in the order given; NotFound names any missing."""
    rows = session.execute(
        select(
            Campaign.id,
            Campaign.code,
            Campaign.name,
            Campaign.channel,
            Campaign.type,
            Campaign.status,
            Campaign.cost,
            first_send(),
            Campaign.outcome_days,
        ).where(Campaign.id.in_(list(campaign_ids) or [-1]))
    ).all()
    found = {
        row[0]: CampaignFacts(
            int(row[0]),
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            float(row[6] or 0),
            _aware(row[7]),
            int(row[8]),
        )
        for row in rows
    }
    missing = [i for i in campaign_ids if i not in found]
    if missing:
        raise NotFound(f"campaign {missing[0]} does not exist")
    return [found[i] for i in campaign_ids]


def _aware(value: Any) -> datetime | None:
    # COALESCE loses the column type, so SQLite hands back text and PostgreSQL a datetime.
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
