"""The SQL behind `ml_data`: per-contact features as of a moment, and outcomes in a window.

One statement per (population, moment): the population is any select of `contact_id` (a
campaign's members, a list of contacts), and every aggregate is joined to it, so only its
contacts' orders and events are read. Nothing at or after `as_of` enters a feature.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from sqlalchemy import Float, Select, case, cast, func, select
from sqlalchemy.orm import Session

from campaign_engine.models import ConsentEvent, Contact, Event, Order

DAY = timedelta(days=1)
FREQUENCY_DAYS = 365  # frequency and monetary look back this far
BEHAVIOUR_DAYS = 90  # event counts look back this far

CATEGORICAL = ("gender", "region", "country", "education_level", "email_consent")
NUMERIC = (
    "age",
    "household_income",
    "tenure_days",
    "orders_before",
    "recency_days",
    "frequency_365",
    "monetary_365",
    "avg_order_value",
    "events_90",
    "page_views_90",
    "product_views_90",
    "add_to_cart_90",
)
Query: TypeAlias = "Select[*tuple[Any, ...]]"
FEATURE_COLUMNS = (*CATEGORICAL[:4], "ordered_before", *NUMERIC, CATEGORICAL[4])


def feature_frame(
    session: Session,
    people: Query,
    as_of: datetime,
    outcome_end: datetime | None = None,
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Return `contact_id`, the feature columns and (with `outcome_end`) outcome columns.

    `people` selects `contact_id` (labelled so) and the columns named in `extra`, one row per
    contact. Outcomes are `converted`, `revenue` and `margin` over orders in [as_of,
    outcome_end), attributed or not, as in `reporting.outcomes`.
    """
    who = people.subquery()
    history, behaviour, consent = _history(who, as_of), _behaviour(who, as_of), _consent(who, as_of)
    columns: list[Any] = [
        who.c.contact_id,
        *(who.c[name] for name in extra),
        Contact.birth_date,
        Contact.created_at,
        *(getattr(Contact, name) for name in CATEGORICAL[:4]),
        Contact.household_income,
        history.c.orders_before,
        history.c.last_order_at,
        history.c.revenue_before,
        history.c.frequency_365,
        history.c.monetary_365,
        behaviour.c.events_90,
        behaviour.c.page_views_90,
        behaviour.c.product_views_90,
        behaviour.c.add_to_cart_90,
        consent.c.email_consent,
    ]
    stmt = (
        select(*columns)
        .select_from(who)
        .join(Contact, Contact.id == who.c.contact_id)
        .outerjoin(history, history.c.contact_id == who.c.contact_id)
        .outerjoin(behaviour, behaviour.c.contact_id == who.c.contact_id)
        .outerjoin(consent, consent.c.contact_id == who.c.contact_id)
    )
    if outcome_end is not None:
        outcome = _outcome(who, as_of, outcome_end)
        stmt = stmt.outerjoin(outcome, outcome.c.contact_id == who.c.contact_id).add_columns(
            outcome.c.buyer, outcome.c.revenue, outcome.c.margin
        )
    stmt = stmt.order_by(who.c.contact_id)
    raw = pd.DataFrame(session.execute(stmt).all(), columns=[c.key for c in stmt.selected_columns])
    return _finish(raw, as_of, outcome_end is not None, extra)


def _history(who: Any, as_of: datetime) -> Any:
    since = as_of - FREQUENCY_DAYS * DAY
    recent = Order.ordered_at >= since
    revenue = cast(Order.revenue, Float)
    return (
        select(
            Order.contact_id.label("contact_id"),
            func.count().label("orders_before"),
            func.max(Order.ordered_at).label("last_order_at"),
            func.sum(revenue).label("revenue_before"),
            func.sum(case((recent, 1), else_=0)).label("frequency_365"),
            func.sum(case((recent, revenue), else_=0.0)).label("monetary_365"),
        )
        .join(who, who.c.contact_id == Order.contact_id)
        .where(Order.ordered_at < as_of)
        .group_by(Order.contact_id)
        .subquery()
    )


def _behaviour(who: Any, as_of: datetime) -> Any:
    def of_type(kind: str) -> Any:
        return func.sum(case((Event.type == kind, 1), else_=0))

    return (
        select(
            Event.contact_id.label("contact_id"),
            func.count().label("events_90"),
            of_type("page_view").label("page_views_90"),
            of_type("product_view").label("product_views_90"),
            of_type("add_to_cart").label("add_to_cart_90"),
        )
        .join(who, who.c.contact_id == Event.contact_id)
        .where(Event.occurred_at >= as_of - BEHAVIOUR_DAYS * DAY, Event.occurred_at < as_of)
        .group_by(Event.contact_id)
        .subquery()
    )


