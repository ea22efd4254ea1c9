"""The segment compiler agrees with the plain-Python reference on random data and definitions."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import Base
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Consent,
    Contact,
    ContactTraits,
    Delivery,
    Event,
    MessageTemplate,
    Order,
    OrderLine,
    Product,
    Suppression,
    UpliftModel,
    UpliftModelVersion,
    UpliftScore,
)
from campaign_engine.segments.compiler import Context, compile_definition
from campaign_engine.segments.definition import SegmentDefinition, parse_definition
from tests.segment_reference import Dataset, evaluate

# A few fixed clocks: a common year just before 28 February (29 February anniversaries), a leap
# year at midnight, and the last second of a year (anniversaries wrap into January).
NOWS = (
    datetime(2025, 2, 20, 15, 30, 5, tzinfo=UTC),
    datetime(2024, 2, 27, 0, 0, 0, tzinfo=UTC),
    datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
)
WORDS = (
    "alpha",
    "Alpha",
    "ALPHA",
    "beta",
    "al%pha",
    "a_b",
    "axb",
    "it's",
    'say "hi"',
    "x;y",
    "back\\slash",
    "--",
    "",
    "%",
    "_",
    "O'Neil",
)
HOSTILE = ("%", "_", "'", '"', ";", "\\", "--")
LEAP_DAYS = (date(2000, 2, 29), date(1996, 2, 29), date(1999, 2, 28))
DOMAINS = ("example.com", "Example.com", "mail.example.com", "ex_ample.com", "x%y.org")
LOCALS = ("ann", "Ann", "b_b", "c%d", "o'neil")
PHONES = ("+441111", "+15550100", "555'01", "+1%")
COUNTRIES = ("GB", "gb", "US", "%", "_", "'")
GENDERS = ("female", "male", "non_binary", "unknown")
STAGES = ("prospect", "customer", "repeat_customer", "lapsed")
RFM_GROUPS = ("champions", "loyal", "new", "at_risk", "lost")
CHURN = ("low", "medium", "high")
INCOMES = (0, 25000, 50000, 80000, 120000)
NUMBERS = (-1, 0, 0.5, 1, 1.0, 2, 2.5, 3, 7, 10, 100)
MONEY = (0, 0.25, 5, 10, 12.5, 20.25, 99.75, 100, 250.5)
BOUNDARY_DAYS = (1, 7, 30, 365)  # instants exactly this many days ago are common in the data
ANCHOR_DAYS = (0, 1, 2, 30)  # days whose midnights both data and conditions name often
DAYS = (*BOUNDARY_DAYS, 2, 90, 366, 400, 36500)
KEYS = ("plan", "score", "vip", "a-b", "x_1")
PROPERTIES = ("path", "ms", "mobile", "a-b")
EVENT_TYPES = ("page_view", "Page_View", "signup", "click")
SKUS = ("SKU-1", "sku-1", "S%1", "S_2", "it's")
CATEGORIES = ("books", "Books", "out%door", "home_goods", "it's")
CHANNELS = ("email", "sms", "social", "web")
PURPOSES = ("marketing", "news")
STATES = ("opted_in", "opted_out", "unknown")
CAMPAIGN_CODES = ("SPRING", "spring", "S%1", "A_B", "it's")
MESSAGE_CHANNELS = ("email", "sms", "social")
MODEL_NAMES = ("winback", "Winback", "it's", "a%b")
UPLIFT_SCORES = (-0.5, -0.02, 0, 0.01, 0.02, 0.05, 0.1, 0.25, 1.5)
PERCENTILES = (0, 0.1, 0.2, 0.25, 0.5, 0.9, 1)
DELIVERY_STATES = ("accepted", "accepted", "accepted", "failed", "queued", "cancelled")
STRING_FIELDS = [
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "region",
    "country",
    "postal_code",
    "time_zone",
    "locale",
    "education_level",
    "source",
]
TEXT_COLUMNS = [
    "first_name",
    "last_name",
    "city",
    "region",
    "postal_code",
    "time_zone",
    "locale",
    "education_level",
    "source",
]
NUMBER_TRAITS = [
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "orders_total",
    "revenue_total",
    "r_score",
    "f_score",
    "m_score",
    "clv",
    "p_alive",
    "expected_purchases",
]


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


# -- data ---------------------------------------------------------------------------------------
# The store comes from a seeded random generator: drawn value by value it would use up
# Hypothesis's budget and leave little for the definitions, which shrink to the minimal example.


class Maker:
    """Make data values from a seeded generator, often on boundaries a condition can name."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now

    def pick(self, options: Sequence[Any]) -> Any:
        return self.rng.choice(options)

    def maybe(self, make: Callable[[], Any], none_share: float = 0.25) -> Any:
        return None if self.rng.random() < none_share else make()

    def moment(self) -> datetime:
        """An instant over the last ~2 years, or just ahead (clock skew)."""
        now, rng = self.now, self.rng
        midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
        return self.pick(
            (
                lambda: now,
                lambda: now - timedelta(days=self.pick(BOUNDARY_DAYS)),
                lambda: now - timedelta(days=self.pick(BOUNDARY_DAYS)),
                lambda: midnight - timedelta(days=rng.randint(-1, 800)),
                lambda: now - timedelta(seconds=rng.randint(0, 800 * 86400)),
                lambda: now - timedelta(seconds=rng.randint(0, 60 * 86400)),
                lambda: now + timedelta(seconds=rng.randint(1, 5 * 86400)),
                lambda: midnight - timedelta(days=self.pick(ANCHOR_DAYS)),
                lambda: midnight - timedelta(days=self.pick(ANCHOR_DAYS), seconds=1),
            )
        )()

    def day(self) -> date:
        """A date near today, or near today's month and day in a past year."""
        today, rng = self.now.date(), self.rng
        return self.pick(
            (
                lambda: today - timedelta(days=rng.randint(-400, 800)),
                lambda: years_back(
                    today + timedelta(days=rng.randint(-3, 400)), rng.randint(1, 60)
                ),
                lambda: self.pick(LEAP_DAYS),
                lambda: today - timedelta(days=self.pick(ANCHOR_DAYS)),
            )
        )()

    def email(self) -> str:
        return f"{self.pick(LOCALS)}@{self.pick(DOMAINS)}"

    def json_value(self) -> Any:
        """A custom attribute or event property: text, number, true/false, null or a list."""
        return self.pick(
            (
                lambda: self.pick((*WORDS, "7", "1")),
                lambda: self.pick(NUMBERS),
                lambda: self.pick((True, False)),
                lambda: None,
                lambda: ["alpha", 1],
            )
        )()

    def document(self, keys: Sequence[str], least: int) -> dict[str, Any]:
        chosen = self.rng.sample(keys, self.rng.randint(least, len(keys)))
        return {key: self.json_value() for key in chosen}


