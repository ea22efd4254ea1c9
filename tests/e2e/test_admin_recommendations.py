"""The Recommendations section: rule sets, the rule explorer, an item's rules, and the preview."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.models import AssociationRule, Product, RuleSet
from campaign_engine.recommend.ruleset import MinedLevel, rule_row, save_rule_set
from campaign_engine.runtime import Runtime
from tests.e2e.conftest import csrf_token, sign_in
from tests.e2e.test_admin_templates import preview as template_preview
from tests.factories import make_api_key
from tests.recommend_support import buyer, make_catalogue, make_rule_set

TIMES = "\u00d7"


@dataclass(frozen=True)
class Store:
    """The test catalogue with an active rule set and an older, inactive one."""

    products: dict[str, int]
    active: int
    older: int


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The storefront checks for a new active set on every request, as after an activation.
    return replace(settings, recommend=replace(settings.recommend, cache_seconds=0))


@pytest.fixture
def store(runtime: Runtime) -> Store:
    with transaction(runtime.sessions) as session:
        products = make_catalogue(session)
        older = make_rule_set(
            session, products, [(["MEAL"], ["APPLE-PIE"], 0.2, 1.5)], [], activate=False
        )
        active = make_rule_set(session, products)
        return Store({sku: p.id for sku, p in products.items()}, active.id, older.id)


def page_text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    return html.unescape(response.get_data(as_text=True))


def plain(page: str) -> str:
    """Return a page's text without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def rows(page: str, table: str) -> list[str]:
    """Return the text of each body row of the table with id `table`."""
    body = re.search(rf'<table class="list" id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, table
    found = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [plain(row) for row in found]


def test_rule_sets_list_versions_thresholds_counts_and_the_active_one(
    signed_in: FlaskClient, store: Store
) -> None:
    page = page_text(signed_in, "/admin/recommendations")
    assert ">Recommendations</a>" in page  # in the navigation
    active, older = rows(page, "rule-sets")
    assert active.startswith(f"v{store.active} order (products) customer (categories)")
    assert "support ≥ 10 baskets" in active and "1,000" in active
    assert " 4 1 " in f" {active} "  # four product rules, one category rule
    assert "active" in active and "Activate" not in active
    assert older.startswith(f"v{store.older}") and "Activate" in older
    assert "campaign-engine rules mine" in page and "Mine now" not in page


def test_activating_a_set_makes_it_the_only_active_one_and_the_preview_follows(
    signed_in: FlaskClient, store: Store, runtime: Runtime
) -> None:
    before = page_text(signed_in, "/admin/recommendations/preview?basket=MEAL")
    assert f"v{store.active} (active)" in plain(before)
    response = signed_in.post(
        f"/admin/recommendations/sets/{store.older}/activate",
        data={"csrf_token": csrf_token(signed_in)},
    )
    assert response.status_code == 303
    with transaction(runtime.sessions) as session:
        assert list(session.scalars(select(RuleSet.id).where(RuleSet.active))) == [store.older]
    page = page_text(signed_in, "/admin/recommendations")
    assert f"Rule set {store.older} is active" in page
    after = page_text(signed_in, "/admin/recommendations/preview?basket=MEAL")
    assert f"v{store.older} (active)" in plain(after)
    # The older set's single rule, with its own confidence and lift.
    assert f"20% of orders with Burger Meal also include Apple Pie, 1.5{TIMES}" in after


def test_marketers_explore_and_preview_but_may_not_activate(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    sign_in(client, users["marketer"])
    page = page_text(client, "/admin/recommendations")
    assert "Activate" not in page
    page_text(client, f"/admin/recommendations/sets/{store.active}")
    page_text(client, "/admin/recommendations/preview?basket=MEAL")
    response = client.post(
        f"/admin/recommendations/sets/{store.older}/activate",
        data={"csrf_token": csrf_token(client)},
    )
    assert response.status_code == 403


def test_rules_show_their_measures_and_the_sentence_recommendations_use(
    signed_in: FlaskClient, store: Store
) -> None:
    page = page_text(signed_in, f"/admin/recommendations/sets/{store.active}")
    found = rows(page, "rules")
    assert len(found) == 4 and "4 rules match" in page
    assert found[0].startswith("Burger Meal Apple Pie")  # the highest lift (4.0) first
    bag = next(row for row in found if "Laptop Bag bought" in row)
    assert (
        "bought Laptop 14in Basic; 45% of orders with Laptop 14in Basic also include Laptop Bag,"
        f" 3.2{TIMES} the usual rate"
    ) in bag
    assert "45.0% 3.20" in bag


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("min_lift=3", ["APPLE-PIE", "LAPTOP-BAG"]),
        ("min_confidence=0.4", ["APPLE-PIE", "LAPTOP-BAG"]),
        ("min_lift=2.5&min_confidence=0.3", ["APPLE-PIE", "LAPTOP-BAG", "MOUSE"]),
        ("antecedent=laptop", ["LAPTOP-BAG", "MOUSE", "ANTIVIRUS"]),
        ("antecedent=LAPTOP-BASIC&sort=confidence&order=asc", ["ANTIVIRUS", "MOUSE", "LAPTOP-BAG"]),
        ("consequent=mouse", ["MOUSE"]),
        ("consequent=restaurant", ["APPLE-PIE"]),  # a category names its products
        ("consequent=basic", []),  # Laptop 14in Basic is only ever on the left
        ("antecedent=nothing-like-this", []),
        ("sort=support&order=asc&min_lift=2.9", ["LAPTOP-BAG", "APPLE-PIE"]),  # ties by id
    ],
)
def test_rules_are_filtered_and_sorted_by_the_query(
    signed_in: FlaskClient, store: Store, query: str, expected: list[str]
) -> None:
    page = page_text(signed_in, f"/admin/recommendations/sets/{store.active}?{query}")
    links = re.findall(r"<td>(.*?)</td>", page)
    consequents = [
        sku for cell in links[1::2] for sku in re.findall(r"/products/([A-Z-]+)\"", cell)
    ]
    assert consequents == expected
    if not expected:
        assert "No rule matches these filters." in page


