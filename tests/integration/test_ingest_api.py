"""The ingest API on SQLite and PostgreSQL: auth, validation, upserts, all-or-nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaign_engine.db import transaction
from campaign_engine.models import Consent, ConsentEvent, Contact, Event, Order, OrderLine, Product
from campaign_engine.runtime import Runtime
from tests.factories import make_api_key

LAPTOP = {"sku": "LAP-1", "name": "Laptop", "category": "computers", "price": 900, "unit_cost": 600}
LAPTOP_PRO = {
    "sku": "LAP-PRO",
    "name": "Laptop Pro",
    "category": "computers",
    "price": 1900,
    "tier": "premium",
}


@pytest.fixture
def token(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return make_api_key(session, "ingest")[1]


def post(client: FlaskClient, token: str, kind: str, *records: Any) -> Any:
    return client.post(
        f"/api/v1/{kind}",
        json={"records": list(records)},
        headers={"Authorization": f"Bearer {token}"},
    )


def count(runtime: Runtime, model: Any) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_missing_unknown_and_wrongly_scoped_keys_are_refused(
    client: FlaskClient, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        _, personalise_only = make_api_key(session, "personalise")
    assert client.post("/api/v1/contacts", json={"records": []}).status_code == 401
    assert post(client, "ce_deadbeef_nothing", "contacts").status_code == 401
    response = post(client, personalise_only, "contacts", {"external_id": "C1"})
    assert response.status_code == 403
    assert "ingest" in response.get_json()["error"]["message"]
    assert count(runtime, Contact) == 0


def test_contacts_upsert_by_external_id_and_keep_absent_fields(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    first = post(
        client, token, "contacts", {"external_id": "C1", "email": "a@x.com", "city": "Leeds"}
    )
    assert first.get_json() == {"created": 1, "updated": 0, "unchanged": 0}
    second = post(
        client, token, "contacts", {"external_id": "C1", "city": "York"}, {"external_id": "C2"}
    )
    assert second.get_json() == {"created": 1, "updated": 1, "unchanged": 0}
    with transaction(runtime.sessions) as session:
        contact = session.scalars(select(Contact).where(Contact.external_id == "C1")).one()
        assert (contact.email, contact.city) == ("a@x.com", "York")
    assert count(runtime, Contact) == 2


def test_one_bad_record_writes_nothing_and_names_record_and_field(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    response = post(
        client,
        token,
        "contacts",
        {"external_id": "C1"},
        {"external_id": "C2", "email": "broken", "x": 1},
    )
    assert response.status_code == 422
    problems = response.get_json()["error"]["problems"]
    assert {p["location"] for p in problems} == {"records[1].email", "records[1].x"}
    assert count(runtime, Contact) == 0


def test_oversized_batch_is_refused(client: FlaskClient, token: str, runtime: Runtime) -> None:
    response = post(client, token, "contacts", *({"external_id": f"C{i}"} for i in range(1001)))
    assert response.status_code == 413
    assert count(runtime, Contact) == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"records": []}', "text/plain"),
        ('[{"external_id": "C1"}]', "application/json"),
    ],
)
def test_malformed_bodies_get_422(
    client: FlaskClient, token: str, body: str, content_type: str
) -> None:
    response = client.post(
        "/api/v1/contacts",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["message"]


def test_products_link_to_premium_version_in_the_same_batch(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    assert (
        post(client, token, "products", LAPTOP | {"premium_sku": "LAP-PRO"}, LAPTOP_PRO).status_code
        == 200
    )
    with transaction(runtime.sessions) as session:
        basic = session.scalars(select(Product).where(Product.sku == "LAP-1")).one()
        premium = session.scalars(select(Product).where(Product.sku == "LAP-PRO")).one()
        assert basic.premium_product_id == premium.id
    response = post(client, token, "products", {**LAPTOP, "sku": "X", "premium_sku": "MISSING"})
    assert response.status_code == 422
    assert response.get_json()["error"]["problems"][0]["location"] == "records[0].premium_sku"
    unlinked = post(
        client,
        token,
        "products",
        {
            "sku": "LAP-1",
            "name": "Laptop",
            "category": "computers",
            "price": 900,
            "premium_sku": None,
        },
    )
    assert unlinked.get_json()["updated"] == 1
    with transaction(runtime.sessions) as session:
        assert (
            session.scalar(select(Product.premium_product_id).where(Product.sku == "LAP-1")) is None
        )


def order(order_id: str, *lines: dict[str, Any], contact: str = "C1") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "contact_id": contact,
        "ordered_at": "2024-05-01T12:00:00+02:00",
        "lines": list(lines),
    }


def test_orders_total_their_lines_and_replace_them_on_resend(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    post(client, token, "contacts", {"external_id": "C1"})
    post(client, token, "products", LAPTOP, LAPTOP_PRO)
    lines = [
        {"sku": "LAP-1", "quantity": 2, "unit_price": 850},
        {"sku": "LAP-PRO", "unit_price": 1800, "unit_cost": 1000},
    ]
    assert post(client, token, "orders", order("O1", *lines)).get_json()["created"] == 1
    with transaction(runtime.sessions) as session:
        stored = session.scalars(select(Order)).one()
        assert (stored.revenue, stored.cost) == (3500.0, 2200.0)
        assert stored.ordered_at.isoformat() == "2024-05-01T10:00:00+00:00"
    assert post(client, token, "orders", order("O1", lines[0])).get_json()["updated"] == 1
    assert count(runtime, OrderLine) == 1


def test_order_with_unknown_contact_or_sku_writes_nothing(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    post(client, token, "contacts", {"external_id": "C1"})
    post(client, token, "products", LAPTOP)
    good = order("O1", {"sku": "LAP-1", "unit_price": 1})
    bad = order(
        "O2", {"sku": "LAP-1", "unit_price": 1}, {"sku": "NOPE", "unit_price": 1}, contact="C9"
    )
    response = post(client, token, "orders", good, bad)
    assert response.status_code == 422
    assert {p["location"] for p in response.get_json()["error"]["problems"]} == {
        "records[1].contact_id",
        "records[1].lines[1].sku",
    }
    assert count(runtime, Order) == 0


def test_events_are_idempotent_with_and_without_event_id(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    post(client, token, "contacts", {"external_id": "C1"})
    events = [
        {
            "contact_id": "C1",
            "type": "page_view",
            "occurred_at": "2024-01-01T00:00:00Z",
            "properties": {"url": "/"},
        },
        {
            "event_id": "e-2",
            "anonymous_id": "v-9",
            "type": "search",
            "occurred_at": "2024-01-01T00:00:00Z",
        },
    ]
    assert post(client, token, "events", *events).get_json()["created"] == 2
    assert post(client, token, "events", *events).get_json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
    }
    assert count(runtime, Event) == 2


def test_consent_history_is_kept_and_current_state_follows_the_newest(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    post(client, token, "contacts", {"external_id": "C1"})
    statements = [
        {
            "contact_id": "C1",
            "channel": "email",
            "state": "opted_out",
            "occurred_at": "2024-02-01T00:00:00Z",
        },
        {
            "contact_id": "C1",
            "channel": "email",
            "state": "opted_in",
            "occurred_at": "2024-01-01T00:00:00Z",
        },
    ]
    post(client, token, "consents", *statements)
    post(client, token, "consents", *statements)  # re-sent: no new history
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Consent.state)).all() == ["opted_out"]
    assert count(runtime, ConsentEvent) == 2


def test_openapi_document_needs_a_key_and_describes_every_record(
    client: FlaskClient, token: str
) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 401
    document = client.get(
        "/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    ingest = {f"/api/v1/{k}" for k in ("contacts", "products", "orders", "events", "consents")}
    assert ingest <= set(document["paths"])
    # Every routed endpoint is documented, with the method it answers.
    documented = {
        (path.replace("{", "<").replace("}", ">"), method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = str(rule).replace("<int:", "<")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                if "<kind>" not in path:
                    assert (path, method) in documented, (path, method)
    contact = document["components"]["schemas"]["ContactRecord"]
    assert contact["additionalProperties"] is False and "external_id" in contact["required"]


def test_explicit_null_for_a_stored_not_null_field_is_422(
    client: FlaskClient, token: str, runtime: Runtime
) -> None:
    response = post(client, token, "contacts", {"external_id": "C1", "attributes": None})
    assert response.status_code == 422
    assert response.get_json()["error"]["problems"][0]["location"] == "records[0].attributes"
    assert count(runtime, Contact) == 0
