"""Each segment condition selects exactly the documented contacts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Consent,
    Contact,
    ContactTraits,
    Delivery,
    Event,
    MessageTemplate,
    Suppression,
    UpliftScore,
)
from campaign_engine.segments.compiler import Context, compile_definition
from campaign_engine.segments.definition import SegmentDefinition, parse_definition
from tests.factories import make_consent, make_contact, make_order, make_product, make_uplift_model
from tests.segment_reference import bucket, evaluate, read_dataset

NOW = datetime(2025, 2, 20, 12, 0, tzinfo=UTC)  # a common year: 29 February falls on the 28th
EVERYONE = "ann bob cat dan eve"

# Saved segments the cases refer to: 1 = lives in a city like "lon", 2 = 1 and bought twice or
# more, 3 = everyone not in 2.
SEGMENTS: dict[int, dict[str, Any]] = {
    1: {
        "version": 1,
        "root": {"type": "attribute", "field": "city", "op": "contains", "value": "lon"},
    },
    2: {
        "version": 1,
        "root": {
            "type": "all",
            "children": [
                {"type": "segment", "segment_id": 1},
                {"type": "purchase", "at_least": 2},
            ],
        },
    },
    3: {"version": 1, "root": {"type": "segment", "segment_id": 2, "exclude": True}},
}


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def build_people(engine: Engine) -> None:
    """Five contacts with profiles, orders, events, consents, suppressions and traits."""
    with Session(engine) as session:
        ann = make_contact(
            session,
            external_id="ann",
            email="ann@example.com",
            phone="+441111",
            first_name="Ann",
            last_name="Lee",
            city="London",
            country="GB",
            gender="female",
            household_income=90000,
            birth_date=date(1990, 2, 25),
            lifecycle_stage="customer",
            attributes={"plan": "Pro", "score": 7, "vip": True, "ratio": 0.5},
            created_at=datetime(2023, 2, 22, 9, 0, tzinfo=UTC),
        )
        bob = make_contact(
            session,
            external_id="bob",
            email="bob@spam.test",
            phone=None,
            first_name="bob",
            last_name="O'Brien",
            city="london",
            country="gb",
            gender="male",
            household_income=40000,
            birth_date=date(2000, 2, 29),
            lifecycle_stage="repeat_customer",
            attributes={"plan": "basic", "score": "7", "vip": 1},
            created_at=datetime(2025, 2, 19, 23, 59, 59, tzinfo=UTC),
        )
        cat = make_contact(
            session,
            external_id="cat",
            email="cat@sub.spam.test",
            phone="+15550100",
            first_name=None,
            last_name=None,
            lifecycle_stage="prospect",
            attributes={},
            created_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        dan = make_contact(
            session,
            external_id="dan",
            email="dan@example.com",
            phone="+1555",
            first_name="Dan%",
            last_name="Smith_Jones",
            city="Lon_don",
            country="US",
            gender="non_binary",
            household_income=120000,
            birth_date=date(1960, 12, 31),
            lifecycle_stage="lapsed",
            attributes={"plan": None, "score": 7.5, "vip": False},
            created_at=ago(days=366),
        )
        eve = make_contact(
            session,
            external_id="eve",
            email="EVE@Example.COM",
            first_name="O'Neil",
            last_name="100% Pure",
            city="it's",
            gender="unknown",
            household_income=0,
            birth_date=date(2007, 2, 20),
            lifecycle_stage="customer",
            attributes={"plan": "pro plan", "score": -3, "tags": ["a"]},
            created_at=NOW,
        )

        book = make_product(session, "BK-1", "Book", 10.0, category="books")
        big_book = make_product(session, "BK-2", "Big book", 25.0, category="books")
        spade = make_product(session, "GD-1", "Spade", 100.0, category="garden")
        make_order(session, ann.id, ago(days=10), [(book, 2), (big_book, 1), (spade, 1)])
        make_order(session, ann.id, ago(days=40), [(big_book, 1)])
        make_order(session, ann.id, ago(days=400), [(spade, 1)])
        shipped = make_order(session, bob.id, ago(days=1), [(book, 1)])
        shipped.revenue = 15.0  # revenue includes shipping: more than its lines
        make_order(session, dan.id, ago(days=30), [(big_book, 2)])

        events: list[tuple[int | None, str, datetime, dict[str, Any]]] = [
            (ann.id, "page_view", ago(days=2), {"path": "/Pricing", "ms": 1200, "mobile": True}),
            (ann.id, "page_view", ago(days=5), {"path": "/home", "ms": 300}),
            (ann.id, "signup", ago(days=400), {}),
            (bob.id, "page_view", ago(hours=1), {"path": "/pricing%", "ms": "1200"}),
            (bob.id, "page_view", ago(days=8), {"path": "/pricing"}),
            (dan.id, "page_view", ago(days=7), {"path": "/pricing", "mobile": False}),
            (cat.id, "click", ago(days=3), {}),
            *[(None, "page_view", ago(days=1), {"path": "/pricing"})] * 3,
        ]
        session.add_all(
            Event(
                dedupe_key=f"e{n}",
                contact_id=contact_id,
                anonymous_id=None if contact_id else "visitor",
                type=kind,
                properties=properties,
                occurred_at=at,
            )
            for n, (contact_id, kind, at, properties) in enumerate(events)
        )

        make_consent(session, ann.id, "email", ("opted_in", ago(days=100), "form"))
        make_consent(session, ann.id, "sms", ("opted_out", ago(days=100), "form"))
        make_consent(
            session,
            bob.id,
            "email",
            ("opted_in", ago(days=9), None),
            ("opted_out", ago(days=2), None),
        )
        make_consent(session, cat.id, "email", ("unknown", ago(days=9), None))
        session.add(
            Consent(contact_id=dan.id, channel="email", purpose="newsletter", state="opted_in")
        )

        session.add_all(
            Suppression(kind=kind, value=value, reason="test")
            for kind, value in (
                ("email", "dan@example.com"),
                ("domain", "spam.test"),
                ("domain", "e_ample.com"),  # `_` is a plain character: not example.com
                ("domain", "%.test"),  # nor is `%`: not sub.spam.test
                ("phone", "+15550100"),
            )
        )

        session.add_all(
            traits(contact_id, **values)
            for contact_id, values in (
                (
                    ann.id,
                    {
                        "rfm_group": "champions",
                        "rfm_cell": "555",
                        "clv": 500.0,
                        "recency_days": 10,
                        "orders_total": 3,
                        "churn_risk": "low",
                        "p_alive": 0.9,
                        "first": ago(days=400),
                        "last": ago(days=10),
                    },
                ),
                (
                    bob.id,
                    {
                        "rfm_group": "new",
                        "rfm_cell": "511",
                        "clv": None,
                        "recency_days": 1,
                        "orders_total": 1,
                        "churn_risk": None,
                        "p_alive": None,
                        "first": ago(days=1),
                        "last": ago(days=1),
                    },
                ),
                (
                    dan.id,
                    {
                        "rfm_group": "at_risk",
                        "rfm_cell": "155",
                        "clv": 50.0,
                        "recency_days": 30,
                        "orders_total": 1,
                        "churn_risk": "high",
                        "p_alive": 0.2,
                        "first": ago(days=30),
                        "last": ago(days=30),
                    },
                ),
            )
        )
        send_messages(session, ann.id, bob.id, cat.id, dan.id, eve.id)
        score_uplift(session, ann.id, bob.id, cat.id, dan.id)
        session.commit()


def score_uplift(session: Session, ann: int, bob: int, cat: int, dan: int) -> None:
    """Three models: winback scores everyone but eve (dan not ranked yet), upsell only ann."""
    scores = {
        "winback": [(ann, 0.12, 0.0), (bob, 0.05, 0.25), (cat, -0.02, 0.5), (dan, 0.0, None)],
        "upsell": [(ann, 0.3, 0.0)],
        "unscored": [],
    }
    for name, rows in scores.items():
        model_id, version_id = make_uplift_model(session, name)
        session.add_all(
            UpliftScore(
                model_id=model_id,
                contact_id=contact_id,
                version_id=version_id,
                score=score,
                percentile=percentile,
                scored_at=ago(days=1),
            )
            for contact_id, score, percentile in rows
        )


def send_messages(session: Session, ann: int, bob: int, cat: int, dan: int, eve: int) -> None:
    """Two campaigns and their deliveries: who was sent what, and what they opened or clicked."""
    template = MessageTemplate(name="plain", subject="Hi", text="Hello")
    session.add(template)
    spring = Campaign(code="SPRING-24", name="Spring", channel="email")
    flash = Campaign(code="flash_50%", name="Flash sale", channel="sms")
    session.add_all([spring, flash])
    session.flush()
    runs = {c.id: CampaignRun(campaign_id=c.id, due_at=ago(days=60)) for c in (spring, flash)}
    session.add_all(runs.values())
    session.flush()
    ledger: list[tuple[Campaign, int, str, datetime | None, datetime | None, datetime | None]] = [
        # campaign, contact, status, sent, opened, clicked
        (spring, ann, "accepted", ago(days=10), ago(days=9), ago(days=9)),
        (spring, ann, "accepted", ago(days=40), None, None),
        (flash, ann, "accepted", ago(days=2), None, None),
        (spring, bob, "accepted", ago(days=1), None, None),
        (spring, bob, "accepted", ago(days=5), None, None),
        (spring, bob, "accepted", ago(days=6), None, None),
        (spring, bob, "failed", None, None, None),
        (spring, cat, "queued", None, None, None),
        (spring, dan, "accepted", ago(days=30), ago(days=3), None),
        (spring, dan, "accepted", ago(days=20), None, None),
        (flash, dan, "accepted", ago(days=5), None, None),
        (flash, eve, "accepted", ago(days=7), ago(days=7), ago(days=7)),
        (spring, eve, "accepted", ago(days=4), ago(days=4), None),
        (spring, eve, "accepted", ago(days=4), None, None),  # sent at the same moment, later id
    ]
    for n, (campaign, contact_id, status, sent, opened, clicked) in enumerate(ledger):
        session.add(
            Delivery(
                key=f"d{n}",
                run_id=runs[campaign.id].id,
                campaign_id=campaign.id,
                contact_id=contact_id,
                channel=campaign.channel,
                variant="A",
                template_id=template.id,
                address="somewhere",
                status=status,
                planned_at=ago(days=60),
                not_before=ago(days=60),
                sent_at=sent,
                opened_at=opened,
                clicked_at=clicked,
            )
        )
        session.flush()  # one at a time: ids follow the list


def traits(contact_id: int, first: datetime, last: datetime, **values: Any) -> ContactTraits:
    cell = values["rfm_cell"]
    return ContactTraits(
        contact_id=contact_id,
        as_of=NOW.date(),
        computed_at=NOW,
        first_order_at=first,
        last_order_at=last,
        revenue_total=100.0,
        frequency=values["orders_total"],
        monetary=100.0,
        avg_order_value=50.0,
        r_score=int(cell[0]),
        f_score=int(cell[1]),
        m_score=int(cell[2]),
        expected_purchases=1.5,
        **values,
    )


def load_segment(segment_id: int) -> SegmentDefinition:
    return parse_definition(SEGMENTS[segment_id])


def member_ids(engine: Engine, root: dict[str, Any], now: datetime = NOW) -> set[int]:
    definition = parse_definition({"version": 1, "root": root})
    stmt = compile_definition(definition, Context(now=now, load_segment=load_segment))
    with Session(engine) as session:
        return set(session.scalars(stmt))


def names(engine: Engine, ids: set[int]) -> str:
    with Session(engine) as session:
        found = session.scalars(select(Contact.external_id).where(Contact.id.in_(ids)))
        return " ".join(sorted(found))


def attribute(field: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    node = {"type": "attribute", "field": field, "op": op, **extra}
    return node if value is None else {**node, "value": value}


def trait(field: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {**attribute(field, op, value, **extra), "type": "trait"}


def page_views(*where: dict[str, Any], **counts: Any) -> dict[str, Any]:
    return {"type": "event", "event_type": "page_view", "where": list(where), **counts}


def prop(name: str, op: str, value: Any = None) -> dict[str, Any]:
    return (
        {"property": name, "op": op}
        if value is None
        else {"property": name, "op": op, "value": value}
    )


def case(node: dict[str, Any], expected: str, name: str) -> Any:
    return pytest.param(node, expected, id=name)


NOT_ANN = {"type": "not", "child": attribute("first_name", "eq", "Ann")}

PROFILE_CASES = [
    case(attribute("first_name", "eq", "Ann"), "ann", "string-eq"),
    case(attribute("first_name", "eq", "ann"), "", "string-eq-minds-case"),
    case(attribute("first_name", "ne", "Ann"), "bob dan eve", "string-ne-skips-missing"),
    case(NOT_ANN, "bob cat dan eve", "not-is-the-exact-complement"),
    case(attribute("first_name", "in", ["Ann", "bob"]), "ann bob", "string-in"),
    case(attribute("first_name", "not_in", ["Ann", "bob"]), "dan eve", "string-not-in"),
    case(attribute("city", "contains", "LON"), "ann bob dan", "contains-ignores-case"),
    case(attribute("city", "starts_with", "lon_"), "dan", "underscore-is-plain"),
    case(attribute("last_name", "contains", "%"), "eve", "percent-is-plain"),
    case(attribute("last_name", "contains", "o'b"), "bob", "quote-in-value"),
    case(attribute("last_name", "ends_with", "_JONES"), "dan", "ends-with"),
    case(attribute("email", "ends_with", "@EXAMPLE.com"), "ann dan eve", "email-ends-with"),
    case(attribute("first_name", "is_set"), "ann bob dan eve", "is-set"),
    case(attribute("first_name", "is_not_set"), "cat", "is-not-set"),
    case(attribute("country", "eq", "GB"), "ann", "country"),
    case(attribute("external_id", "eq", "bob"), "bob", "external-id"),
    case(attribute("gender", "eq", "female"), "ann", "enum-eq"),
    case(attribute("gender", "ne", "female"), "bob dan eve", "enum-ne"),
    case(attribute("gender", "in", ["male", "non_binary"]), "bob dan", "enum-in"),
    case(attribute("gender", "is_not_set"), "cat", "enum-not-set"),
    case(attribute("lifecycle_stage", "not_in", ["customer"]), "bob cat dan", "enum-not-in"),
    case(attribute("household_income", "gte", 90000), "ann dan", "number-gte"),
    case(attribute("household_income", "gt", 90000), "dan", "number-gt"),
    case(attribute("household_income", "lt", 50000), "bob eve", "number-lt"),
    case(attribute("household_income", "lte", 40000), "bob eve", "number-lte"),
    case(attribute("household_income", "between", [40000, 90000]), "ann bob", "between"),
    case(attribute("household_income", "eq", 0), "eve", "number-eq-zero"),
    case(attribute("household_income", "ne", 0), "ann bob dan", "number-ne"),
    case(attribute("household_income", "in", [0, 40000]), "bob eve", "number-in"),
    case(attribute("household_income", "in", [1, 40000.5]), "", "number-in-decimal"),
    case(attribute("household_income", "eq", 40000.5), "", "number-eq-decimal"),
    case(attribute("household_income", "lt", 40000.5), "bob eve", "number-lt-decimal"),
    case(attribute("household_income", "between", [40000.5, 90000]), "ann", "between-decimal"),
    case(attribute("age", "gt", 23.5), "ann bob dan", "age-gt-decimal"),
    case(attribute("household_income", "not_in", [0]), "ann bob dan", "number-not-in"),
    case(attribute("household_income", "is_not_set"), "cat", "number-not-set"),
    case(attribute("age", "eq", 18), "eve", "age-turns-18-on-the-birthday"),
    case(attribute("age", "eq", 24), "bob", "age-29-february-not-yet-a-year-older"),
    case(attribute("age", "gte", 34), "ann dan", "age-gte"),
    case(attribute("age", "lt", 18), "", "age-lt"),
    case(attribute("age", "between", [18, 34]), "ann bob eve", "age-between"),
    case(attribute("age", "in", [24, 64]), "bob dan", "age-in"),
    case(attribute("age", "is_not_set"), "cat", "age-without-birth-date"),
]

DATE_CASES = [
    case(attribute("birth_date", "eq", "2000-02-29"), "bob", "date-eq"),
    case(attribute("birth_date", "lt", "1990-02-25"), "dan", "date-lt"),
    case(attribute("birth_date", "lte", "1990-02-25"), "ann dan", "date-lte"),
    case(attribute("birth_date", "gt", "2000-02-29"), "eve", "date-gt"),
    case(attribute("birth_date", "gte", "2000-02-29"), "bob eve", "date-gte"),
    case(
        attribute("birth_date", "between", ["1990-01-01", "2000-12-31"]), "ann bob", "date-between"
    ),
    case(attribute("birth_date", "in_next", days=5), "ann eve", "birthday-in-next-5-days"),
    case(attribute("birth_date", "in_next", days=7), "ann eve", "29-february-is-28th-not-7th"),
    case(attribute("birth_date", "in_next", days=8), "ann bob eve", "29-february-on-28th"),
    case(attribute("birth_date", "in_next", days=313), "ann bob eve", "in-next-before-new-year"),
    case(attribute("birth_date", "in_next", days=314), EVERYONE.replace("cat ", ""), "in-next-314"),
    case(attribute("birth_date", "within_last", days=6575), "eve", "date-within-last-boundary"),
    case(attribute("birth_date", "within_last", days=6574), "", "date-within-last-too-short"),
    case(attribute("birth_date", "more_than_ago", days=6574), "ann bob dan eve", "date-ago"),
    case(attribute("birth_date", "more_than_ago", days=6575), "ann bob dan", "date-ago-strict"),
    case(attribute("created_at", "eq", "2025-02-19"), "bob", "datetime-eq-whole-day"),
    case(attribute("created_at", "ne", "2025-02-19"), "ann cat dan eve", "datetime-ne-day"),
    case(attribute("created_at", "lte", "2025-02-19"), "ann bob cat dan", "datetime-lte-day"),
    case(attribute("created_at", "lt", "2025-02-19"), "ann cat dan", "datetime-lt-day"),
    case(attribute("created_at", "gt", "2025-02-19"), "eve", "datetime-gt-next-midnight"),
    case(attribute("created_at", "gte", "2025-02-20"), "eve", "datetime-gte-day"),
    case(attribute("created_at", "eq", "2020-01-01"), "cat", "datetime-eq-from-midnight"),
    case(attribute("created_at", "eq", "2019-12-31"), "", "datetime-eq-not-next-midnight"),
    case(attribute("created_at", "lte", "2019-12-31"), "", "datetime-lte-not-next-midnight"),
    case(attribute("created_at", "gt", "2019-12-31"), EVERYONE, "datetime-gt-from-midnight"),
    case(attribute("created_at", "lt", "2020-01-01"), "", "datetime-lt-before-midnight"),
    case(attribute("created_at", "eq", "2025-02-20T12:00:00+00:00"), "eve", "instant-eq"),
    case(attribute("created_at", "eq", "2025-02-20T14:00:00+02:00"), "eve", "instant-offset"),
    case(attribute("created_at", "eq", "2025-02-20T12:00:00"), "eve", "naive-is-utc"),
    case(attribute("created_at", "lt", "2025-02-20T12:00:00"), "ann bob cat dan", "instant-lt"),
    case(attribute("created_at", "lte", "2025-02-20T12:00:00"), EVERYONE, "instant-lte"),
    case(attribute("created_at", "between", ["2024-02-20", "2025-02-19"]), "bob dan", "day-range"),
    case(attribute("created_at", "within_last", days=1), "bob eve", "within-last-day"),
    case(attribute("created_at", "within_last", days=366), "bob dan eve", "within-last-edge"),
    case(attribute("created_at", "more_than_ago", days=366), "ann cat", "more-than-ago"),
    case(attribute("created_at", "in_next", days=2), "ann dan eve", "signup-anniversary"),
    case(attribute("created_at", "in_next", days=1), "dan eve", "anniversary-today"),
]

CUSTOM_CASES = [
    case(attribute("attributes.plan", "eq", "Pro"), "ann", "custom-eq"),
    case(attribute("attributes.plan", "contains", "PRO"), "ann eve", "custom-contains"),
    case(attribute("attributes.plan", "starts_with", "pro "), "eve", "custom-starts-with"),
    case(attribute("attributes.plan", "is_set"), "ann bob eve", "custom-null-is-not-set"),
    case(attribute("attributes.plan", "is_not_set"), "cat dan", "custom-not-set"),
    case(attribute("attributes.plan", "ne", "Pro"), "bob eve", "custom-ne"),
    case(attribute("attributes.score", "eq", 7), "ann", "custom-number-skips-text"),
    case(attribute("attributes.score", "eq", "7"), "bob", "custom-text-skips-number"),
    case(attribute("attributes.score", "gte", 7), "ann dan", "custom-gte"),
    case(attribute("attributes.score", "between", [-5, 7]), "ann eve", "custom-between"),
    case(attribute("attributes.score", "ne", 7), "dan eve", "custom-ne-other-kind-missing"),
    case(attribute("attributes.score", "not_in", [7, 7.5]), "eve", "custom-not-in"),
    case(attribute("attributes.score", "in", [7.0]), "ann", "integer-equals-decimal"),
    case(attribute("attributes.score", "in", [1, 7.5]), "dan", "custom-in-whole-and-decimal"),
    case(attribute("attributes.vip", "eq", True), "ann", "boolean-true"),
    case(attribute("attributes.vip", "eq", False), "dan", "boolean-false"),
    case(attribute("attributes.vip", "ne", True), "dan", "boolean-ne-skips-number"),
    case(attribute("attributes.vip", "eq", 1), "bob", "number-is-not-boolean"),
    case(attribute("attributes.tags", "is_set"), "eve", "list-is-set"),
    case(attribute("attributes.tags", "eq", "a"), "", "list-is-another-kind"),
    case(attribute("attributes.ratio", "lt", 1), "ann", "decimal"),
    case(attribute("attributes.nothing", "is_not_set"), EVERYONE, "absent-key"),
    case(
        {"type": "not", "child": attribute("attributes.score", "eq", 7)},
        "bob cat dan eve",
        "not-custom-includes-missing",
    ),
]

TRAIT_CASES = [
    case(trait("rfm_group", "eq", "champions"), "ann", "trait-eq"),
    case(trait("rfm_group", "ne", "champions"), "bob dan", "trait-ne-needs-traits"),
    case(
        {"type": "not", "child": trait("rfm_group", "eq", "champions")},
        "bob cat dan eve",
        "not-trait-includes-never-ordered",
    ),
    case(trait("clv", "is_not_set"), "bob cat eve", "trait-null-or-no-row"),
    case(trait("clv", "gte", 50), "ann dan", "trait-number"),
    case(trait("churn_risk", "in", ["low", "high"]), "ann dan", "trait-enum-in"),
    case(trait("clv", "in", [50, 500.5]), "dan", "trait-in-whole-and-decimal"),
    case(trait("last_order_at", "within_last", days=10), "ann bob", "trait-datetime"),
    case(trait("rfm_cell", "starts_with", "5"), "ann bob", "trait-string"),
    case(trait("p_alive", "between", [0.2, 0.9]), "ann dan", "trait-between"),
]

PURCHASE_CASES = [
    case({"type": "purchase"}, "ann bob dan", "bought-at-all"),
    case({"type": "purchase", "category": "books", "at_least": 2}, "ann", "category-at-least"),
    case({"type": "purchase", "category": "books", "at_least": 3}, "", "orders-not-lines-counted"),
    case(
        {"type": "purchase", "category": "books", "at_most": 1},
        "bob cat dan eve",
        "at-most-includes-never-bought",
    ),
    case({"type": "purchase", "at_most": 0}, "cat eve", "never-bought"),
    case({"type": "purchase", "product": "GD-1", "window": {"last_days": 30}}, "ann", "product"),
    case({"type": "purchase", "product": "GD-1", "at_least": 2}, "ann", "product-at-least"),
    case({"type": "purchase", "category": "books", "min_spend": 70}, "ann", "spend-from-lines"),
    case(
        {"type": "purchase", "min_spend": 15, "window": {"last_days": 7}},
        "bob",
        "spend-from-revenue",
    ),
    case(
        {"type": "purchase", "category": "books", "min_spend": 15, "window": {"last_days": 7}},
        "",
        "line-spend-ignores-shipping",
    ),
    case(
        {"type": "purchase", "window": {"last_days": 30}}, "ann bob dan", "window-start-inclusive"
    ),
    case({"type": "purchase", "window": {"last_days": 29}}, "ann bob", "window-last-days"),
    case(
        {"type": "purchase", "window": {"since": "2025-01-21", "until": "2025-02-10"}},
        "ann dan",
        "window-whole-days",
    ),
    case({"type": "purchase", "window": {"until": "2025-01-20"}}, "ann", "window-until"),
    case({"type": "purchase", "window": {"since": "2025-02-11"}}, "bob", "window-since"),
    case({"type": "purchase", "at_least": 2, "at_most": 3}, "ann", "at-least-and-at-most"),
    case(
        {"type": "last_purchase", "op": "before", "when": {"days_ago": 5}}, "ann dan", "last-before"
    ),
    case(
        {"type": "last_purchase", "op": "after", "when": {"date": "2025-02-19"}},
        "bob",
        "last-after",
    ),
    case(
        {
            "type": "not",
            "child": {"type": "last_purchase", "op": "before", "when": {"days_ago": 5}},
        },
        "bob cat eve",
        "not-last-before-includes-never-bought",
    ),
]

EVENT_CASES = [
    case(page_views(), "ann bob dan", "event-at-all"),
    case(page_views(at_least=2), "ann bob", "event-at-least"),
    case(page_views(at_most=0), "cat eve", "event-never"),
    case(page_views(window={"last_days": 7}), "ann bob dan", "event-window-inclusive"),
    case(page_views(window={"last_days": 6}), "ann bob", "event-window"),
    case(page_views(prop("path", "contains", "PRICING")), "ann bob dan", "prop-contains"),
    case(page_views(prop("path", "eq", "/pricing")), "bob dan", "prop-eq"),
    case(page_views(prop("path", "contains", "%")), "bob", "prop-percent-is-plain"),
    case(page_views(prop("ms", "gt", 1000)), "ann", "prop-number-skips-text"),
    case(page_views(prop("ms", "eq", "1200")), "bob", "prop-text"),
    case(page_views(prop("mobile", "eq", True)), "ann", "prop-boolean"),
    case(page_views(prop("mobile", "ne", True)), "dan", "prop-ne"),
    case(page_views(prop("mobile", "is_not_set"), at_least=2), "bob", "prop-not-set"),
    case(page_views(prop("mobile", "is_set")), "ann dan", "prop-set"),
    case(page_views(prop("path", "in", ["/home", "/pricing"])), "ann bob dan", "prop-in"),
    case(page_views(prop("ms", "in", [1, 1200.5])), "", "prop-in-whole-and-decimal"),
    case(page_views(prop("path", "not_in", ["/home", "/pricing"])), "ann bob", "prop-not-in"),
    case(
        page_views(prop("path", "eq", "/pricing"), prop("ms", "lte", 1200), at_least=1),
        "",
        "every-filter-must-pass",
    ),
    case(
        page_views(prop("path", "eq", "/pricing"), window={"last_days": 7}),
        "dan",
        "anonymous-events-never-count",
    ),
    case(
        {
            "type": "event_time",
            "event_type": "signup",
            "which": "first",
            "op": "before",
            "when": {"days_ago": 365},
        },
        "ann",
        "first-event-before",
    ),
    case(
        {
            "type": "event_time",
            "event_type": "page_view",
            "which": "last",
            "op": "after",
            "when": {"days_ago": 1},
        },
        "bob",
        "last-event-after",
    ),
    case(
        {
            "type": "event_time",
            "event_type": "page_view",
            "which": "first",
            "op": "before",
            "when": {"date": "2025-02-13"},
        },
        "bob",
        "first-event-before-midnight",
    ),
    case(
        {
            "type": "event_time",
            "event_type": "page_view",
            "which": "last",
            "op": "after",
            "when": {"days_ago": 7},
            "where": [prop("path", "eq", "/pricing")],
        },
        "dan",
        "event-time-with-filter-and-boundary",
    ),
    case(
        {
            "type": "not",
            "child": {
                "type": "event_time",
                "event_type": "page_view",
                "which": "last",
                "op": "after",
                "when": {"days_ago": 1},
            },
        },
        "ann cat dan eve",
        "not-event-time-includes-no-events",
    ),
]

OTHER_CASES = [
    case({"type": "consent", "channel": "email", "state": "opted_in"}, "ann", "consent-in"),
    case({"type": "consent", "channel": "email", "state": "opted_out"}, "bob", "consent-out"),
    case(
        {"type": "consent", "channel": "email", "state": "unknown"},
        "cat dan eve",
        "consent-unknown-includes-no-record",
    ),
    case(
        {"type": "consent", "channel": "email", "purpose": "newsletter", "state": "opted_in"},
        "dan",
        "consent-purpose",
    ),
    case({"type": "consent", "channel": "sms", "state": "unknown"}, "bob cat dan eve", "sms"),
    case({"type": "suppressed", "channel": "email"}, "bob dan", "suppressed-address-or-domain"),
    case({"type": "suppressed", "channel": "sms"}, "cat", "suppressed-phone"),
    case({"type": "suppressed"}, "bob cat dan", "suppressed-any"),
    case({"type": "not", "child": {"type": "suppressed"}}, "ann eve", "not-suppressed"),
    case({"type": "segment", "segment_id": 1}, "ann bob dan", "segment"),
    case({"type": "segment", "segment_id": 1, "exclude": True}, "cat eve", "segment-exclude"),
    case({"type": "segment", "segment_id": 2}, "ann", "nested-segment"),
    case({"type": "segment", "segment_id": 3}, "bob cat dan eve", "segment-excluding-segment"),
    case({"type": "segment", "segment_id": 3, "exclude": True}, "ann", "exclude-of-exclude"),
    case(
        {
            "type": "all",
            "children": [
                {"type": "segment", "segment_id": 1},
                {"type": "not", "child": {"type": "segment", "segment_id": 2}},
            ],
        },
        "bob dan",
        "segment-minus-segment",
    ),
    case(
        {
            "type": "all",
            "children": [attribute("gender", "eq", "female"), attribute("age", "gte", 30)],
        },
        "ann",
        "all",
    ),
    case(
        {
            "type": "any",
            "children": [attribute("gender", "eq", "male"), attribute("gender", "eq", "female")],
        },
        "ann bob",
        "any",
    ),
    case(
        {
            "type": "not",
            "child": {
                "type": "any",
                "children": [
                    attribute("gender", "eq", "male"),
                    attribute("gender", "eq", "female"),
                ],
            },
        },
        "cat dan eve",
        "not-any",
    ),
    case({"type": "not", "child": NOT_ANN}, "ann", "not-not"),
    case({"type": "random_bucket", "percent": 100}, EVERYONE, "everyone-in-the-full-bucket"),
]


def message(action: str, **fields: Any) -> dict[str, Any]:
    return {"type": "message", "action": action, **fields}


def unopened(last: int, **fields: Any) -> dict[str, Any]:
    return {"type": "unopened", "last": last, **fields}


SPRING_OPENED = message("opened", campaign_code="SPRING-24")

MESSAGE_CASES = [
    case(message("received"), "ann bob dan eve", "received-means-accepted-and-sent"),
    case(message("received", campaign_code="SPRING-24", at_least=3), "bob", "received-at-least"),
    case(message("received", campaign_code="flash_50%"), "ann dan eve", "campaign-by-code"),
    case(message("received", campaign_code="spring-24"), "", "codes-compare-exactly"),
    case(message("received", campaign_id=999), "", "unknown-campaign-id-matches-nobody"),
    case(
        message("received", campaign_code="flash_50%", channel="email"),
        "",
        "campaign-and-channel-both-hold",
    ),
    case(
        message("received", channel="email", window={"last_days": 5}),
        "bob eve",
        "received-window-start-inclusive",
    ),
    case(message("received", channel="email", at_most=1), "cat", "at-most-includes-never-sent"),
    case(message("opened"), "ann dan eve", "opened-anything"),
    case(message("opened", window={"last_days": 5}), "dan eve", "opened-in-window"),
    case(
        {**SPRING_OPENED, "window": {"since": "2025-02-11", "until": "2025-02-16"}},
        "ann eve",
        "opened-window-whole-days",
    ),
    case(message("clicked"), "ann eve", "clicked-anything"),
    case(message("clicked", channel="email"), "ann", "clicked-on-a-channel"),
    case(message("opened", at_most=0), "bob cat", "never-opened-includes-never-sent"),
    case({"type": "not", "child": message("opened")}, "bob cat", "not-opened"),
    case(
        {
            "type": "all",
            "children": [
                message("received", campaign_code="SPRING-24"),
                {**SPRING_OPENED, "at_most": 0},
            ],
        },
        "bob",
        "received-but-never-opened",
    ),
    case(unopened(3), "bob", "unopened-last-3"),
    case(unopened(2), "bob dan", "unopened-counts-every-channel"),
    case(unopened(1, channel="email"), "bob dan eve", "unopened-ties-go-to-the-later-id"),
    case(unopened(1, channel="sms"), "ann dan", "unopened-on-a-channel"),
    case(unopened(4), "", "unopened-needs-n-sent-messages"),
    case({"type": "not", "child": unopened(3)}, "ann cat dan eve", "not-unopened"),
]


def uplift(model: str = "winback", **tests: Any) -> dict[str, Any]:
    return {"type": "uplift", "model": model, **tests}


def compared(op: str, value: Any) -> dict[str, Any]:
    return {"op": op, "value": value}


UPLIFT_CASES = [
    case(uplift(), "ann bob cat dan", "uplift-scored-at-all"),
    case(uplift(scored=False), "eve", "uplift-unscored"),
    case(uplift("upsell", scored=False), "bob cat dan eve", "uplift-unscored-under-that-model"),
    case(uplift("unscored"), "", "uplift-model-without-scores"),
    case(uplift("nobody"), "", "uplift-unknown-model-scores-nobody"),
    case(uplift("nobody", scored=False), EVERYONE, "uplift-unknown-model-leaves-all-unscored"),
    case(uplift(score=compared("gt", 0)), "ann bob", "uplift-score-gt"),
    case(uplift(score=compared("gte", 0)), "ann bob dan", "uplift-score-gte-zero"),
    case(uplift(score=compared("gte", 0.05)), "ann bob", "uplift-score-gte-decimal-boundary"),
    case(uplift(score=compared("lt", 0)), "cat", "uplift-score-lt"),
    case(uplift(score=compared("lte", 0.05)), "bob cat dan", "uplift-score-lte"),
    case(uplift(score=compared("between", [0, 0.05])), "bob dan", "uplift-score-between"),
    case(uplift(score=compared("gt", 0.2)), "", "uplift-scores-of-other-models-do-not-count"),
    case(uplift("upsell", score=compared("gt", 0.2)), "ann", "uplift-score-under-another-model"),
    case(uplift(percentile=compared("lt", 0.25)), "ann", "uplift-top-quarter"),
    case(uplift(percentile=compared("lte", 0.25)), "ann bob", "uplift-percentile-lte"),
    case(uplift(percentile=compared("gte", 0.25)), "bob cat", "uplift-unranked-passes-no-rank"),
    case(
        uplift(percentile=compared("between", [0, 1])), "ann bob cat", "uplift-percentile-between"
    ),
    case(
        uplift(score=compared("gt", 0), percentile=compared("gt", 0)),
        "bob",
        "uplift-score-and-percentile-both-hold",
    ),
    case(
        {"type": "not", "child": uplift(score=compared("gt", 0))},
        "cat dan eve",
        "not-uplift-includes-unscored",
    ),
]

CASES = PROFILE_CASES + DATE_CASES + CUSTOM_CASES + TRAIT_CASES + PURCHASE_CASES + EVENT_CASES
CASES += OTHER_CASES + MESSAGE_CASES + UPLIFT_CASES


@pytest.fixture
def people(engine: Engine) -> Engine:
    build_people(engine)
    return engine


@pytest.mark.parametrize(("node", "expected"), CASES)
def test_condition_selects_the_documented_contacts(
    people: Engine, node: dict[str, Any], expected: str
) -> None:
    compiled = names(people, member_ids(people, node))
    with people.connect() as conn:  # the differential test's reference must agree too
        data = read_dataset(conn)
    reference = names(people, evaluate(data, {"version": 1, "root": node}, NOW, SEGMENTS))
    assert (compiled, reference) == (expected, expected)


def add_contacts(engine: Engine, count: int) -> list[int]:
    """Insert `count` bare contacts and return their ids."""
    with engine.begin() as conn:
        conn.execute(
            insert(Contact),
            [
                {"external_id": f"R{n}", "lifecycle_stage": "prospect", "attributes": {}}
                for n in range(count)
            ],
        )
        return list(conn.scalars(select(Contact.id)))


def test_random_bucket_keeps_about_the_share_asked_for(engine: Engine) -> None:
    ids = add_contacts(engine, 2000)
    ten_percent = {"type": "random_bucket", "percent": 10, "salt": "spring"}
    chosen = member_ids(engine, ten_percent)
    assert 140 <= len(chosen) <= 260
    assert chosen == {i for i in ids if bucket(i, "spring") < 1000}


def test_random_bucket_is_stable_for_a_salt_and_differs_between_salts(engine: Engine) -> None:
    add_contacts(engine, 2000)
    spring = {"type": "random_bucket", "percent": 30, "salt": "spring"}
    autumn = {"type": "random_bucket", "percent": 30, "salt": "autumn"}
    first = member_ids(engine, spring)
    assert member_ids(engine, spring, now=NOW + timedelta(days=30)) == first
    other = member_ids(engine, autumn)
    assert other != first
    assert other & first


def test_random_bucket_of_a_large_id_follows_the_documented_hash(engine: Engine) -> None:
    ids = [2**31 - 1, 2**31, 2**31 + 1, 2**40 + 7, 1]
    with engine.begin() as conn:
        conn.execute(
            insert(Contact),
            [
                {"id": i, "external_id": f"L{i}", "lifecycle_stage": "prospect", "attributes": {}}
                for i in ids
            ],
        )
    for salt in ("", "spring", "it's; --"):
        for percent in (0.01, 25, 50, 99.99):
            node = {"type": "random_bucket", "percent": percent, "salt": salt}
            expected = {i for i in ids if bucket(i, salt) < round(percent * 100)}
            assert member_ids(engine, node) == expected, (salt, percent)
