"""The five benchmark segments: their definitions, and the same five in idiomatic pandas.

The pandas twins are the baseline: the tables a marketer would pull into a notebook, loaded
once, then each segment evaluated with vectorised filters, `isin`, `groupby` and merges.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.engine import Engine

NOW = datetime(2026, 11, 1, tzinfo=UTC)
Definition = dict[str, Any]
Ids = npt.NDArray[np.int64]

# Segment 1, list generator: leads from surveys and questionnaires, North America, 25-44.
S1_SOURCES = ["questionnaire", "survey"]
S1_COUNTRIES = ["US", "CA"]
S1_AGE = [25, 44]
S1_INCOME = 60_000
# Segment 2: keen on computers, or a repeat customer who bought a phone; mailable.
S2_VIEWS, S2_VIEW_DAYS, S2_VIEW_CATEGORY = 2, 90, "computers"
S2_PHONE_DAYS = 365
# Segment 3: bought category X at least twice in 90 days and never category Y.
S3_BOUGHT, S3_TIMES, S3_DAYS, S3_NEVER = "software", 2, 90, "computers"
# Segment 4: RFM champions with a CLV above a threshold.
S4_CLV = 500.0
# Segment 5: a 10% random holdout, excluding segment 2.
S5_PERCENT, S5_SALT, S5_EXCLUDED = 10, "bench-holdout", 2


def _all(*children: dict[str, Any]) -> Definition:
    return {"version": 1, "root": {"type": "all", "children": list(children)}}


DEFINITIONS: dict[int, Definition] = {
    1: _all(
        {"type": "attribute", "field": "source", "op": "in", "value": S1_SOURCES},
        {"type": "attribute", "field": "country", "op": "in", "value": S1_COUNTRIES},
        {"type": "attribute", "field": "age", "op": "between", "value": S1_AGE},
        {"type": "attribute", "field": "household_income", "op": "gte", "value": S1_INCOME},
    ),
    2: _all(
        {
            "type": "any",
            "children": [
                {
                    "type": "event",
                    "event_type": "product_view",
                    "where": [{"property": "category", "op": "eq", "value": S2_VIEW_CATEGORY}],
                    "at_least": S2_VIEWS,
                    "window": {"last_days": S2_VIEW_DAYS},
                },
                {
                    "type": "all",
                    "children": [
                        {
                            "type": "attribute",
                            "field": "lifecycle_stage",
                            "op": "eq",
                            "value": "repeat_customer",
                        },
                        {
                            "type": "purchase",
                            "category": "phones",
                            "window": {"last_days": S2_PHONE_DAYS},
                        },
                    ],
                },
            ],
        },
        {
            "type": "not",
            "child": {
                "type": "any",
                "children": [
                    {"type": "consent", "channel": "email", "state": "opted_out"},
                    {"type": "suppressed", "channel": "email"},
                ],
            },
        },
    ),
    3: _all(
        {
            "type": "purchase",
            "category": S3_BOUGHT,
            "at_least": S3_TIMES,
            "window": {"last_days": S3_DAYS},
        },
        {"type": "purchase", "category": S3_NEVER, "at_most": 0},
    ),
    4: _all(
        {"type": "trait", "field": "rfm_group", "op": "eq", "value": "champions"},
        {"type": "trait", "field": "clv", "op": "gte", "value": S4_CLV},
    ),
    5: _all(
        {"type": "random_bucket", "percent": S5_PERCENT, "salt": S5_SALT},
        {"type": "segment", "segment_id": S5_EXCLUDED, "exclude": True},
    ),
}


@dataclass(frozen=True)
class Frames:
    """The tables the baseline needs; times as epoch seconds."""

    contacts: pd.DataFrame
    consents: pd.DataFrame
    suppressions: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame
    events: pd.DataFrame
    traits: pd.DataFrame


# Low-cardinality text as pandas categoricals, as an analyst would load it.
CATEGORICAL = {
    "contacts": ["country", "source", "lifecycle_stage"],
    "consents": ["channel", "purpose", "state"],
    "products": ["category"],
    "events": ["type", "category"],
    "traits": ["rfm_group"],
}


def _epoch(column: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT) AS {column}"
    return f"CAST(strftime('%s', {column}) AS INTEGER) AS {column}"


def _queries(dialect: str) -> dict[str, str]:
    category = (
        "properties ->> 'category'"
        if dialect == "postgresql"
        else "CASE json_type(properties, '$.category') WHEN 'text' "
        "THEN json_extract(properties, '$.category') END"
    )
    return {
        "contacts": "SELECT id, birth_date, country, source, household_income, lifecycle_stage,"
        " email FROM contacts",
        "consents": "SELECT contact_id, channel, purpose, state FROM consents",
        "suppressions": "SELECT kind, value FROM suppressions",
        "products": "SELECT id, category FROM products",
        "orders": f"SELECT id, contact_id, {_epoch('ordered_at', dialect)} FROM orders",
        "lines": "SELECT order_id, product_id FROM order_lines",
        "events": f"SELECT contact_id, type, {_epoch('occurred_at', dialect)},"
        f" {category} AS category FROM events WHERE contact_id IS NOT NULL",
        "traits": "SELECT contact_id, rfm_group, clv FROM contact_traits",
    }


def load_frames(engine: Engine) -> Frames:
    """Read the tables the baseline needs (PostgreSQL: COPY to CSV, SQLite: a plain cursor)."""
    dialect = engine.dialect.name
    frames = {}
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        for name, sql in _queries(dialect).items():
            if dialect == "postgresql":
                buffer = io.BytesIO()
                with raw.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)") as copy:  # type: ignore[union-attr]
                    for block in copy:
                        buffer.write(block)
                buffer.seek(0)
                frame = pd.read_csv(buffer)
            else:
                cursor = raw.cursor()  # type: ignore[union-attr]
                cursor.execute(sql)
                columns = [d[0] for d in cursor.description]
                frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
            frames[name] = frame
    for name, columns in CATEGORICAL.items():
        frames[name] = frames[name].astype(dict.fromkeys(columns, "category"))
    contacts = frames["contacts"]
    contacts["birth_date"] = pd.to_datetime(contacts["birth_date"])
    return Frames(**frames)


def _ids(values: Any) -> Ids:
    return np.unique(np.asarray(values, dtype=np.int64))


def _since(days: int) -> int:
    return int((NOW - timedelta(days=days)).timestamp())


def _orders_with(f: Frames, category: str) -> pd.Series:
    """Return the ids of orders holding at least one line of `category`."""
    products = f.products.loc[f.products["category"] == category, "id"]
    return f.lines.loc[f.lines["product_id"].isin(products), "order_id"].drop_duplicates()


def segment_1(f: Frames) -> Ids:
    """List generator: source, country, age band and income."""
    c = f.contacts
    birth = c["birth_date"].dt
    before_birthday = (birth.month > NOW.month) | (
        (birth.month == NOW.month) & (birth.day > NOW.day)
    )
    age = NOW.year - birth.year - before_birthday.astype(int)
    keep = (
        c["source"].isin(S1_SOURCES)
        & c["country"].isin(S1_COUNTRIES)
        & age.between(*S1_AGE)
        & (c["household_income"] >= S1_INCOME)
    )
    return _ids(c.loc[keep.fillna(False), "id"])


def segment_2(f: Frames) -> Ids:
    """Computer browsers or repeat phone buyers, not opted out of email nor suppressed."""
    c, e, o = f.contacts, f.events, f.orders
    views = e[
        (e["type"] == "product_view")
        & (e["category"] == S2_VIEW_CATEGORY)
        & (e["occurred_at"] >= _since(S2_VIEW_DAYS))
        & (e["occurred_at"] <= NOW.timestamp())
    ]
    per_contact = views.groupby("contact_id").size()
    browsers = per_contact.index[per_contact >= S2_VIEWS]
    recent = o[(o["ordered_at"] >= _since(S2_PHONE_DAYS)) & (o["ordered_at"] <= NOW.timestamp())]
    phone_buyers = recent.loc[recent["id"].isin(_orders_with(f, "phones")), "contact_id"]
    repeat = c["lifecycle_stage"] == "repeat_customer"
    keen = c["id"].isin(browsers) | (repeat & c["id"].isin(phone_buyers))

    s = f.consents
    opted_out = s.loc[
        (s["channel"] == "email") & (s["purpose"] == "marketing") & (s["state"] == "opted_out"),
        "contact_id",
    ]
    blocked = f.suppressions
    parts = c["email"].str.partition("@")  # local part, "@", domain
    suppressed = c["email"].isin(blocked.loc[blocked["kind"] == "email", "value"]) | (
        (parts[1] == "@") & parts[2].isin(blocked.loc[blocked["kind"] == "domain", "value"])
    )
    keep = keen & ~(c["id"].isin(opted_out) | suppressed.fillna(False))
    return _ids(c.loc[keep.fillna(False), "id"])


def segment_3(f: Frames) -> Ids:
    """Bought S3_BOUGHT at least S3_TIMES times in S3_DAYS days and never S3_NEVER."""
    o = f.orders
    recent = o[(o["ordered_at"] >= _since(S3_DAYS)) & (o["ordered_at"] <= NOW.timestamp())]
    bought = recent[recent["id"].isin(_orders_with(f, S3_BOUGHT))]
    per_contact = bought.groupby("contact_id")["id"].nunique()
    often = per_contact.index[per_contact >= S3_TIMES]
    never = o.loc[o["id"].isin(_orders_with(f, S3_NEVER)), "contact_id"].unique()
    return _ids(np.setdiff1d(often.to_numpy(), never))


def segment_4(f: Frames) -> Ids:
    """RFM champions with a CLV of at least S4_CLV."""
    t = f.traits
    return _ids(t.loc[(t["rfm_group"] == "champions") & (t["clv"] >= S4_CLV), "contact_id"])


def buckets(ids: Ids, salt: str) -> Ids:
    """Return each id's random bucket (0-9,999): docs/segments.md's hash, vectorised."""
    p, q = 2_147_483_647, 2_147_483_629  # every product below stays under 2^63
    s = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:4], "big") & 0x7FFFFFFF
    h = ((ids % p) * 48_271 + s) % p
    h = (h * h + 1_013_904_223) % p
    h = (h * 69_621 + 12_345) % q
    h = (h * h + 743_852_824) % q
    result: Ids = h * 10_000 // q
    return result


def segment_5(f: Frames) -> Ids:
    """A S5_PERCENT% random bucket, excluding segment S5_EXCLUDED."""
    ids = f.contacts["id"].to_numpy(dtype=np.int64)
    sampled = ids[buckets(ids, S5_SALT) < round(S5_PERCENT * 100)]
    return _ids(np.setdiff1d(sampled, BASELINES[S5_EXCLUDED](f)))


BASELINES = {1: segment_1, 2: segment_2, 3: segment_3, 4: segment_4, 5: segment_5}
