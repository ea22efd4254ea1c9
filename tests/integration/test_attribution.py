"""Order attribution: windows, code wins, last / first touch and linear, idempotent, at scale."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from campaign_engine.api.openapi_campaigns import campaign_openapi
from campaign_engine.campaigns.service import campaign_spec, save_campaign
from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.errors import InvalidInput
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Delivery,
    MessageTemplate,
    OrderAttribution,
    TrackingCursor,
)
from campaign_engine.runtime import Runtime
from campaign_engine.scheduler import JOBS
from campaign_engine.tracking.attribution import (
    CURSOR,
    attribute_new_orders,
    attribute_orders,
    reattribute_orders_after,
)
from tests.campaign_support import NOON, campaign_body, in_session, segment
from tests.factories import make_contact, make_order, make_product

T = NOON  # when the order is placed
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
_seq = itertools.count(1)


# Test data: campaigns and their sent messages, written straight to the ledger.


def make_campaign(session: Session, code: str, purpose: str = "marketing", **days: int) -> int:
    """Add a campaign with one run and return its id; `days` override the windows."""
    template = MessageTemplate(
        name=f"t{next(_seq)}", channel="email", purpose=purpose, subject="Hi", html="<p>Hi</p>"
    )
    campaign = Campaign(code=code, name=code, channel="email", purpose=purpose, status="running")
    for kind, value in days.items():
        setattr(campaign, kind if kind == "outcome_days" else f"attribution_{kind}_days", value)
    session.add_all([template, campaign])
    session.flush()
    session.add(CampaignRun(campaign_id=campaign.id, due_at=T - 60 * DAY, status="completed"))
    session.flush()
    return campaign.id


def make_sent(
    session: Session,
    campaign_id: int,
    contact_id: int,
    sent: datetime,
    *,
    purpose: str = "marketing",
    **moments: datetime | None,
) -> int:
    """Add a sent message with the given first delivered / opened / clicked / bounced times."""
    run_id = session.scalar(select(CampaignRun.id).where(CampaignRun.campaign_id == campaign_id))
    template_id = session.scalar(
        select(MessageTemplate.id).where(MessageTemplate.purpose == purpose).limit(1)
    )
    delivery = Delivery(
        key=f"test:{next(_seq)}",
        run_id=run_id,
        campaign_id=campaign_id,
        contact_id=contact_id,
        channel="email",
        variant="A",
        template_id=template_id,
        purpose=purpose,
        address="someone@example.com",
        status="accepted",
        planned_at=sent,
        not_before=sent,
        sent_at=sent,
        **{f"{kind}_at": at for kind, at in moments.items()},
    )
    session.add(delivery)
    session.flush()
    return delivery.id


def buy(session: Session, contact_id: int, at: datetime = T, **fields: Any) -> int:
    """Add an order of revenue 100 and cost 40; return its id."""
    product = make_product(session, f"SKU{next(_seq)}", "thing", 100.0, unit_cost=40.0)
    return make_order(session, contact_id, at, [(product, 1)], **fields).id


def credits(session: Session, order_id: int) -> dict[str, list[tuple[str, str, float]]]:
    """Return an order's rows by model as (campaign code, touch, weight), by code."""
    found: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for model, code, touch, weight in session.execute(
        select(
            OrderAttribution.model, Campaign.code, OrderAttribution.touch, OrderAttribution.weight
        )
        .join(Campaign, Campaign.id == OrderAttribution.campaign_id)
        .where(OrderAttribution.order_id == order_id)
        .order_by(Campaign.code)
    ):
        found[model].append((code, touch, round(weight, 6)))
    return dict(found)


def all_rows(session: Session) -> list[tuple[Any, ...]]:
    """Return every attribution row without its id, in a stable order."""
    return [
        tuple(row)
        for row in session.execute(
            select(
                OrderAttribution.order_id,
                OrderAttribution.model,
                OrderAttribution.campaign_id,
                OrderAttribution.delivery_id,
                OrderAttribution.touch,
                OrderAttribution.touched_at,
                OrderAttribution.weight,
                OrderAttribution.revenue,
                OrderAttribution.margin,
            ).order_by(
                OrderAttribution.order_id, OrderAttribution.model, OrderAttribution.campaign_id
            )
        )
    ]


def every_model(code: str, touch: str) -> dict[str, list[tuple[str, str, float]]]:
    """Return the credits of an order that one campaign has whole, under every model."""
    return {m: [(code, touch, 1.0)] for m in ("first_touch", "last_touch", "linear")}