def test_a_search_matches_whole_ids_on_the_side_asked(
    signed_in: FlaskClient, store: Store, runtime: Runtime
) -> None:
    meal = store.products["MEAL"]
    lookalike = int(f"{meal}1")  # 12 vs 121: the same digits, another product
    with transaction(runtime.sessions) as session:
        session.add_all(
            AssociationRule(rule_set_id=store.active, **rule_row("product", lhs, rhs, m))
            for lhs, rhs, m in (
                ([lookalike], [store.products["MOUSE"]], MEASURES),
                ([store.products["MOUSE"], lookalike], [store.products["OFFICE"]], MEASURES),
                ([store.products["OFFICE"]], [meal], MEASURES),
            )
        )
    page = page_text(signed_in, f"/admin/recommendations/sets/{store.active}?antecedent=MEAL")
    assert [row.split(" ")[0:3] for row in rows(page, "rules")] == [["Burger", "Meal", "Apple"]]
    page = page_text(signed_in, f"/admin/recommendations/sets/{store.active}?consequent=MEAL")
    assert [row.split(" ")[0:3] for row in rows(page, "rules")] == [["Office", "Suite", "Burger"]]
    assert f"product {lookalike}" in page_text(
        signed_in, f"/admin/recommendations/sets/{store.active}?consequent=OFFICE"
    )


MEASURES = {"support": 0.01, "confidence": 0.3, "lift": 1.3, "leverage": 0.001, "conviction": 1.2}


def test_category_rules_read_as_category_gaps(signed_in: FlaskClient, store: Store) -> None:
    url = f"/admin/recommendations/sets/{store.active}?level=category"
    [rule] = rows(page_text(signed_in, url), "rules")
    assert rule.startswith("software computers")
    assert f"buys software; 18% of software buyers also buy computers, 2.5{TIMES}" in rule
    assert rows(page_text(signed_in, url + "&antecedent=soft"), "rules") == [rule]
    assert "no category matches" in page_text(signed_in, url + "&consequent=meal")


