"""The contact browser service: search, paging, the capped count and one contact's history."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta

import pytest

from campaign_engine import contact_detail, contact_search
from campaign_engine.contact_detail import get_contact_detail
from campaign_engine.contact_search import count_store, search_contacts
from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput, NotFound
from campaign_engine.models import Consent, Event
from campaign_engine.runtime import Runtime
from tests.factories import make_consent, make_contact, make_order, make_product

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def emails(runtime: Runtime, query: str) -> list[str | None]:
    """Return the emails on the first page of results for `query`."""
    with transaction(runtime.sessions) as session:
        return [c.email for c in search_contacts(session, query).contacts]


@pytest.fixture
def people(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_contact(
            session,
            email="ada.lovelace@example.com",
            first_name="Ada",
            last_name="Lovelace",
            external_id="X-1",
            phone="+441111",
        )
        make_contact(
            session,
            email="adam.smith@example.com",
            first_name="Adam",
            last_name="Smith",
            external_id="X-2",
        )
        make_contact(
            session,
            email="grace@example.com",
            first_name="Grace",
            last_name="Hopper",
            external_id="X-3",
            phone="+15550100",
        )
        make_contact(
            session,
            email="under_score@example.com",
            first_name="Ünal",
            last_name="Percent%",
            external_id="X-4",
        )


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ada.", ["ada.lovelace@example.com"]),
        ("ADA.LOVELACE@EXAMPLE.COM", ["ada.lovelace@example.com"]),
        ("ada", ["adam.smith@example.com", "ada.lovelace@example.com"]),
        ("hopper", ["grace@example.com"]),
        ("  Grace  ", ["grace@example.com"]),
        ("ada love", ["ada.lovelace@example.com"]),
        ("X-2", ["adam.smith@example.com"]),
        ("X-", []),
        ("+15550100", ["grace@example.com"]),
        ("+1 555-0100", ["grace@example.com"]),
        ("5550100", []),
        ("0015550100", ["grace@example.com"]),
        ("15550100", ["grace@example.com"]),
        ("example.com", []),
        ("%", []),
        ("_", []),
        ("under_", ["under_score@example.com"]),
        ("percent%", ["under_score@example.com"]),
    ],
)
def test_search_matches_prefixes_and_exact_keys(
    runtime: Runtime, query: str, expected: list[str]
) -> None:
    assert emails(runtime, query) == expected


def test_empty_search_lists_newest_first_with_total(runtime: Runtime, people: None) -> None:
    with transaction(runtime.sessions) as session:
        result = search_contacts(session, "")
    assert result.total == 4
    assert not result.total_is_capped
    assert [c.external_id for c in result.contacts] == ["X-4", "X-3", "X-2", "X-1"]
    assert result.contacts[0].name == "Ünal Percent%"


def test_search_pages_through_matches(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        for n in range(7):
            make_contact(session, email=f"page{n}@example.com")
        pages = [search_contacts(session, "page", page=p, page_size=3) for p in (1, 2, 3)]
    assert [len(p.contacts) for p in pages] == [3, 3, 1]
    assert {p.total for p in pages} == {7}
    assert pages[0].pages == 3
    assert (pages[0].has_previous, pages[0].has_next) == (False, True)
    assert (pages[2].has_previous, pages[2].has_next) == (True, False)
    seen = [c.email for p in pages for c in p.contacts]
    assert len(set(seen)) == 7


def test_count_stops_at_the_cap(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_search, "COUNT_CAP", 4)
    with transaction(runtime.sessions) as session:
        for n in range(6):
            make_contact(session, email=f"many{n}@example.com")
        result = search_contacts(session, "many", page=99, page_size=2)
    assert (result.total, result.total_is_capped) == (4, True)
    assert result.page == 2
    assert len(result.contacts) == 2


def test_page_below_one_is_the_first(runtime: Runtime, people: None) -> None:
    with transaction(runtime.sessions) as session:
        assert search_contacts(session, "", page=-3).page == 1


def test_overlong_search_is_invalid(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session, pytest.raises(InvalidInput) as caught:
        search_contacts(session, "x" * 201)
    assert caught.value.problems[0].location == "q"


def test_store_totals_count_each_table(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        contact = make_contact(session)
        make_order(
            session,
            contact.id,
            T0 + timedelta(days=1),
            [(make_product(session, "S1", "Soap", 2.5), 2)],
        )
        session.add(Event(dedupe_key="e1", contact_id=contact.id, type="visit", occurred_at=T0))
        session.flush()
        totals = count_store(session)
    assert (totals.contacts, totals.orders, totals.products, totals.events) == (1, 1, 1, 1)


def test_contact_detail_holds_consents_recent_orders_with_lines_and_events(
    runtime: Runtime,
) -> None:
    with transaction(runtime.sessions) as session:
        contact = make_contact(session, attributes={"tier": "gold"})
        other = make_contact(session)
        soap = make_product(session, "S1", "Soap", 2.5)
        towel = make_product(session, "T1", "Towel", 12.0)
        for n in range(12):
            make_order(session, contact.id, T0 + timedelta(days=n), [(soap, 2), (towel, 1)])
        make_order(session, other.id, T0 + timedelta(days=50), [(towel, 9)])
        make_consent(
            session,
            contact.id,
            "sms",
            ("opted_in", T0 - timedelta(days=1), None),
            ("opted_out", T0, None),
        )
        session.add(
            Consent(
                contact_id=contact.id,
                channel="email",
                purpose="marketing",
                state="opted_in",
                updated_at=T0,
            )
        )
        for n in range(30):
            session.add(
                Event(
                    dedupe_key=f"e{n}",
                    contact_id=contact.id,
                    type=f"t{n}",
                    properties={"n": n},
                    occurred_at=T0 + timedelta(minutes=n),
                )
            )
        contact_id = contact.id
    with transaction(runtime.sessions) as session:
        detail = get_contact_detail(session, contact_id)
    # Plain data: usable after the session closed, with no ORM row inside.
    assert is_dataclass(detail)
    assert detail.profile.attributes == {"tier": "gold"}
    assert [(c.channel, c.state) for c in detail.consents] == [
        ("email", "opted_in"),
        ("sms", "opted_out"),
    ]
    assert [c.state for c in detail.consent_history] == ["opted_out", "opted_in"]
    assert detail.order_count == 12
    assert detail.lifetime_revenue == pytest.approx(12 * 17.0)
    assert len(detail.recent_orders) == contact_detail.RECENT_ORDERS
    assert detail.recent_orders[0].ordered_at == T0 + timedelta(days=11)
    lines = detail.recent_orders[0].lines
    assert [(x.product_name, x.quantity, x.unit_price) for x in lines] == [
        ("Soap", 2, 2.5),
        ("Towel", 1, 12.0),
    ]
    assert lines[0].amount == 5.0
    assert len(detail.recent_events) == contact_detail.RECENT_EVENTS
    assert detail.recent_events[0].type == "t29"
    assert detail.recent_events[0].properties == {"n": 29}
    assert {f.name for f in fields(detail)} >= {"profile", "consents", "recent_orders"}


def test_contact_without_history_has_empty_sections(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        detail = get_contact_detail(session, make_contact(session).id)
    assert detail.consents == detail.consent_history == []
    assert detail.recent_orders == detail.recent_events == []
    assert (detail.order_count, detail.lifetime_revenue) == (0, 0.0)


def test_unknown_contact_is_not_found(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session, pytest.raises(NotFound):
        get_contact_detail(session, 424242)