# Golden cases. Campaigns: A and B marketing (7 / 3 / 1 day windows), TX transactional.


@dataclass(frozen=True)
class Case:
    """Messages as (campaign, sent, {kind: time}); the order's code; the expected credits."""

    messages: list[tuple[str, datetime, dict[str, datetime]]]
    expected: dict[str, list[tuple[str, str, float]]]
    code: str | None = None
    windows: dict[str, int] = field(default_factory=dict)  # campaign A's own windows


CASES = {
    "click 6 days before is attributed": Case(
        [("A", T - 6 * DAY - HOUR, {"clicked": T - 6 * DAY})], every_model("A", "click")
    ),
    "click 8 days before is outside the 7-day window": Case(
        [("A", T - 8 * DAY - HOUR, {"clicked": T - 8 * DAY})], {}
    ),
    "click 8 days before counts with a 10-day window": Case(
        [("A", T - 8 * DAY - HOUR, {"clicked": T - 8 * DAY})],
        every_model("A", "click"),
        windows={"click": 10},
    ),
    "open 2 days before is attributed": Case(
        [("A", T - 2 * DAY - HOUR, {"opened": T - 2 * DAY})], every_model("A", "open")
    ),
    "open 4 days before is outside the 3-day window": Case(
        [("A", T - 4 * DAY - HOUR, {"opened": T - 4 * DAY})], {}
    ),
    "delivery 20 hours before is attributed": Case(
        [("A", T - 21 * HOUR, {"delivered": T - 20 * HOUR})], every_model("A", "delivery")
    ),
    "a send without a delivered event counts as delivered when sent": Case(
        [("A", T - 20 * HOUR, {})], every_model("A", "delivery")
    ),
    "delivery 30 hours before is outside the 1-day window": Case(
        [("A", T - 31 * HOUR, {"delivered": T - 30 * HOUR})], {}
    ),
    "a bounced message touches no one": Case([("A", T - 2 * HOUR, {"bounced": T - HOUR})], {}),
    "the order's code wins over a more recent click of another campaign": Case(
        [("A", T - 2 * HOUR, {"clicked": T - HOUR}), ("B", T - 20 * DAY, {})],
        every_model("B", "code"),
        code="b",  # codes match whatever their case
    ),
    "a code wins even without any message of its campaign": Case(
        [("A", T - 2 * HOUR, {"clicked": T - HOUR})], every_model("B", "code"), code="B"
    ),
    "a code naming no campaign falls back to the touches": Case(
        [("A", T - 2 * DAY, {"clicked": T - HOUR})], every_model("A", "click"), code="NOPE"
    ),
    "a transactional campaign's code is not a marketing touch": Case(
        [("A", T - 2 * DAY, {"clicked": T - HOUR})], every_model("A", "click"), code="TX"
    ),
    "two campaigns: last, first and linear": Case(
        [
            ("A", T - 5 * DAY - HOUR, {"clicked": T - 5 * DAY}),
            ("B", T - DAY - HOUR, {"opened": T - DAY}),
        ],
        {
            "last_touch": [("B", "open", 1.0)],
            "first_touch": [("A", "click", 1.0)],
            "linear": [("A", "click", 0.5), ("B", "open", 0.5)],
        },
    ),
    "a stronger touch does not beat a more recent one": Case(
        [
            ("A", T - 3 * DAY - HOUR, {"clicked": T - 3 * DAY}),
            ("B", T - 2 * HOUR, {}),
        ],
        {
            "last_touch": [("B", "delivery", 1.0)],
            "first_touch": [("A", "click", 1.0)],
            "linear": [("A", "click", 0.5), ("B", "delivery", 0.5)],
        },
    ),
    "on equal times a click beats an open and a delivery": Case(
        [("A", T - 2 * HOUR, {"delivered": T - HOUR, "opened": T - HOUR, "clicked": T - HOUR})],
        every_model("A", "click"),
    ),
    "linear counts a campaign once, through its strongest touch": Case(
        [
            ("A", T - 4 * DAY, {"clicked": T - 4 * DAY + HOUR}),
            ("A", T - 3 * HOUR, {"delivered": T - 2 * HOUR}),
            ("B", T - 5 * HOUR, {}),
        ],
        {
            "last_touch": [("A", "delivery", 1.0)],
            "first_touch": [("A", "click", 1.0)],
            "linear": [("A", "click", 0.5), ("B", "delivery", 0.5)],
        },
    ),
    "an order before the send gets nothing": Case(
        [("A", T + HOUR, {"delivered": T + HOUR, "clicked": T + 2 * HOUR})], {}
    ),
    "a click after the order does not count": Case([("A", T - 3 * DAY, {"clicked": T + HOUR})], {}),
    "transactional campaigns' touches are ignored": Case(
        [("TX", T - 2 * HOUR, {"clicked": T - HOUR})], {}
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_golden_attribution_cases(runtime: Runtime, case: Case) -> None:
    def run(session: Session) -> dict[str, list[tuple[str, str, float]]]:
        ids = {
            "A": make_campaign(session, "A", **case.windows),
            "B": make_campaign(session, "B"),
            "TX": make_campaign(session, "TX", purpose="transactional"),
        }
        contact = make_contact(session).id
        other = make_contact(session).id
        for code, sent, moments in case.messages:
            purpose = "transactional" if code == "TX" else "marketing"
            make_sent(session, ids[code], contact, sent, purpose=purpose, **moments)
            make_sent(session, ids[code], other, sent, purpose=purpose, clicked=sent)
        order = buy(session, contact, campaign_code=case.code)
        attribute_orders(session, [order])
        return credits(session, order)

    assert in_session(runtime, run) == case.expected


def test_revenue_and_margin_are_split_by_weight_to_the_cent(runtime: Runtime) -> None:
    def run(session: Session) -> list[tuple[str, str, float, float]]:
        contact = make_contact(session).id
        for code in ("A", "B", "C"):
            make_sent(session, make_campaign(session, code), contact, T - HOUR)
        order = buy(session, contact)
        attribute_orders(session, [order])
        return [
            (model, code, revenue, margin)
            for model, code, revenue, margin in session.execute(
                select(
                    OrderAttribution.model,
                    Campaign.code,
                    OrderAttribution.revenue,
                    OrderAttribution.margin,
                )
                .join(Campaign, Campaign.id == OrderAttribution.campaign_id)
                .order_by(OrderAttribution.model, Campaign.code)
            )
        ]

    rows = in_session(runtime, run)
    linear = [(code, revenue, margin) for model, code, revenue, margin in rows if model == "linear"]
    assert sum(revenue for _, revenue, _ in linear) == pytest.approx(100.0)
    assert sum(margin for _, _, margin in linear) == pytest.approx(60.0)
    assert sorted(revenue for _, revenue, _ in linear) == [33.33, 33.33, 33.34]
    assert [
        (model, revenue, margin) for model, _, revenue, margin in rows if model != "linear"
    ] == [
        ("first_touch", 100.0, 60.0),
        ("last_touch", 100.0, 60.0),
    ]


def test_attributing_twice_changes_nothing_and_follows_new_touches(runtime: Runtime) -> None:
    def set_up(session: Session) -> tuple[int, int, int]:
        a, b = make_campaign(session, "A"), make_campaign(session, "B")
        contact = make_contact(session).id
        make_sent(session, a, contact, T - 2 * DAY, clicked=T - DAY)
        return b, contact, buy(session, contact)

    b, contact, order = in_session(runtime, set_up)
    in_session(runtime, lambda s: attribute_orders(s, [order]))
    first = in_session(runtime, all_rows)
    in_session(runtime, lambda s: attribute_orders(s, [order, order]))
    assert in_session(runtime, all_rows) == first
    assert len(first) == 3

    def late_touch(session: Session) -> dict[str, list[tuple[str, str, float]]]:
        make_sent(session, b, contact, T - 3 * HOUR, opened=T - 2 * HOUR)
        attribute_orders(session, [order])
        return credits(session, order)

    assert in_session(runtime, late_touch)["last_touch"] == [("B", "open", 1.0)]


def test_a_batch_of_orders_takes_a_handful_of_queries(runtime: Runtime) -> None:
    def set_up(session: Session) -> list[int]:
        a, b = make_campaign(session, "A"), make_campaign(session, "B")
        product = make_product(session, "SKU-SCALE", "thing", 10.0, unit_cost=4.0)
        orders = []
        for i in range(60):
            contact = make_contact(session).id
            make_sent(session, a if i % 2 else b, contact, T - DAY, clicked=T - HOUR)
            code = "A" if i % 5 == 0 else None
            orders.append(make_order(session, contact, T, [(product, 1)], campaign_code=code).id)
        return orders

    orders = in_session(runtime, set_up)
    statements: list[str] = []

    def note(*args: Any) -> None:
        statements.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        result = in_session(runtime, lambda s: attribute_orders(s, orders))
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)
    assert (result.orders, result.attributed, result.rows) == (60, 60, 180)
    assert (
        len([s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))])
        <= 8
    )


