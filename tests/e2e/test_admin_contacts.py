"""Dashboard, contact search and the contact page."""

from __future__ import annotations

from flask.testing import FlaskClient

from campaign_engine.db import transaction
from campaign_engine.runtime import Runtime
from tests.factories import make_contact


def test_dashboard_counts_the_store(signed_in: FlaskClient, shopper_id: int) -> None:
    page = signed_in.get("/admin/").get_data(as_text=True)
    assert '<span class="number">1</span> contacts' in page
    assert '<span class="number">2</span> orders' in page
    assert '<span class="number">2</span> products' in page
    assert '<span class="number">2</span> events' in page


def test_search_finds_a_contact_by_email_prefix(
    signed_in: FlaskClient, shopper_id: int, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        make_contact(session, email="grace@example.com", first_name="Grace", last_name="Hopper")
    page = signed_in.get("/admin/contacts?q=ADA.LOVE").get_data(as_text=True)
    assert "ada.lovelace@example.com" in page
    assert "grace@example.com" not in page
    assert "1 contact matching" in page
    assert f'href="/admin/contacts/{shopper_id}"' in page


def test_search_finds_a_contact_by_name(signed_in: FlaskClient, shopper_id: int) -> None:
    for query in ("lovelace", "Ada Love", "ADA-1815", "+44 1234 567890"):
        page = signed_in.get("/admin/contacts", query_string={"q": query}).get_data(as_text=True)
        assert "ada.lovelace@example.com" in page, query


def test_search_without_match_says_so(signed_in: FlaskClient, shopper_id: int) -> None:
    page = signed_in.get("/admin/contacts?q=zzz").get_data(as_text=True)
    assert "No contacts found." in page


def test_contact_list_pages_through_matches(signed_in: FlaskClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        for n in range(30):
            make_contact(session, email=f"bulk{n:02d}@example.com")
    first = signed_in.get("/admin/contacts?q=bulk").get_data(as_text=True)
    assert "30 contacts matching" in first
    assert "Page 1 of 2" in first
    second = signed_in.get("/admin/contacts?q=bulk&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    assert second.count("@example.com</td>") == 5


def test_contact_output_is_escaped(signed_in: FlaskClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_contact(session, first_name="<script>alert(1)</script>")
    page = signed_in.get("/admin/contacts?q=%3Cscript").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_contact_page_shows_profile_consents_orders_and_events(
    signed_in: FlaskClient, shopper_id: int
) -> None:
    response = signed_in.get(f"/admin/contacts/{shopper_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in (
        "Ada Lovelace",
        "ada.lovelace@example.com",
        "favourite_colour",
        "teal",
        "opted in",
        "opted out",
        "reply-stop",
        "ORD-100",
        "SPRING24",
        "Brass Desk Lamp",
        "99.00",
        "Indigo Ink",
        "2 orders, revenue 113.50 in total",
        "wishlist_add",
        "sku=LAMP-1",
    ):
        assert text in page, text


def test_unknown_contact_is_not_found(signed_in: FlaskClient) -> None:
    for path in ("/admin/contacts/999999", f"/admin/contacts/{2**70}"):
        response = signed_in.get(path)
        assert response.status_code == 404, path
    page = signed_in.get("/admin/contacts/999999").get_data(as_text=True)
    assert "there is no contact with id 999999" in page


def test_overlong_search_is_refused_with_a_message(signed_in: FlaskClient) -> None:
    response = signed_in.get("/admin/contacts", query_string={"q": "x" * 201})
    assert response.status_code == 422
    assert "search is too long" in response.get_data(as_text=True)
