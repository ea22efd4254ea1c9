"""Recommendations in sent messages: per contact from the active rules, read once per batch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.channels.base import OutboundMessage
from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.models import Contact, Delivery
from campaign_engine.personalisation import lookup
from campaign_engine.personalisation_requests import LookupQuery
from campaign_engine.recommend.ruleset import active_rule_set_id, load_snapshot
from campaign_engine.recommend.settings import RecommendSettings
from campaign_engine.runtime import Runtime
from tests.campaign_support import (
    NOON,
    Clock,
    campaign_body,
    in_session,
    launch,
    make_runner,
    segment,
    template_id,
)
from tests.factories import make_consent
from tests.recommend_support import buyer, make_catalogue, make_rule_set

BESTSELLERS = "Browse this month's bestsellers"


def _reachable(session: Session, contact: Contact) -> Contact:
    make_consent(session, contact.id, "email", ("opted_in", NOON - timedelta(days=60), "test"))
    return contact


def _send(runtime: Runtime, template: str, **dispatch: Any) -> dict[int, OutboundMessage]:
    """Launch a campaign of `template` to everyone; return the sent messages by contact id."""

    def set_up(session: Session) -> int:
        body = campaign_body(session, segment(session))
        body["variants"][0]["messages"][0]["template_id"] = template_id(session, template)
        return launch(session, body)

    in_session(runtime, set_up)
    runner, channels = make_runner(runtime, Clock(), **dispatch)
    runner.tick()
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    sent = email.accepted()

    def owners(session: Session) -> dict[int, int]:
        ids = [m.delivery_id for m in sent]
        rows = session.execute(select(Delivery.id, Delivery.contact_id).where(Delivery.id.in_(ids)))
        return {delivery_id: contact_id for delivery_id, contact_id in rows}

    by_delivery = in_session(runtime, owners)
    return {by_delivery[m.delivery_id]: m for m in sent}


def _names(html: str) -> list[str]:
    return re.findall(r'<p style="margin:0;font-weight:bold;">(?:<a [^>]+>)?([^<]+)<', html)


def test_a_cross_sell_email_shows_each_contact_what_the_storefront_shows(
    runtime: Runtime,
) -> None:
    def set_up(session: Session) -> dict[str, Contact]:
        products = make_catalogue(session)
        make_rule_set(session, products)
        return {
            "laptop": _reachable(session, buyer(session, products, ["LAPTOP-BASIC"])),
            "meal": _reachable(session, buyer(session, products, ["MEAL", "MEAL"])),
            "refused": _reachable(
                session, buyer(session, products, ["LAPTOP-BASIC"], consent="opted_out")
            ),
            "new": _reachable(session, buyer(session, products, [])),
        }

    people = in_session(runtime, set_up)
    sent = _send(runtime, "cross_sell")
    assert set(sent) == {c.id for c in people.values()}
    laptop = sent[people["laptop"].id].html or ""
    assert _names(laptop) == ["Laptop Bag", "Antivirus 1 Year", "Mouse"]
    assert "$49.00" in laptop and BESTSELLERS not in laptop
    assert _names(sent[people["meal"].id].html or "") == ["Apple Pie"]
    for who in ("refused", "new"):  # no consent to personalisation, no purchases
        html = sent[people[who].id].html or ""
        assert _names(html) == [] and BESTSELLERS in html

    def storefront(session: Session) -> list[str]:
        snapshot = load_snapshot(session.connection(), active_rule_set_id(session))
        query = LookupQuery(contact_id=people["laptop"].external_id, kind="cross_sell", k=3)
        answer = lookup(session, snapshot, RecommendSettings(), query, NOON)
        return [item["name"] for item in answer["recommendations"]]

    assert in_session(runtime, storefront) == _names(laptop)


def test_an_up_sell_email_leads_with_the_premium_version(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        products = make_catalogue(session)
        make_rule_set(session, products)
        return _reachable(session, buyer(session, products, ["MEAL"])).id

    contact_id = in_session(runtime, set_up)
    html = _send(runtime, "up_sell")[contact_id].html or ""
    assert "The <strong>Super-Size Burger Meal</strong> takes it a step further" in html


def test_product_pages_and_images_come_from_the_catalogue_attributes(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        products = make_catalogue(session)
        products["LAPTOP-BAG"].attributes = {
            "url": "https://shop.example/p/bag",
            "image_url": "https://shop.example/img/bag.jpg",
        }
        products["MOUSE"].attributes = {"url": "javascript:alert(1)"}  # not a web page: no link
        make_rule_set(session, products)
        return _reachable(session, buyer(session, products, ["LAPTOP-BASIC"])).id

    contact_id = in_session(runtime, set_up)
    html = _send(runtime, "cross_sell")[contact_id].html or ""
    assert '<img src="https://shop.example/img/bag.jpg"' in html
    bag_link = re.search(r'<a href="([^"]+)" style="color:#1f4d3a;[^"]*">Laptop Bag</a>', html)
    assert bag_link and "/t/c/" in bag_link.group(1)  # the page link is tracked
    assert "javascript" not in html and ">Mouse</p>" in html


def _history_reads(seen: list[str]) -> list[str]:
    return [sql for sql in seen if "order_lines" in sql and "row_number" in sql.lower()]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL statements `engine` runs meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_histories_are_read_once_per_batch_never_per_contact(runtime: Runtime) -> None:
    def set_up(session: Session) -> list[int]:
        products = make_catalogue(session)
        make_rule_set(session, products)
        skus = ["LAPTOP-BASIC", "MEAL"]
        return [_reachable(session, buyer(session, products, [skus[n % 2]])).id for n in range(7)]

    people = in_session(runtime, set_up)
    with statements(runtime.engine) as seen:
        sent = _send(runtime, "cross_sell", send_batch=3)
    assert len(sent) == 7 and all(_names(sent[c].html or "") for c in people)
    assert len(_history_reads(seen)) == 3  # batches of 3, 3 and 1 contacts
    loads = [sql for sql in seen if "FROM association_rules" in sql]
    assert len(loads) == 1  # the rule snapshot is loaded once per process, not per batch


def test_a_template_without_the_helper_reads_no_rules(runtime: Runtime) -> None:
    def set_up(session: Session) -> None:
        products = make_catalogue(session)
        make_rule_set(session, products)
        _reachable(session, buyer(session, products, ["LAPTOP-BASIC"]))

    in_session(runtime, set_up)
    with statements(runtime.engine) as seen:
        assert len(_send(runtime, "welcome")) == 1
    assert not [sql for sql in seen if "association_rules" in sql]
    assert not _history_reads(seen)


def test_without_an_active_rule_set_the_helper_gives_nothing(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        products = make_catalogue(session)
        make_rule_set(session, products, activate=False)
        return _reachable(session, buyer(session, products, ["LAPTOP-BASIC"])).id

    contact_id = in_session(runtime, set_up)
    html = _send(runtime, "cross_sell")[contact_id].html or ""
    assert _names(html) == [] and BESTSELLERS in html