def years_back(day: date, years: int) -> date:
    if (day.month, day.day) == (2, 29):
        day = day - timedelta(days=1)
    return day.replace(year=day.year - years)


def make_dataset(seed: int, now: datetime) -> Dataset:
    """Make a small store: contacts, products, orders, events, consents, suppressions, traits."""
    make = Maker(seed, now)
    rng = make.rng
    ids: set[int] = set()
    size = rng.randint(5, 25)
    while len(ids) < size:
        ids.add(
            make.pick(
                (
                    lambda: rng.randint(1, 5000),
                    lambda: rng.randint(2**31 - 20, 2**31 + 20),
                    lambda: rng.randint(1, 2**40),
                )
            )()
        )
    data = Dataset()
    for n, contact_id in enumerate(sorted(ids)):
        contact: dict[str, Any] = {
            "id": contact_id,
            "external_id": make.pick((f"E{n}", f"E{n}%", f"e{n}'")),
            "email": make.maybe(make.email),
            "phone": make.maybe(lambda: make.pick(PHONES)),
            "birth_date": make.maybe(make.day),
            "gender": make.maybe(lambda: make.pick((*GENDERS, "Female"))),
            "country": make.maybe(lambda: make.pick(COUNTRIES)),
            "household_income": make.maybe(lambda: make.pick(INCOMES)),
            "lifecycle_stage": make.pick(STAGES),
            "attributes": make.document(KEYS, 0),
            "created_at": make.moment(),
            "updated_at": now,
        }
        for column in TEXT_COLUMNS:
            contact[column] = make.maybe(lambda: make.pick(WORDS))
        data.contacts.append(contact)
    contact_ids = [c["id"] for c in data.contacts]

    skus = rng.sample(SKUS, rng.randint(2, 4))
    categories = rng.sample(CATEGORIES, rng.randint(2, 3))
    for n, sku in enumerate(skus, start=1):
        data.products.append(
            {
                "id": n,
                "sku": sku,
                "name": sku,
                "category": make.pick(categories),
                "price": make.pick(MONEY),
                "active": True,
                "attributes": {},
            }
        )

    line_id = 0
    for order_id in range(1, rng.randint(len(ids) // 2, 2 * len(ids)) + 1):
        lines = []
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            product = make.pick(data.products)
            line_id += 1
            lines.append(
                {
                    "id": line_id,
                    "order_id": order_id,
                    "line_number": len(lines) + 1,
                    "product_id": product["id"],
                    "quantity": rng.randint(1, 3),
                    "unit_price": make.pick((product["price"], product["price"], *MONEY[:3])),
                    "unit_cost": 0,
                }
            )
        line_total = sum(line["quantity"] * line["unit_price"] for line in lines)
        data.orders.append(
            {
                "id": order_id,
                "external_id": f"O{order_id}",
                "contact_id": make.pick(contact_ids),
                "ordered_at": make.moment(),
                "currency": "USD",
                "revenue": make.pick((line_total, line_total, *MONEY)),
                "cost": 0,
                "lines": lines,
            }
        )

    owners = [make.pick(contact_ids) for _ in range(rng.randint(len(ids), 3 * len(ids)))]
    for n, contact_id in enumerate(owners + [None] * rng.randint(0, 3), start=1):
        data.events.append(
            {
                "id": n,
                "dedupe_key": f"k{n}",
                "contact_id": contact_id,
                "anonymous_id": "anon" if contact_id is None else None,
                "type": make.pick(("page_view", *EVENT_TYPES)),
                "properties": make.document(PROPERTIES, 1),
                "occurred_at": make.moment(),
                "source": "custom",
            }
        )

    pairs = [(c, ch, p) for c in contact_ids for ch in CHANNELS for p in PURPOSES]
    for n, (contact_id, channel, purpose) in enumerate(
        rng.sample(pairs, rng.randint(0, min(len(pairs), 2 * len(ids)))), start=1
    ):
        data.consents.append(
            {
                "id": n,
                "contact_id": contact_id,
                "channel": channel,
                "purpose": purpose,
                "state": make.pick(STATES),
                "updated_at": now,
            }
        )

    known = [c["email"] for c in data.contacts if c["email"]] or ["ann@example.com"]
    suppressions = {
        make.pick(
            (
                lambda: ("email", make.pick(known)),
                lambda: ("email", make.email()),
                lambda: ("domain", make.pick(DOMAINS)),
                lambda: ("phone", make.pick(PHONES)),
            )
        )()
        for _ in range(rng.randint(0, 5))
    }
    for n, (kind, value) in enumerate(sorted(suppressions), start=1):
        data.suppressions.append(
            {"id": n, "kind": kind, "value": value, "reason": "test", "created_at": now}
        )

    for contact_id in rng.sample(contact_ids, rng.randint(0, len(ids))):
        first, last = sorted((make.moment(), make.moment()))
        r, f, m = (rng.randint(1, 5) for _ in range(3))
        data.traits.append(
            {
                "contact_id": contact_id,
                "as_of": now.date(),
                "computed_at": now,
                "first_order_at": first,
                "last_order_at": last,
                "orders_total": rng.randint(1, 10),
                "revenue_total": make.pick(MONEY),
                "recency_days": make.pick((0, 1, 7, 30, 365)),
                "frequency": rng.randint(0, 10),
                "monetary": make.pick(MONEY),
                "avg_order_value": make.pick(MONEY),
                "r_score": r,
                "f_score": f,
                "m_score": m,
                "rfm_cell": f"{r}{f}{m}",
                "rfm_group": make.pick(RFM_GROUPS),
                "expected_purchases": make.maybe(lambda: make.pick(NUMBERS)),
                "p_alive": make.maybe(lambda: make.pick((0, 0.25, 0.5, 0.75, 1))),
                "clv": make.maybe(lambda: make.pick(MONEY)),
                "churn_risk": make.maybe(lambda: make.pick(CHURN)),
            }
        )
    add_deliveries(make, data)
    add_uplift_scores(make, data)
    return data


def add_deliveries(make: Maker, data: Dataset) -> None:
    """Add up to three campaigns and deliveries: sent or not, opened and clicked or not.

    Send times often repeat (the same boundary instants), so "the latest N" meets ties.
    """
    rng = make.rng
    codes = rng.sample(CAMPAIGN_CODES, rng.randint(1, 3))
    busy = [make.moment() for _ in range(3)]  # sends at one of these often tie
    for n, code in enumerate(codes, start=1):
        data.campaigns.append(
            {"id": n, "code": code, "name": code, "channel": make.pick(MESSAGE_CHANNELS)}
        )
    contact_ids = [c["id"] for c in data.contacts]
    for n in range(1, rng.randint(0, 4 * len(contact_ids)) + 1):
        status = make.pick(DELIVERY_STATES)
        sent = make.pick((make.moment(), *busy))
        sent = sent if status == "accepted" or rng.random() < 0.1 else None
        opened = make.maybe(make.moment, none_share=0.5)
        clicked = make.maybe(make.moment, none_share=0.7)
        campaign = make.pick(data.campaigns)
        data.deliveries.append(
            {
                "id": n,
                "key": f"k{n}",
                "run_id": campaign["id"],  # one run per campaign, with the campaign's id
                "campaign_id": campaign["id"],
                "contact_id": make.pick(contact_ids),
                "channel": make.pick(MESSAGE_CHANNELS),
                "variant": "A",
                "template_id": 1,
                "address": "x",
                "status": status,
                "planned_at": make.now,
                "not_before": make.now,
                "sent_at": sent,
                "opened_at": opened,
                "clicked_at": clicked,
            }
        )


def add_uplift_scores(make: Maker, data: Dataset) -> None:
    """Add up to three uplift models, each scoring some contacts; some not yet ranked."""
    rng = make.rng
    contact_ids = [c["id"] for c in data.contacts]
    for model_id, name in enumerate(rng.sample(MODEL_NAMES, rng.randint(0, 3)), start=1):
        data.uplift_models.append({"id": model_id, "name": name})
        for contact_id in rng.sample(contact_ids, rng.randint(0, len(contact_ids))):
            data.uplift_scores.append(
                {
                    "model_id": model_id,
                    "contact_id": contact_id,
                    "version_id": model_id,  # one version per model, with the model's id
                    "score": make.pick((*UPLIFT_SCORES, round(rng.uniform(-0.3, 0.6), 6))),
                    "percentile": make.maybe(lambda: make.pick((*PERCENTILES, rng.random()))),
                    "scored_at": make.now,
                }
            )


# -- values in definitions ----------------------------------------------------------------------


def moments(now: datetime) -> st.SearchStrategy[datetime]:
    """Instants a condition can name: now, whole days back, midnights, any second."""
    midnight = datetime.combine(now.date(), time(0), tzinfo=UTC)
    return st.one_of(
        st.just(now),
        st.sampled_from(BOUNDARY_DAYS).map(lambda d: now - timedelta(days=d)),
        st.integers(-1, 800).map(lambda d: midnight - timedelta(days=d)),
        st.integers(0, 800 * 86400).map(lambda s: now - timedelta(seconds=s)),
        st.sampled_from(ANCHOR_DAYS).map(lambda d: midnight - timedelta(days=d)),
    )


def days_around(now: datetime) -> st.SearchStrategy[date]:
    """Dates near today or near today's month and day in past years (anniversaries)."""
    today = now.date()
    return st.one_of(
        st.integers(-400, 800).map(lambda d: today - timedelta(days=d)),
        st.tuples(st.integers(-3, 400), st.integers(1, 60)).map(
            lambda t: years_back(today + timedelta(days=t[0]), t[1])
        ),
        st.sampled_from(LEAP_DAYS),
        st.sampled_from(ANCHOR_DAYS).map(lambda d: today - timedelta(days=d)),
    )


def emails() -> st.SearchStrategy[str]:
    return st.builds(lambda a, b: f"{a}@{b}", st.sampled_from(LOCALS), st.sampled_from(DOMAINS))


# -- definitions --------------------------------------------------------------------------------


def fragments(op: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Part of a value the data holds, often in another case, for contains and the like."""
    cut = st.tuples(values, st.integers(0, 6), st.integers(1, 8), st.booleans()).map(
        lambda t: _cut(op, *t)
    )
    return st.one_of(cut, cut, st.sampled_from(HOSTILE), values)


def _cut(op: str, word: Any, start: int, length: int, swap: bool) -> Any:
    if not isinstance(word, str):
        return word
    if op == "starts_with":
        part = word[:length]
    elif op == "ends_with":
        part = word[-length:]
    else:
        part = word[start : start + length]
    part = part or word
    return part.swapcase() if swap else part


def text_values(field: str) -> st.SearchStrategy[str]:
    if field == "email":
        return emails()
    if field == "phone":
        return st.sampled_from(PHONES)
    if field == "country":
        return st.sampled_from(COUNTRIES)
    if field == "external_id":
        return st.sampled_from(("E0", "E1", "E2%", "e3'"))
    return st.sampled_from(WORDS)


def date_values(now: datetime, with_time: bool) -> st.SearchStrategy[str]:
    days = days_around(now).map(date.isoformat)
    if not with_time:
        return days
    return st.one_of(
        days,
        moments(now).map(lambda m: m.isoformat()),
        moments(now).map(lambda m: m.replace(tzinfo=None).isoformat()),
        moments(now).map(lambda m: m.astimezone(_PLUS_TWO).isoformat()),
    )


_PLUS_TWO = timezone(timedelta(hours=2))


@st.composite
def comparisons(draw: st.DrawFn, kind: str, values: st.SearchStrategy[Any]) -> dict[str, Any]:
    """Draw an op and its value(s) for a field of `kind`."""
    ops = {
        "string": ("eq", "ne", "in", "not_in", *(("contains", "starts_with", "ends_with") * 2)),
        "enum": ("eq", "ne", "in", "not_in"),
        "number": ("eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "not_in"),
        "date": ("eq", "ne", "lt", "lte", "gt", "gte", "between"),
        "boolean": ("eq", "ne"),
    }[kind]
    op = draw(st.sampled_from(("is_set", "is_not_set", *ops)))
    if op in ("is_set", "is_not_set"):
        return {"op": op}
    if op in ("contains", "starts_with", "ends_with"):
        return {"op": op, "value": draw(fragments(op, values))}
    if op in ("in", "not_in"):
        return {"op": op, "value": draw(st.lists(values, min_size=1, max_size=3))}
    if op == "between":
        pair = [draw(values), draw(values)]
        return {"op": op, "value": sorted(pair, key=_order_key)}
    return {"op": op, "value": draw(values)}


def _order_key(value: Any) -> Any:
    if isinstance(value, str):  # an ISO date or date-time: order as instants
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return value


@st.composite
def time_comparisons(draw: st.DrawFn, now: datetime, with_time: bool) -> dict[str, Any]:
    """Draw an op and value for a date (or datetime) field, relative ops included."""
    op = draw(st.sampled_from(("absolute", "within_last", "more_than_ago", "in_next")))
    if op == "in_next":
        return {"op": op, "days": draw(st.sampled_from((1, 2, 7, 8, 30, 300, 366)))}
    if op != "absolute":
        return {"op": op, "days": draw(day_counts())}
    if with_time:
        kind = draw(st.booleans())  # both ends of `between` are dates, or both date-times
        values = date_values(now, with_time=kind)
        if kind:
            values = values.filter(lambda v: "T" in v)
        return draw(comparisons("date", values))
    return draw(comparisons("date", date_values(now, with_time=False)))


@st.composite
def attribute_conditions(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    which = draw(st.sampled_from(("string", "string", "enum", "number", "date", "date", "custom")))
    if which == "string":
        name = draw(st.sampled_from(STRING_FIELDS))
        test = draw(comparisons("string", text_values(name)))
    elif which == "enum":
        name = draw(st.sampled_from(("gender", "lifecycle_stage")))
        test = draw(comparisons("enum", st.sampled_from(GENDERS if name == "gender" else STAGES)))
    elif which == "number":
        name = draw(st.sampled_from(("household_income", "age")))
        pool = (*INCOMES, 50000.5) if name == "household_income" else (0, 17, 18, 24, 25, 30.5)
        test = draw(comparisons("number", st.one_of(st.sampled_from(pool), st.integers(0, 99))))
    elif which == "date":
        name = draw(st.sampled_from(("birth_date", "created_at")))
        test = draw(time_comparisons(now, with_time=name == "created_at"))
    else:
        name = "attributes." + draw(st.sampled_from((*KEYS, "missing")))
        kind = draw(st.sampled_from(("string", "number", "boolean")))
        values = {
            "string": st.sampled_from((*WORDS, "7", "1")),
            "number": st.sampled_from(NUMBERS),
            "boolean": st.booleans(),
        }[kind]
        test = draw(comparisons(kind, values))
    return {"type": "attribute", "field": name, **test}


@st.composite
def trait_conditions(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    name = draw(st.sampled_from((*NUMBER_TRAITS, "first_order_at", "last_order_at", "rfm_cell")))
    if name in ("first_order_at", "last_order_at"):
        test = draw(time_comparisons(now, with_time=True))
    elif name == "rfm_cell":
        test = draw(comparisons("string", st.sampled_from(("111", "345", "555", "5"))))
    else:
        test = draw(comparisons("number", st.sampled_from(MONEY + NUMBERS)))
    enum = draw(st.sampled_from(("rfm_group", "churn_risk", None)))
    if enum is not None and draw(st.booleans()):
        name = enum
        test = draw(
            comparisons("enum", st.sampled_from(RFM_GROUPS if enum == "rfm_group" else CHURN))
        )
    return {"type": "trait", "field": name, **test}


def day_counts() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(BOUNDARY_DAYS), st.sampled_from(DAYS))


def windows(now: datetime) -> st.SearchStrategy[dict[str, Any] | None]:
    day = days_around(now).map(date.isoformat)
    return st.one_of(
        st.none(),
        day_counts().map(lambda d: {"last_days": d}),
        day.map(lambda d: {"since": d}),
        day.map(lambda d: {"until": d}),
        st.tuples(day, day).map(lambda p: {"since": min(p), "until": max(p)}),
    )


def whens(now: datetime) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        days_around(now).map(lambda d: {"date": d.isoformat()}),
        st.one_of(st.just(0), day_counts()).map(lambda d: {"days_ago": d}),
    )


@st.composite
def counts(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    """Draw at_least / at_most / window, any of them left out."""
    found: dict[str, Any] = {}
    at_least = draw(optional(st.integers(1, 3)))
    at_most = draw(optional(st.integers(at_least or 0, 3)))
    window = draw(windows(now))
    for key, value in (("at_least", at_least), ("at_most", at_most), ("window", window)):
        if value is not None:
            found[key] = value
    return found


@st.composite
def purchase_conditions(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "purchase", **draw(counts(now))}
    target = draw(st.sampled_from(("product", "category", None)))
    if target == "product":
        node["product"] = draw(st.sampled_from(SKUS))
    elif target == "category":
        node["category"] = draw(st.sampled_from(CATEGORIES))
    spend = draw(optional(st.sampled_from((*MONEY[1:], 30.5, 500))))
    if spend is not None:
        node["min_spend"] = spend
    return node


@st.composite
def property_filters(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from((*PROPERTIES, "missing")))
    kind = draw(st.sampled_from(("string", "number", "boolean")))
    values = {
        "string": st.sampled_from((*WORDS, "7")),
        "number": st.sampled_from(NUMBERS),
        "boolean": st.booleans(),
    }[kind]
    ops = {
        "string": ("eq", "ne", "in", "not_in", "contains"),
        "number": ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in"),
        "boolean": ("eq", "ne", "in", "not_in"),
    }[kind]
    op = draw(st.sampled_from(("is_set", "is_not_set", *ops)))
    if op in ("is_set", "is_not_set"):
        return {"property": name, "op": op}
    if op in ("in", "not_in"):
        return {"property": name, "op": op, "value": draw(st.lists(values, min_size=1, max_size=3))}
    if op == "contains":
        return {"property": name, "op": op, "value": draw(fragments(op, values))}
    return {"property": name, "op": op, "value": draw(values)}


@st.composite
def event_conditions(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "event", "event_type": draw(st.sampled_from(EVENT_TYPES))}
    node.update(draw(counts(now)))
    where = draw(st.one_of(st.just([]), st.lists(property_filters(), min_size=1, max_size=2)))
    if where:
        node["where"] = where
    return node


@st.composite
def event_time_conditions(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "event_time",
        "event_type": draw(st.sampled_from(EVENT_TYPES)),
        "which": draw(st.sampled_from(("first", "last"))),
        "op": draw(st.sampled_from(("before", "after"))),
        "when": draw(whens(now)),
    }
    where = draw(st.one_of(st.just([]), st.lists(property_filters(), min_size=1, max_size=2)))
    if where:
        node["where"] = where
    return node


@st.composite
def message_conditions(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "message",
        "action": draw(st.sampled_from(("received", "opened", "clicked"))),
        **draw(counts(now)),
    }
    campaign = draw(st.sampled_from(("id", "code", None)))
    if campaign == "id":
        node["campaign_id"] = draw(st.integers(1, 4))
    elif campaign == "code":
        node["campaign_code"] = draw(st.sampled_from(CAMPAIGN_CODES))
    channel = draw(optional(st.sampled_from(MESSAGE_CHANNELS)))
    if channel is not None:
        node["channel"] = channel
    return node


@st.composite
def unopened_conditions(draw: st.DrawFn) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "unopened", "last": draw(st.integers(1, 4))}
    channel = draw(optional(st.sampled_from(MESSAGE_CHANNELS)))
    if channel is not None:
        node["channel"] = channel
    return node


@st.composite
def ordered(draw: st.DrawFn, values: st.SearchStrategy[float]) -> dict[str, Any]:
    """Draw an ordering test on a number: lt, lte, gt, gte or between [low, high]."""
    op = draw(st.sampled_from(("lt", "lte", "gt", "gte", "between")))
    if op == "between":
        return {"op": op, "value": sorted((draw(values), draw(values)))}
    return {"op": op, "value": draw(values)}


@st.composite
def uplift_conditions(draw: st.DrawFn) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "uplift",
        "model": draw(st.sampled_from((*MODEL_NAMES, "missing"))),
    }
    form = draw(st.sampled_from(("scored", "unscored", "score", "percentile", "both")))
    if form == "unscored":
        node["scored"] = False
    elif form == "scored" and draw(st.booleans()):
        node["scored"] = True
    if form in ("score", "both"):
        node["score"] = draw(ordered(st.sampled_from(UPLIFT_SCORES)))
    if form in ("percentile", "both"):
        node["percentile"] = draw(ordered(st.sampled_from(PERCENTILES)))
    return node


def conditions(now: datetime, segment_ids: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    options = [
        # Attributes have the most operators and kinds: draw them more often.
        *[attribute_conditions(now)] * 4,
        trait_conditions(now),
        *[purchase_conditions(now)] * 2,
        st.builds(
            lambda op, when: {"type": "last_purchase", "op": op, "when": when},
            st.sampled_from(("before", "after")),
            whens(now),
        ),
        *[event_conditions(now)] * 2,
        event_time_conditions(now),
        *[message_conditions(now)] * 2,
        unopened_conditions(),
        uplift_conditions(),
        st.builds(
            lambda channel, purpose, state: {
                "type": "consent",
                "channel": channel,
                "state": state,
                **({"purpose": purpose} if purpose else {}),
            },
            st.sampled_from(CHANNELS),
            optional(st.sampled_from(PURPOSES)),
            st.sampled_from(STATES),
        ),
        st.builds(
            lambda channel: {"type": "suppressed", **({"channel": channel} if channel else {})},
            optional(st.sampled_from(("email", "sms", "any"))),
        ),
        st.builds(
            lambda percent, salt: {
                "type": "random_bucket",
                "percent": percent,
                **({"salt": salt} if salt is not None else {}),
            },
            st.one_of(
                st.sampled_from((0.01, 10, 33.33, 50, 99.99, 100)),
                st.integers(1, 10000).map(lambda k: k / 100),
            ),
            optional(st.sampled_from(("", "spring", "it's; --", "%_\\"))),
        ),
    ]
    if segment_ids:
        options.append(
            st.builds(
                lambda segment_id, exclude: {
                    "type": "segment",
                    "segment_id": segment_id,
                    **({"exclude": exclude} if exclude is not None else {}),
                },
                st.sampled_from(segment_ids),
                optional(st.booleans()),
            )
        )
    options.append(attribute_conditions(now))  # the last choice is drawn most often
    return st.one_of(options)


@st.composite
def nodes(
    draw: st.DrawFn, now: datetime, depth: int, segment_ids: tuple[int, ...] = ()
) -> dict[str, Any]:
    """Draw a node: a condition, or an all / any / not group nesting up to `depth` levels."""
    # Hypothesis favours the ends of a choice: keep conditions there, groups in the middle.
    kind = "leaf" if depth == 0 else draw(st.sampled_from(("leaf", "all", "any", "not", "leaf")))
    if kind == "leaf":
        return draw(conditions(now, segment_ids))
    inner = nodes(now, depth - 1, segment_ids)
    if kind == "not":
        return {"type": "not", "child": draw(inner)}
    return {"type": kind, "children": draw(st.lists(inner, min_size=1, max_size=3))}


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[datetime, Dataset, dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """Draw a clock, a store, up to two saved segments and a few definitions to compare."""
    now = draw(st.sampled_from(NOWS))
    data = make_dataset(draw(st.integers(0, 2**32 - 1)), now)
    segments: dict[int, dict[str, Any]] = {}
    for segment_id in range(1, draw(st.integers(0, 2)) + 1):
        earlier = tuple(segments)
        segments[segment_id] = {"version": 1, "root": draw(nodes(now, 2, earlier))}
    definitions = draw(
        st.lists(
            st.builds(lambda root: {"version": 1, "root": root}, nodes(now, 3, tuple(segments))),
            min_size=1,
            max_size=4,
        )
    )
    # Single conditions are cheap to check and each decides its own result.
    leaves = draw(st.lists(conditions(now, tuple(segments)), min_size=10, max_size=30))
    definitions += [{"version": 1, "root": leaf} for leaf in leaves]
    return now, data, segments, definitions


# -- running ------------------------------------------------------------------------------------


def store(engine: Engine, data: Dataset) -> None:
    """Empty every table and write `data`."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        orders = [{k: v for k, v in o.items() if k != "lines"} for o in data.orders]
        lines = [line for order in data.orders for line in order["lines"]]
        # What deliveries refer to besides their campaign: a template and a run.
        conn.execute(insert(MessageTemplate), [{"id": 1, "name": "t", "text": "t"}])
        runs = [{"id": c["id"], "campaign_id": c["id"], "due_at": NOWS[0]} for c in data.campaigns]
        # What scores refer to besides their model: one version per model, with its id.
        models = [{**m, "training": {}} for m in data.uplift_models]
        versions = [
            {
                "id": m["id"],
                "model_id": m["id"],
                "version": 1,
                "status": "promoted",
                "learner": "t",
                "outcome": "conversion",
                "n_rows": 1,
                "artifact": b"",
                "artifact_sha256": "0" * 64,
            }
            for m in data.uplift_models
        ]
        for table, rows in (
            (Contact.__table__, data.contacts),
            (Product.__table__, data.products),
            (Order.__table__, orders),
            (OrderLine.__table__, lines),
            (Event.__table__, data.events),
            (Consent.__table__, data.consents),
            (Suppression.__table__, data.suppressions),
            (ContactTraits.__table__, data.traits),
            (Campaign.__table__, data.campaigns),
            (CampaignRun.__table__, runs),
            (Delivery.__table__, data.deliveries),
            (UpliftModel.__table__, models),
            (UpliftModelVersion.__table__, versions),
            (UpliftScore.__table__, data.uplift_scores),
        ):
            if rows:
                conn.execute(insert(table), rows)


def compiled_members(
    engine: Engine,
    definition: dict[str, Any],
    now: datetime,
    segments: dict[int, dict[str, Any]],
) -> set[int]:
    """Parse and compile `definition`, run it and return the member ids."""
    parsed = {segment_id: parse_definition(d) for segment_id, d in segments.items()}

    def load_segment(segment_id: int) -> SegmentDefinition:
        return parsed[segment_id]

    stmt = compile_definition(
        parse_definition(definition), Context(now=now, load_segment=load_segment)
    )
    with Session(engine) as session:
        return set(session.scalars(stmt))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(scenario=scenarios())
# A falsifying store is large; `explain` below says what matters.
@pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)
def test_compiler_matches_reference_on_random_segments(
    engine: Engine,
    scenario: tuple[datetime, Dataset, dict[int, dict[str, Any]], list[dict[str, Any]]],
) -> None:
    now, data, segments, definitions = scenario
    store(engine, data)
    for definition in definitions:
        # Every subtree on its own too, so that each condition decides a result somewhere.
        for node in subtrees(definition["root"]):
            single = {"version": 1, "root": node}
            expected = evaluate(data, single, now, segments)
            found = compiled_members(engine, single, now, segments)
            assert found == expected, explain(node, now, data, segments, found, expected)


def explain(
    node: dict[str, Any],
    now: datetime,
    data: Dataset,
    segments: dict[int, dict[str, Any]],
    found: set[int],
    expected: set[int],
) -> str:
    """Say which contacts the compiler and the reference disagree on, with what they hold."""
    lines = [f"now={now.isoformat()} node={node!r} segments={segments!r}"]
    for label, ids in (("compiler only", found - expected), ("reference only", expected - found)):
        for contact_id in sorted(ids):
            contact = next(c for c in data.contacts if c["id"] == contact_id)
            held = {
                "orders": [o for o in data.orders if o["contact_id"] == contact_id],
                "events": [e for e in data.events if e["contact_id"] == contact_id],
                "consents": [c for c in data.consents if c["contact_id"] == contact_id],
                "traits": [t for t in data.traits if t["contact_id"] == contact_id],
                "deliveries": [d for d in data.deliveries if d["contact_id"] == contact_id],
                "uplift_scores": [s for s in data.uplift_scores if s["contact_id"] == contact_id],
            }
            profile = {k: v for k, v in contact.items() if v is not None}
            lines.append(f"{label}: {profile!r} { ({k: v for k, v in held.items() if v})!r}")
    lines.append(f"products={data.products!r} suppressions={data.suppressions!r}")
    lines.append(f"campaigns={data.campaigns!r} uplift_models={data.uplift_models!r}")
    return "\n".join(lines)


def subtrees(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Return `node` and every node below it, children first."""
    below = node.get("children") or ([node["child"]] if "child" in node else [])
    return [*(n for child in below for n in subtrees(child)), node]


# -- hostile values -----------------------------------------------------------------------------

DROP = "'; DROP TABLE contacts; --"
QUOTE = 'x" OR "1"="1'
ESCAPE = "\\'; SELECT 1; --"
DELETE = "robert'); DELETE FROM orders;--"
NOW = NOWS[0]


def hostile_definition() -> dict[str, Any]:
    """A definition naming every hostile value in every place a value can go."""
    values = [DROP, QUOTE, ESCAPE, DELETE]
    return {
        "version": 1,
        "root": {
            "type": "any",
            "children": [
                {"type": "attribute", "field": "first_name", "op": "eq", "value": DROP},
                {"type": "attribute", "field": "last_name", "op": "contains", "value": QUOTE},
                {"type": "attribute", "field": "city", "op": "starts_with", "value": ESCAPE},
                {"type": "attribute", "field": "region", "op": "ends_with", "value": DELETE},
                {"type": "attribute", "field": "source", "op": "in", "value": values},
                {"type": "attribute", "field": "attributes.plan", "op": "eq", "value": DELETE},
                {"type": "attribute", "field": "attributes.plan", "op": "contains", "value": DROP},
                {"type": "trait", "field": "rfm_cell", "op": "not_in", "value": values},
                {"type": "purchase", "product": DROP, "at_least": 1},
                {"type": "purchase", "category": QUOTE},
                {"type": "consent", "channel": "email", "purpose": ESCAPE, "state": "opted_in"},
                {"type": "message", "action": "opened", "campaign_code": DROP},
                {"type": "uplift", "model": DROP, "score": {"op": "gt", "value": 0}},
                {"type": "random_bucket", "percent": 0.01, "salt": DROP},
                {
                    "type": "event",
                    "event_type": DELETE,
                    "where": [
                        {"property": "path", "op": "eq", "value": DROP},
                        {"property": "path", "op": "contains", "value": QUOTE},
                        {"property": "path", "op": "in", "value": values},
                    ],
                },
                {
                    "type": "event_time",
                    "event_type": ESCAPE,
                    "which": "last",
                    "op": "after",
                    "when": {"days_ago": 1},
                },
            ],
        },
    }


def test_hostile_values_are_only_ever_bound_parameters(engine: Engine) -> None:
    definition = hostile_definition()
    stmt = compile_definition(
        parse_definition(definition), Context(now=NOW, load_segment=lambda _id: None)
    )
    sql = str(stmt.compile(dialect=engine.dialect))
    for value in (DROP, QUOTE, ESCAPE, DELETE, "DROP TABLE", "DELETE FROM", "SELECT 1"):
        assert value not in sql

    data = Dataset(
        contacts=[
            _contact(1, first_name=DROP),
            _contact(2, attributes={"plan": DELETE}),
            _contact(3, last_name=f"a{QUOTE.upper()}b"),
            _contact(4, first_name="DROP"),
        ]
    )
    store(engine, data)
    found = compiled_members(engine, definition, NOW, {})
    assert found == evaluate(data, definition, NOW) == {1, 2, 3}
    tables = set(inspect(engine).get_table_names())
    assert {"contacts", "orders", "events"} <= tables


def _contact(contact_id: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": contact_id,
        "external_id": f"H{contact_id}",
        "lifecycle_stage": "prospect",
        "attributes": {},
        "created_at": NOW,
        "updated_at": NOW,
    }
    for column in ("email", "phone", "birth_date", "gender", "country", "household_income"):
        row[column] = None
    for column in TEXT_COLUMNS:
        row[column] = None
    row.update(fields)
    return row