def test_rules_come_fifty_to_a_page(signed_in: FlaskClient, runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        products = make_catalogue(session)
        ids = [p.id for p in products.values()]
        pairs = [(a, c) for a in ids for c in ids if a != c][:60]
        rules = [
            rule_row("product", [a], [c], MEASURES | {"lift": 1 + n / 100})
            for n, (a, c) in enumerate(pairs)
        ]
        rule_set = save_rule_set(
            session,
            RuleSet(per="customer", parameters={"min_support": 0.01, "min_count": 5}),
            {"product": MinedLevel(100, rules, {}), "category": MinedLevel(100, [], {})},
        )
    url = f"/admin/recommendations/sets/{rule_set.id}"
    first = page_text(signed_in, url)
    assert len(rows(first, "rules")) == 50 and "Page 1 of 2" in first
    assert 'rel="next" href="/admin/recommendations/sets/' in first
    second = page_text(signed_in, url + "?page=2")
    last = rows(second, "rules")
    assert len(last) == 10 and "1.00 " in last[-1]  # the weakest, lift 1.00, last
    assert "buyers also buy" in first and "of orders with" not in first  # per customer


@pytest.mark.parametrize(
    ("query", "field"),
    [("min_lift=lots", "min_lift"), ("min_support=2", "min_support"), ("sort=name", "sort")],
)
def test_bad_filters_are_refused_naming_the_field(
    signed_in: FlaskClient, store: Store, query: str, field: str
) -> None:
    page = page_text(signed_in, f"/admin/recommendations/sets/{store.active}?{query}", 400)
    assert f"<code>{field}</code>" in page


def test_unknown_rule_sets_and_items_are_not_found(signed_in: FlaskClient, store: Store) -> None:
    page_text(signed_in, "/admin/recommendations/sets/999999", 404)
    page_text(signed_in, f"/admin/recommendations/sets/{store.active}/products/NOPE", 404)
    page_text(signed_in, f"/admin/recommendations/sets/{store.active}/categories/nope", 404)


def test_a_product_page_shows_its_rules_on_each_side_and_its_premium_version(
    signed_in: FlaskClient, store: Store
) -> None:
    base = f"/admin/recommendations/sets/{store.active}/products"
    laptop = page_text(signed_in, f"{base}/LAPTOP-BASIC")
    found = rows(laptop, "as-antecedent")
    assert len(found) == 3 and all(r.startswith("Laptop 14in Basic ") for r in found)
    assert "Laptop Bag" in rows(laptop, "as-antecedent")[0]
    assert 'id="as-consequent"' not in laptop
    assert "50 of 1,000 (5.00%)" in laptop  # its baskets in the set
    assert "Laptop 16in Pro</a> (its up-sell)" in laptop
    bag = page_text(signed_in, f"{base}/LAPTOP-BAG")
    assert len(rows(bag, "as-consequent")) == 1 and 'id="as-antecedent"' not in bag
    category = page_text(
        signed_in, f"/admin/recommendations/sets/{store.active}/categories/software"
    )
    assert "18% of software buyers also buy computers" in category


# --- preview ---------------------------------------------------------------------------------


def storefront(client: FlaskClient, runtime: Runtime, **body: Any) -> Any:
    with transaction(runtime.sessions) as session:
        token = make_api_key(session, "personalise")[1]
    body["slots"] = [{"name": t, "type": t, "k": 5} for t in ("cross_sell", "up_sell", "offers")]
    response = client.post(
        "/api/v1/personalise", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def shown(page: str, section: str) -> list[tuple[str, str]]:
    """Return (SKU, reason) of each item the preview lists in `section`."""
    part = re.search(rf'id="{section}".*?</section>', page, re.S)
    assert part, section
    return re.findall(
        r'<li data-sku="([^"]+)"[^>]*>.*?<span class="reason">(.*?)</span>', part.group(0), re.S
    )


def test_a_contact_preview_agrees_with_the_storefront_and_the_messages(
    signed_in: FlaskClient, store: Store, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        products = {p.sku: p for p in session.scalars(select(Product))}
        ada = buyer(session, products, ["LAPTOP-BASIC", "ANTIVIRUS"], email="ada@example.com")
    page = page_text(signed_in, "/admin/recommendations/preview?contact=ADA@example.com")
    assert 'data-mode="personal"' in page and f"#{ada.id}" in page
    assert "Antivirus 1 Year, Laptop 14in Basic" in page or "Laptop 14in Basic, Antivirus" in page
    answer = storefront(signed_in, runtime, contact_id=ada.external_id)
    for slot in ("cross_sell", "up_sell", "offers"):
        expected = [(i["sku"], i["reason"]) for i in answer["slots"][slot]["items"]]
        assert shown(page, f"slot-{slot}") == expected, slot
    assert [sku for sku, _ in shown(page, "slot-cross_sell")] == ["LAPTOP-BAG", "MOUSE"]
    assert shown(page, "message-cross_sell") == shown(page, "slot-cross_sell")
    assert [sku for sku, _ in shown(page, "message-up_sell")] == ["LAPTOP-PRO"]
    by_id = page_text(signed_in, f"/admin/recommendations/preview?contact={ada.id}")
    assert shown(by_id, "slot-cross_sell") == shown(page, "slot-cross_sell")


def test_a_basket_preview_is_the_anonymous_answer(
    signed_in: FlaskClient, store: Store, runtime: Runtime
) -> None:
    page = page_text(signed_in, "/admin/recommendations/preview?basket=MEAL")
    assert 'data-mode="contextual"' in page and 'id="messages"' not in page
    [(sku, reason)] = shown(page, "slot-cross_sell")
    assert sku == "APPLE-PIE"
    assert reason == (
        f"has Burger Meal in the basket; 50% of orders with Burger Meal also include Apple Pie,"
        f" 4.0{TIMES} the usual rate"
    )
    assert [s for s, _ in shown(page, "slot-up_sell")] == ["MEAL-SUPER-SIZE"]
    answer = storefront(signed_in, runtime, basket=["MEAL"], visitor_id="v-1")
    assert [i["sku"] for i in answer["slots"]["cross_sell"]["items"]] == ["APPLE-PIE"]


def test_a_contact_without_consent_gets_the_non_personal_answer_and_no_message_picks(
    signed_in: FlaskClient, store: Store, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        products = {p.sku: p for p in session.scalars(select(Product))}
        bob = buyer(session, products, ["LAPTOP-BASIC"], consent="opted_out")
    page = page_text(signed_in, f"/admin/recommendations/preview?contact={bob.external_id}")
    assert 'data-mode="non_personal"' in page and "no consent to personalisation" in page
    assert all(
        kind == "popular"
        for kind in re.findall(r'data-kind="(\w+)"', page.split('id="messages"')[0])
    )
    assert page.count("An empty list") == 3


def test_a_preview_of_a_set_that_is_not_active_says_so(
    signed_in: FlaskClient, store: Store
) -> None:
    page = page_text(
        signed_in, f"/admin/recommendations/preview?basket=MEAL&rule_set={store.older}"
    )
    assert f"v{store.older} (not active; the storefront uses v{store.active})" in plain(page)
    assert f"1.5{TIMES} the usual rate" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("basket=MEAL,NOPE", "no product with SKU 'NOPE'"),
        ("contact=nobody@example.com", "no contact has the id, email or external id"),
        ("basket=MEAL&rule_set=999999", "no rule set 999999"),
    ],
)
def test_a_preview_of_unknown_things_says_what_is_unknown(
    signed_in: FlaskClient, store: Store, query: str, message: str
) -> None:
    response = signed_in.get(f"/admin/recommendations/preview?{query}")
    assert response.status_code in (404, 422)
    page = html.unescape(response.get_data(as_text=True))
    assert message in page and 'id="preview-form"' in page


def test_previews_and_page_views_never_mine_or_record(
    signed_in: FlaskClient, store: Store, runtime: Runtime
) -> None:
    for url in (
        "/admin/recommendations",
        f"/admin/recommendations/sets/{store.active}",
        "/admin/recommendations/preview?basket=MEAL",
    ):
        page_text(signed_in, url)
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(RuleSet)) == 2
        from campaign_engine.models import Event

        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_the_template_editor_preview_shows_a_contacts_recommendations(
    signed_in: FlaskClient, store: Store, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        products = {p.sku: p for p in session.scalars(select(Product))}
        ada = buyer(session, products, ["MEAL"])
    body = {
        "kind": "message",
        "description": "",
        "channel": "sms",
        "purpose": "transactional",
        "text": "{% for p in recommendations('cross_sell', 2) %}{{ p.name }}: {{ p.reason }}"
        "{% else %}nothing{% endfor %}",
    }
    as_ada = template_preview(signed_in, body | {"contact_id": ada.id}).get_json()
    assert "text" in as_ada, as_ada
    assert as_ada["text"].startswith("Apple Pie: bought Burger Meal; 50% of orders with")
    sample = template_preview(signed_in, body).get_json()
    assert sample["text"].startswith("Trail Runner 2: bought Hydration Vest")
