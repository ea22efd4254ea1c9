"""Sum per-contact outcomes over a window, per group, in one SQL aggregate.

Every order of a group's contacts placed in the window counts, attributed or not: this is
what randomised comparisons (a campaign's holdout, the global holdout) rest on. The database
folds orders into one row per buying contact and joins them to the groups' contacts, so a
million members come back as two rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from campaign_engine.models import Order
from campaign_engine.reporting.scope import Query
from campaign_engine.reporting.stats import EMPTY, OutcomeSums


def window_outcomes(
    session: Session, groups: Query, start: datetime, end: datetime
) -> dict[str, OutcomeSums]:
    """Return each group's outcome sums over orders placed in [start, end).

    `groups` selects `contact_id` and `group` columns, one row per contact.
    """
    members = groups.subquery()
    orders = (
        select(
            Order.contact_id.label("contact_id"),
            func.sum(cast(Order.revenue, Float)).label("revenue"),
            func.sum(cast(Order.revenue - Order.cost, Float)).label("margin"),
        )
        .where(Order.ordered_at >= start, Order.ordered_at < end)
        .group_by(Order.contact_id)
        .subquery()
    )
    revenue = func.coalesce(orders.c.revenue, 0.0)
    margin = func.coalesce(orders.c.margin, 0.0)
    stmt = (
        select(
            members.c.group,
            func.count(),
            func.count(orders.c.contact_id),
            func.sum(revenue),
            func.sum(revenue * revenue),
            func.sum(margin),
            func.sum(margin * margin),
        )
        .select_from(members.outerjoin(orders, orders.c.contact_id == members.c.contact_id))
        .group_by(members.c.group)
    )
    return {
        str(group): OutcomeSums(
            int(n),
            int(buyers or 0),
            float(rev or 0),
            float(rev2 or 0),
            float(mar or 0),
            float(mar2 or 0),
        )
        for group, n, buyers, rev, rev2, mar, mar2 in session.execute(stmt)
    }


def outcome_of(outcomes: dict[str, OutcomeSums], group: str) -> OutcomeSums:
    """Return a group's sums, or empty sums when the group has no contacts."""
    return outcomes.get(group, EMPTY)
