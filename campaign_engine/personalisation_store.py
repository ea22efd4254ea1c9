"""What personalisation reads of a contact, in one round trip: consent, purchases, offers.

One statement, keyed by the contact's external id, returns the contact and its consent to
personalisation (web / personalisation), the products of its most recent orders, and the
cross-sell and up-sell campaigns sent to it in the last days (what those campaigns offer is
shown on the site too). It runs on a plain autocommit connection: no transaction to begin or
end, so a storefront request costs one query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import BigInteger, Connection, String, bindparam, column, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from campaign_engine.models.types import UTCDateTime

CONSENT_CHANNEL, CONSENT_PURPOSE = "web", "personalisation"
HISTORY_ORDERS = 200  # a contact's most recent orders read for its purchase history
MAX_OFFERS = 3  # campaign offers shown at most, the most recently sent first
# The storefront reads on an autocommit Connection; the admin preview passes its Session.
Reader = Connection | Session
# A contact's uplift scores keyed by product SKU or recommendation kind (see docs).
ScoreLookup = Callable[[Reader, int], Mapping[str, float] | None]

CONTACT_SQL = (
    text(
        "WITH t AS (SELECT id FROM contacts WHERE external_id = :external_id)"
        " SELECT 'c' AS tag, t.id AS id, CAST(NULL AS BIGINT) AS n, s.state AS s1,"
        " CAST(NULL AS VARCHAR) AS s2, CAST(NULL AS VARCHAR) AS s3, CAST(NULL AS VARCHAR) AS s4,"
        " CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS at"
        " FROM t LEFT JOIN consents s ON s.contact_id = t.id"
        " AND s.channel = :channel AND s.purpose = :purpose"
        " UNION ALL"
        " SELECT 'h', ol.product_id, count(*), NULL, NULL, NULL, NULL, NULL FROM order_lines ol"
        " WHERE ol.order_id IN (SELECT o.id FROM orders o WHERE o.contact_id = (SELECT id FROM t)"
        " ORDER BY o.ordered_at DESC LIMIT :orders) GROUP BY ol.product_id"
        " UNION ALL"
        " SELECT * FROM (SELECT 'o', CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), k.code, k.name,"
        " k.type, d.channel, d.sent_at FROM deliveries d JOIN campaigns k ON k.id = d.campaign_id"
        " WHERE d.contact_id = (SELECT id FROM t) AND d.planned_at >= :since"
        " AND d.status = 'accepted' AND k.type IN ('cross_sell', 'up_sell')"
        " AND k.status <> 'cancelled' ORDER BY d.sent_at DESC, d.id DESC LIMIT :offers) AS offers"
    )
    .bindparams(bindparam("since", type_=UTCDateTime()))
    .columns(
        column("tag", String),
        column("id", BigInteger),
        column("n", BigInteger),
        column("s1", String),
        column("s2", String),
        column("s3", String),
        column("s4", String),
        column("at", UTCDateTime()),
    )
)


@dataclass(frozen=True)
class CampaignOffer:
    """A cross-sell or up-sell campaign recently sent to the contact."""

    code: str
    name: str
    type: str
    channel: str
    sent_at: datetime | None


@dataclass(frozen=True)
class Profile:
    """What personalisation may use of a consenting contact."""

    history: dict[int, int] = field(default_factory=dict)
    campaigns: tuple[CampaignOffer, ...] = ()
    uplift: Mapping[str, float] | None = None


@dataclass(frozen=True)
class ContactData:
    """A contact found by external id: its id, consent, and profile (use only with consent)."""

    id: int
    consented: bool
    profile: Profile


def read_contact(
    db: Reader, external_id: str, now: datetime, campaign_days: int
) -> ContactData | None:
    """Return the contact with `external_id`, its consent and profile; None if there is none."""
    params = {
        "external_id": external_id,
        "channel": CONSENT_CHANNEL,
        "purpose": CONSENT_PURPOSE,
        "orders": HISTORY_ORDERS,
        "since": now - timedelta(days=campaign_days),
        "offers": MAX_OFFERS,
    }
    rows = _rows(db, params)
    contact = next((row for row in rows if row[0] == "c"), None)
    if contact is None:
        return None
    history = {int(row[1]): int(row[2]) for row in rows if row[0] == "h"}
    offers = sorted(
        (row for row in rows if row[0] == "o"),
        key=lambda row: row[7] or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    campaigns = tuple(CampaignOffer(r[3], r[4], r[5], r[6], r[7]) for r in offers)
    return ContactData(int(contact[1]), contact[3] == "opted_in", Profile(history, campaigns))


def _rows(db: Reader, params: dict[str, Any]) -> list[Sequence[Any]]:
    """Run the statement: straight on psycopg for a PostgreSQL connection, else through Core.

    The driver path skips SQLAlchemy's per-execution work (a third of a storefront request's
    database time) and lets psycopg keep the statement prepared. A dropped connection is
    invalidated and reported as SQLAlchemy would, so the caller's retry gets a fresh one.
    """
    if not isinstance(db, Connection) or db.dialect.name != "postgresql":
        return [tuple(row) for row in db.execute(CONTACT_SQL, params)]
    driver = db.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        return list(driver.execute(_postgresql_sql(), params, prepare=True).fetchall())
    except psycopg.OperationalError as error:
        db.invalidate(error)
        raise OperationalError(
            _postgresql_sql(), params, error, connection_invalidated=True
        ) from error


@cache
def _postgresql_sql() -> str:
    return str(CONTACT_SQL.compile(dialect=psycopg_dialect()))  # type: ignore[no-untyped-call]