def test_new_orders_are_attributed_once_from_a_cursor(runtime: Runtime) -> None:
    def set_up(session: Session) -> list[int]:
        a = make_campaign(session, "A")
        orders = []
        for _ in range(5):
            contact = make_contact(session).id
            make_sent(session, a, contact, T - DAY, clicked=T - HOUR)
            orders.append(buy(session, contact))
        return orders

    orders = in_session(runtime, set_up)
    now = T + HOUR
    assert in_session(runtime, lambda s: attribute_new_orders(s, now, limit=3)) == 3
    assert in_session(runtime, lambda s: s.get_one(TrackingCursor, CURSOR).position) == orders[2]
    assert in_session(runtime, lambda s: attribute_new_orders(s, now, limit=3)) == 2
    assert in_session(runtime, lambda s: attribute_new_orders(s, now, limit=3)) == 0
    rows = in_session(runtime, all_rows)
    assert len(rows) == 15  # three models for each of five orders, none twice
    for _ in range(3):  # caught up: each call rechecks recent orders, adding nothing
        in_session(runtime, lambda s: attribute_new_orders(s, now, limit=3))
    assert in_session(runtime, all_rows) == rows


def test_recent_orders_pick_up_touches_recorded_late(runtime: Runtime) -> None:
    def set_up(session: Session) -> tuple[int, int, int]:
        a = make_campaign(session, "A")
        contact = make_contact(session).id
        return a, contact, buy(session, contact)

    a, contact, order = in_session(runtime, set_up)
    now = T + HOUR
    in_session(runtime, lambda s: attribute_new_orders(s, now))
    assert in_session(runtime, lambda s: credits(s, order)) == {}

    def late_webhook(session: Session) -> None:
        make_sent(session, a, contact, T - 2 * DAY, clicked=T - 2 * HOUR)

    in_session(runtime, late_webhook)
    assert in_session(runtime, lambda s: attribute_new_orders(s, now)) == 0  # nothing new, but
    assert in_session(runtime, lambda s: credits(s, order)) == every_model("A", "click")
    too_late = T + 3 * DAY  # the order is no longer recent: left as it is
    in_session(runtime, lambda s: make_sent(s, a, contact, T - HOUR, opened=T - HOUR / 2))
    in_session(runtime, lambda s: attribute_new_orders(s, too_late))
    assert in_session(runtime, lambda s: credits(s, order)) == every_model("A", "click")


