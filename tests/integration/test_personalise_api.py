"""The storefront API on SQLite and PostgreSQL: modes, consent, holdout, offers, impressions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from campaign_engine.api.personalise import storefront_of
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.models import Event, Product
from campaign_engine.personalisation import in_holdout
from campaign_engine.personalisation_events import BufferedSink, impression_row
from campaign_engine.recommend.ruleset import activate_rule_set
from campaign_engine.runtime import Runtime
from tests.factories import make_api_key, make_contact, make_product
from tests.recommend_support import NOW, buyer, make_catalogue, make_rule_set, sent_offer

SLOTS = [
    {"name": "cross", "type": "cross_sell", "k": 3},
    {"name": "up", "type": "up_sell", "k": 2},
    {"name": "offers", "type": "offers", "k": 3},
    {"name": "banner", "type": "content"},
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Check for a new rule set on every request, so activating one shows at once.
    return replace(settings, recommend=replace(settings.recommend, cache_seconds=0))


@pytest.fixture
def products(runtime: Runtime) -> dict[str, Product]:
    with transaction(runtime.sessions) as session:
        products = make_catalogue(session)
        make_rule_set(session, products)
        return products


@pytest.fixture
def token(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return make_api_key(session, "personalise")[1]


def ask(client: FlaskClient, token: str, **body: Any) -> Any:
    body.setdefault("slots", SLOTS)
    return client.post(
        "/api/v1/personalise", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def skus(answer: Any, slot: str) -> list[str]:
    return [item["sku"] for item in answer["slots"][slot]["items"]]


def impressions(app: Flask, runtime: Runtime) -> list[Event]:
    storefront_of(app.extensions).events.flush()
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def test_anonymous_basket_gets_explained_cross_sell_and_up_sell(
    client: FlaskClient, token: str, products: dict[str, Product]
) -> None:
    response = ask(client, token, visitor_id="v-1", basket=["LAPTOP-BASIC"])
    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["mode"], answer["personalised"], answer["holdout"]) == (
        "contextual",
        True,
        False,
    )
    assert skus(answer, "cross") == ["LAPTOP-BAG", "ANTIVIRUS", "MOUSE"]
    assert answer["slots"]["cross"]["items"][0]["reason"] == (
        "has Laptop 14in Basic in the basket; 45% of orders with Laptop 14in Basic also include"
        " Laptop Bag, 3.2\u00d7 the usual rate"
    )
    assert skus(answer, "up") == ["LAPTOP-PRO"]
    assert "premium version" in answer["slots"]["up"]["items"][0]["reason"]
    assert answer["slots"]["offers"]["items"] == []  # no campaign and no history: no offers
    assert answer["slots"]["banner"]["items"][0]["key"] == "category:computer_accessories"


def test_consenting_buyer_gets_history_based_offers_never_what_they_own(
    client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        contact = buyer(session, products, ["LAPTOP-BASIC", "LAPTOP-BAG", "ANTIVIRUS"])
        software_fan = buyer(session, products, ["ANTIVIRUS", "OFFICE", "ANTIVIRUS"])
    answer = ask(client, token, contact_id=contact.external_id).get_json()
    assert answer["mode"] == "personal"
    assert skus(answer, "cross") == ["MOUSE"]
    assert answer["slots"]["cross"]["items"][0]["reason"].startswith("bought Laptop 14in Basic;")
    assert skus(answer, "up") == ["LAPTOP-PRO"]
    gap = ask(client, token, contact_id=software_fan.external_id).get_json()
    offer = gap["slots"]["offers"]["items"][0]
    assert (offer["kind"], offer["sku"]) == ("category_gap", "LAPTOP-BASIC")
    assert offer["reason"].startswith("buys software (3 purchases), never computers; 18% of")


def test_without_consent_the_answer_is_non_personal_and_says_why(
    client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        refused = buyer(session, products, ["LAPTOP-BASIC"], consent="opted_out")
        unknown = buyer(session, products, ["LAPTOP-BASIC"], consent=None)
    for contact in (refused, unknown):
        answer = ask(
            client, token, contact_id=contact.external_id, basket=["MEAL"], page={"type": "home"}
        ).get_json()
        assert (answer["mode"], answer["personalised"]) == ("non_personal", False)
        assert "no consent to personalisation" in answer["why"]
        # Best sellers (bar the basket's meal), nothing drawn from the laptop they bought.
        assert skus(answer, "cross") == ["APPLE-PIE", "ANTIVIRUS", "LAPTOP-BASIC"]
        assert all(i["kind"] == "popular" for i in answer["slots"]["cross"]["items"])
        assert answer["slots"]["offers"]["items"] == []


def test_the_storefront_can_ask_for_no_personalisation(
    client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        contact = buyer(session, products, ["LAPTOP-BASIC"])
    answer = ask(
        client, token, contact_id=contact.external_id, personalisation=False, page={}
    ).get_json()
    assert answer["mode"] == "non_personal"
    assert "asked for no personalisation" in answer["why"]


def test_campaign_offer_comes_first_with_the_same_products_as_the_message(
    client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        contact = buyer(session, products, ["LAPTOP-BASIC"])
        sent_offer(session, contact, "cross_sell")
    answer = ask(client, token, contact_id=contact.external_id, basket=["MEAL"]).get_json()
    offer = answer["slots"]["offers"]["items"][0]
    assert offer["kind"] == "campaign_offer"
    assert offer["campaign"] == {
        "code": "SPRING-XSELL",
        "name": "Spring accessories",
        "type": "cross_sell",
    }
    offered = [p["sku"] for p in offer["products"]]
    assert offered == ["LAPTOP-BAG", "ANTIVIRUS", "MOUSE"]  # from history, as the email was
    # The cross-sell slot leads with the same products, ahead of the basket's apple pie.
    assert skus(answer, "cross") == offered
    first = answer["slots"]["cross"]["items"][0]
    assert "also offered by campaign 'Spring accessories'" in first["reason"]


def test_holdout_gets_the_non_personal_answer_and_is_recorded(
    app: Flask, client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    recommend = replace(runtime.settings.recommend, holdout_percent=50)
    storefront_of(app.extensions).settings = recommend
    with transaction(runtime.sessions) as session:
        contacts = [buyer(session, products, ["LAPTOP-BASIC"]) for _ in range(12)]
    held = [c for c in contacts if in_holdout(recommend, c.id, None)]
    treated = [c for c in contacts if not in_holdout(recommend, c.id, None)]
    assert held and treated
    for contact in (held[0], treated[0]):
        answer = ask(client, token, contact_id=contact.external_id).get_json()
        assert answer["holdout"] is (contact in held)
        assert answer["mode"] == ("non_personal" if contact in held else "personal")
    visitors = {v: in_holdout(recommend, None, v) for v in (f"visitor-{n}" for n in range(12))}
    anonymous = next(v for v, h in visitors.items() if h)
    assert ask(client, token, visitor_id=anonymous, basket=["MEAL"]).get_json()["holdout"]
    assert ask(client, token, visitor_id=anonymous, basket=["MEAL"]).get_json()["holdout"]
    events = impressions(app, runtime)
    assert [e.properties["holdout"] for e in events] == [True, False, True, True]
    assert events[0].contact_id == held[0].id
    assert events[2].anonymous_id == anonymous and events[2].contact_id is None


def test_impressions_and_clicks_are_recorded_once(
    app: Flask, client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    answer = ask(client, token, visitor_id="v-9", basket=["MEAL"]).get_json()
    click = {"impression_id": answer["impression_id"], "sku": "APPLE-PIE", "slot": "cross"}
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        response = client.post("/api/v1/personalise/clicks", json=click, headers=headers)
        assert response.status_code == 202
    events = impressions(app, runtime)
    assert [e.type for e in events] == ["personalisation_impression", "personalisation_click"]
    shown, clicked = events
    assert shown.dedupe_key == answer["impression_id"]
    assert shown.source == "personalise" and shown.anonymous_id == "v-9"
    assert shown.properties["slots"]["cross"] == ["APPLE-PIE"]
    assert shown.properties["mode"] == "contextual"
    assert clicked.properties == click


def test_a_newly_activated_rule_set_is_served(
    client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    first = ask(client, token, basket=["MEAL"]).get_json()
    with transaction(runtime.sessions) as session:
        newer = make_rule_set(
            session, products, [(["MEAL"], ["LAPTOP-BAG"], 0.2, 1.5)], activate=False
        )
        activate_rule_set(session, newer.id, NOW)
    second = ask(client, token, basket=["MEAL"]).get_json()
    assert (first["rule_set"], skus(first, "cross")) == (newer.id - 1, ["APPLE-PIE"])
    assert (second["rule_set"], skus(second, "cross")) == (newer.id, ["LAPTOP-BAG"])


def test_lookup_by_products_and_by_contact(
    client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        contact = buyer(session, products, ["LAPTOP-BASIC", "MOUSE"])
    headers = {"Authorization": f"Bearer {token}"}
    by_sku = client.get(
        "/api/v1/recommendations?sku=LAPTOP-BASIC&kind=cross_sell&k=2", headers=headers
    )
    assert by_sku.status_code == 200
    found = by_sku.get_json()
    assert [r["sku"] for r in found["recommendations"]] == ["LAPTOP-BAG", "ANTIVIRUS"]
    assert found["recommendations"][0]["reason"].startswith("is looking at Laptop 14in Basic; 45%")
    assert found["why"] == "recommendations for the products asked about"
    mine = client.get(f"/api/v1/recommendations?contact_id={contact.external_id}", headers=headers)
    assert mine.get_json()["mode"] == "personal"
    got = [r["sku"] for r in mine.get_json()["recommendations"]]
    assert got[:3] == ["LAPTOP-PRO", "LAPTOP-BAG", "ANTIVIRUS"]  # 380 x 1; 27 x 3.2; 33 x 2
    assert "MOUSE" not in got and "LAPTOP-BASIC" not in got


def test_no_rule_set_yet_still_answers(client: FlaskClient, token: str, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_catalogue(session)
        make_contact(session)
    answer = ask(client, token, basket=["LAPTOP-BASIC"]).get_json()
    assert answer["rule_set"] is None
    assert skus(answer, "cross") == []
    assert skus(answer, "up") == ["LAPTOP-PRO"]  # the catalogue still knows premium versions


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # a server drops connections
def test_a_read_connection_the_server_dropped_is_replaced(
    app: Flask, client: FlaskClient, token: str, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        contact = buyer(session, products, ["LAPTOP-BASIC"])
    assert ask(client, token, contact_id=contact.external_id).status_code == 200
    reads = storefront_of(app.extensions).reads
    with reads.connect() as db:  # the one pooled connection the next request will take
        pid = db.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with runtime.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    answer = ask(client, token, contact_id=contact.external_id)
    assert answer.status_code == 200
    assert answer.get_json()["mode"] == "personal"


def test_buffered_impressions_are_all_written_by_a_clean_shutdown(runtime: Runtime) -> None:
    sink = BufferedSink(runtime.sessions, flush_ms=5)
    for n in range(300):
        sink.submit(impression_row(f"{n:032x}", None, f"v{n}", {"mode": "contextual"}, NOW))
        if n == 150:
            sink.wake.set()  # let the thread take a batch while more arrive
    sink.close()
    with transaction(runtime.sessions) as session:
        stored = session.scalars(select(Event.dedupe_key)).all()
    assert sorted(stored) == [f"{n:032x}" for n in range(300)]


def test_a_purchase_of_a_product_newer_than_the_cached_rules_is_ignored_not_a_500(
    products: dict[str, Product], runtime: Runtime
) -> None:
    from campaign_engine.personalisation import personalise
    from campaign_engine.personalisation_requests import PersonaliseRequest
    from campaign_engine.recommend.snapshot import SnapshotCache

    cached = SnapshotCache(runtime.engine, 0).get()  # as a process holds it between refreshes
    with transaction(runtime.sessions) as session:
        gadget = make_product(session, "NEW-GADGET", "New gadget", 19.0, category="gadgets")
        contact = buyer(session, products | {"NEW-GADGET": gadget}, ["NEW-GADGET", "LAPTOP-BASIC"])
    request = PersonaliseRequest.model_validate({"contact_id": contact.external_id, "slots": SLOTS})
    with transaction(runtime.sessions) as session:
        answer, _ = personalise(session, cached, runtime.settings.recommend, request, NOW)
    assert answer["mode"] == "personal"
    assert [item["sku"] for item in answer["slots"]["up"]["items"]] == ["LAPTOP-PRO"]