def _consent(who: Any, as_of: datetime) -> Any:
    """The latest recorded email marketing consent before `as_of`, from the history."""
    latest = func.row_number().over(
        partition_by=ConsentEvent.contact_id,
        order_by=(ConsentEvent.occurred_at.desc(), ConsentEvent.id.desc()),
    )
    ranked = (
        select(
            ConsentEvent.contact_id.label("contact_id"),
            ConsentEvent.state.label("email_consent"),
            latest.label("rank"),
        )
        .join(who, who.c.contact_id == ConsentEvent.contact_id)
        .where(
            ConsentEvent.channel == "email",
            ConsentEvent.purpose == "marketing",
            ConsentEvent.occurred_at < as_of,
        )
        .subquery()
    )
    # One row per contact already; the GROUP BY makes SQLite materialise the subquery once
    # instead of rescanning it per member (quadratic without planner statistics).
    return (
        select(ranked.c.contact_id, ranked.c.email_consent)
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.contact_id, ranked.c.email_consent)
        .subquery()
    )


def _outcome(who: Any, start: datetime, end: datetime) -> Any:
    revenue = cast(Order.revenue, Float)
    return (
        select(
            Order.contact_id.label("contact_id"),
            func.count().label("buyer"),
            func.sum(revenue).label("revenue"),
            func.sum(cast(Order.revenue - Order.cost, Float)).label("margin"),
        )
        .join(who, who.c.contact_id == Order.contact_id)
        .where(Order.ordered_at >= start, Order.ordered_at < end)
        .group_by(Order.contact_id)
        .subquery()
    )


def _days_before(moments: pd.Series, as_of: datetime) -> pd.Series:
    """Whole days from each moment to `as_of` (NaN where missing)."""
    stamps = pd.to_datetime(moments, utc=True)
    return ((pd.Timestamp(as_of) - stamps) / pd.Timedelta(days=1)).apply(np.floor).astype(float)


def _age(birth: pd.Series, on: date) -> pd.Series:
    """Completed years of age on `on` (NaN where the birth date is unknown)."""
    return pd.Series(
        [
            np.nan
            if b is None or pd.isna(b)
            else on.year - b.year - ((on.month, on.day) < (b.month, b.day))
            for b in birth
        ],
        index=birth.index,
        dtype=float,
    )


def _finish(
    raw: pd.DataFrame, as_of: datetime, outcomes: bool, extra: tuple[str, ...]
) -> pd.DataFrame:
    counts = ["orders_before", "events_90", "page_views_90", "product_views_90", "add_to_cart_90"]
    for name in (*counts, "frequency_365"):
        raw[name] = raw[name].fillna(0).astype("int64")
    raw["monetary_365"] = raw["monetary_365"].fillna(0.0).astype(float)
    out = pd.DataFrame({"contact_id": raw["contact_id"].astype("int64")})
    for name in extra:
        out[name] = raw[name]
    for name in CATEGORICAL[:4]:
        out[name] = raw[name].astype(object).where(raw[name].notna(), None)
    out["ordered_before"] = raw["orders_before"] > 0
    out["age"] = _age(raw["birth_date"], as_of.date())
    out["household_income"] = raw["household_income"].astype(float)
    out["tenure_days"] = _days_before(raw["created_at"], as_of)
    out["orders_before"] = raw["orders_before"]
    out["recency_days"] = _days_before(raw["last_order_at"], as_of)
    out["frequency_365"] = raw["frequency_365"]
    out["monetary_365"] = raw["monetary_365"]
    revenue_before = raw["revenue_before"].astype(float)
    out["avg_order_value"] = (
        revenue_before / raw["orders_before"].where(raw["orders_before"] > 0)
    ).astype(float)
    for name in counts[1:]:
        out[name] = raw[name]
    out["email_consent"] = (
        raw["email_consent"].astype(object).where(raw["email_consent"].notna(), "unknown")
    )
    if outcomes:
        out["converted"] = (raw["buyer"].fillna(0) > 0).astype("int64")
        out["revenue"] = raw["revenue"].fillna(0.0).astype(float)
        out["margin"] = raw["margin"].fillna(0.0).astype(float)
    return out