def test_reattributing_everything_moves_the_cursor_past_it(runtime: Runtime) -> None:
    def set_up(session: Session) -> list[int]:
        a = make_campaign(session, "A")
        contact = make_contact(session).id
        make_sent(session, a, contact, T - DAY, clicked=T - HOUR)
        return [buy(session, contact) for _ in range(3)]

    orders = in_session(runtime, set_up)
    after, result = in_session(runtime, lambda s: reattribute_orders_after(s, 0, limit=2))
    assert (after, result.attributed) == (orders[1], 2)
    after, result = in_session(runtime, lambda s: reattribute_orders_after(s, after, limit=2))
    assert (after, result.attributed) == (orders[2], 1)
    assert in_session(runtime, lambda s: reattribute_orders_after(s, after))[0] is None
    assert in_session(runtime, lambda s: attribute_new_orders(s, T)) == 0


def test_scheduler_job_attributes_new_orders_every_minute(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        contact = make_contact(session).id
        make_sent(session, make_campaign(session, "A"), contact, T - 2 * DAY, clicked=T - HOUR)
        return buy(session, contact)

    order = in_session(runtime, set_up)
    job = next(j for j in JOBS if j.name == "tracking-attribution")
    assert job.seconds == 60
    job.run(runtime)
    assert in_session(runtime, lambda s: credits(s, order)) == every_model("A", "click")


def test_command_attributes_new_orders_or_everything(settings: Settings, runtime: Runtime) -> None:
    def set_up(session: Session) -> None:
        a = make_campaign(session, "A")
        contact = make_contact(session).id
        make_sent(session, a, contact, T - 2 * DAY, clicked=T - HOUR)
        buy(session, contact)
        buy(session, make_contact(session).id)

    in_session(runtime, set_up)
    env = {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(settings.instance_path),
    }
    new = CliRunner().invoke(main, ["tracking", "attribute"], env=env)
    assert new.exit_code == 0, new.output
    assert "2 new orders attributed" in new.output
    again = CliRunner().invoke(main, ["tracking", "attribute", "--all"], env=env)
    assert again.exit_code == 0, again.output
    assert "2 orders recomputed: 1 credited to a campaign (3 rows)" in again.output
    assert "1 by last touch through a click" in again.output
    assert len(in_session(runtime, all_rows)) == 3


# Property: whatever the touches, each model credits an order whole or not at all.

WINDOWS = {"A": (7, 3, 1), "B": (2, 2, 2), "C": (1, 1, 1)}
MESSAGE = st.tuples(
    st.sampled_from(["A", "B", "C", "TX"]),
    st.integers(-10 * 24, 2),  # sent, hours from the order
    st.sampled_from(["delivered", "opened", "clicked", "bounced", None]),
    st.integers(0, 48),  # hours after the send
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    messages=st.lists(MESSAGE, max_size=6),
    code=st.sampled_from([None, "A", "TX", "NOPE"]),
)
def test_every_order_is_credited_whole_or_not_at_all(
    runtime: Runtime, messages: list[tuple[str, int, str | None, int]], code: str | None
) -> None:
    def run(session: Session) -> tuple[int, list[tuple[Any, ...]]]:
        known = {code: id_ for code, id_ in session.execute(select(Campaign.code, Campaign.id))}
        if not known:  # the first example makes the campaigns; the others reuse them
            for name, (click, open_, delivery) in WINDOWS.items():
                known[name] = make_campaign(
                    session, name, click=click, open=open_, delivery=delivery
                )
            known["TX"] = make_campaign(session, "TX", purpose="transactional")
        contact = make_contact(session).id
        for name, sent, kind, after in messages:
            at = T + timedelta(hours=sent)
            moments = {kind: at + timedelta(hours=after)} if kind else {}
            purpose = "transactional" if name == "TX" else "marketing"
            make_sent(session, known[name], contact, at, purpose=purpose, **moments)
        order = buy(session, contact, campaign_code=code)
        attribute_orders(session, [order])
        attribute_orders(session, [order])
        return order, [r for r in all_rows(session) if r[0] == order]

    _, rows = in_session(runtime, run)
    weights: dict[str, list[float]] = defaultdict(list)
    revenue: dict[str, float] = defaultdict(float)
    for _, model, _, _, _, _, weight, money, _ in rows:
        weights[model].append(weight)
        revenue[model] += money
    assert set(weights) in (set(), {"last_touch", "first_touch", "linear"})
    for model, shares in weights.items():
        assert sum(shares) == pytest.approx(1.0)
        assert revenue[model] == pytest.approx(100.0)
    assert len(weights.get("last_touch", [])) <= 1
    assert len(weights.get("first_touch", [])) <= 1
    if code == "A":
        assert {(r[1], r[4]) for r in rows} == {
            ("last_touch", "code"),
            ("first_touch", "code"),
            ("linear", "code"),
        }


# Campaign settings: the windows are part of the campaign format.


def test_campaign_windows_are_saved_checked_and_read_back(runtime: Runtime) -> None:
    def save(session: Session) -> dict[str, Any]:
        body = campaign_body(session, segment(session))
        campaign = save_campaign(
            session, body | {"attribution": {"click_days": 14}, "outcome_days": 30}
        )
        assert (campaign.attribution_open_days, campaign.attribution_delivery_days) == (3, 1)
        return campaign_spec(session, campaign)

    spec = in_session(runtime, save)
    assert spec["attribution"] == {"click_days": 14, "open_days": 3, "delivery_days": 1}
    assert spec["outcome_days"] == 30

    def refuse(session: Session) -> None:
        body = campaign_body(session, segment(session, name="another"))
        bad = {"attribution": {"click_days": 0, "open_days": "x", "delivery_days": 2.5}}
        save_campaign(session, body | bad | {"outcome_days": 91})

    with pytest.raises(InvalidInput) as refused:
        in_session(runtime, refuse)
    problems = {p.location: p.message for p in refused.value.problems}
    assert list(problems) == [
        "attribution.click_days",
        "attribution.open_days",
        "attribution.delivery_days",
        "outcome_days",
    ]
    assert problems["outcome_days"] == "give a whole number of days from 1 to 90 (got 91)"
    _, schemas = campaign_openapi()
    assert schemas["AttributionSpec"]["properties"]["click_days"]["maximum"] == 90
