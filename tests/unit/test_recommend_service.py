"""Recommendations over a tiny in-test rule table: the CRM texts' cross-sells and up-sells."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaign_engine.recommend.service import Context, category_gaps, popular, recommend
from campaign_engine.recommend.snapshot import ProductInfo, Rule, RuleIndex, build_snapshot

B, S, P = "basic", "standard", "premium"
# id, sku, name, category, price, unit cost, premium id, active, tier
CATALOGUE = [
    (1, "LAPTOP-BASIC", "Laptop 14in Basic", "computers", 499.0, 399.0, 3, True, B),
    (2, "LAPTOP-STD", "Laptop 15in", "computers", 899.0, 719.0, 3, True, S),
    (3, "LAPTOP-PRO", "Laptop 16in Pro", "computers", 1899.0, 1519.0, None, True, P),
    (4, "LAPTOP-BAG", "Laptop Bag", "computer_accessories", 49.0, 22.0, None, True, B),
    (5, "MOUSE", "Mouse", "computer_accessories", 25.0, 11.0, None, True, B),
    (6, "ANTIVIRUS", "Antivirus 1 Year", "software", 39.0, 6.0, None, True, B),
    (7, "MEAL", "Burger Meal", "restaurant", 8.99, 3.15, 8, True, B),
    (8, "MEAL-SUPER-SIZE", "Super-Size Burger Meal", "restaurant", 11.49, 4.02, None, True, P),
    (9, "APPLE-PIE", "Apple Pie", "restaurant", 2.49, 0.87, None, True, S),
    (10, "MOVIE-01", "Movie: Northern Lights", "movies", 14.99, 7.5, None, True, S),
    (11, "OST-01", "Soundtrack: Northern Lights", "soundtracks", 9.99, 4.0, None, True, S),
    (12, "OFFICE", "Office Suite", "software", 99.0, 15.0, None, True, S),
    (13, "LEATHER-BAG", "Leather Laptop Bag", "computer_accessories", 129.0, 58.0, None, True, P),
    (14, "OLD-MOUSE", "Ball Mouse", "computer_accessories", 9.0, 5.0, None, False, B),
]
PRODUCTS = [
    ProductInfo(i, sku, name, category, price, price - cost, premium, active, tier)
    for i, sku, name, category, price, cost, premium, active, tier in CATALOGUE
]


def rule(lhs: set[object], rhs: list[object], confidence: float, lift: float) -> Rule:
    return Rule(frozenset(lhs), tuple(rhs), 0.01, confidence, lift)


RULES = [
    ("product", rule({1}, [4], 0.45, 3.2)),
    ("product", rule({1}, [5], 0.35, 2.8)),
    ("product", rule({1}, [6], 0.30, 2.0)),
    ("product", rule({1, 5}, [4], 0.60, 4.3)),
    ("product", rule({7}, [9], 0.50, 4.0)),
    ("product", rule({10}, [11], 0.35, 5.1)),
    ("product", rule({4}, [13], 0.08, 1.6)),
    ("product", rule({6}, [14], 0.20, 3.0)),
    ("product", rule({5}, [2], 0.20, 1.5)),
    ("product", rule({5}, [1], 0.25, 1.4)),
    ("category", rule({"software"}, ["computers"], 0.18, 2.5)),
    ("category", rule({"computers"}, ["software"], 0.60, 1.9)),
]
ITEMS = [
    ("product", 1, 0.05),
    ("product", 2, 0.03),
    ("product", 3, 0.01),
    ("product", 4, 0.04),
    ("product", 6, 0.06),
    ("product", 7, 0.20),
    ("product", 9, 0.11),
    ("product", 12, 0.02),
    ("product", 14, 0.09),
    ("category", "software", 0.08),
    ("category", "computers", 0.09),
]
SNAPSHOT = build_snapshot(1, "order", 1000, PRODUCTS, RULES, ITEMS)


def skus(recs: list[object]) -> list[str]:
    return [SNAPSHOT.products[r.product_id].sku for r in recs]  # type: ignore[attr-defined]


def test_laptop_buyer_is_cross_sold_bag_mouse_and_antivirus_with_reasons() -> None:
    recs = recommend(SNAPSHOT, Context(history={1: 1}), "cross_sell", 5)
    assert set(skus(recs)) == {"LAPTOP-BAG", "MOUSE", "ANTIVIRUS"}
    bag = next(r for r in recs if r.product_id == 4)
    assert bag.reason == (
        "bought Laptop 14in Basic; 45% of orders with Laptop 14in Basic also include Laptop Bag,"
        " 3.2\u00d7 the usual rate"
    )


def test_ranking_is_lift_times_margin() -> None:
    recs = recommend(SNAPSHOT, Context(history={1: 1}), "cross_sell", 5)
    # bag 3.2 x 27 = 86.4; antivirus 2.0 x 33 = 66; mouse 2.8 x 14 = 39.2
    assert skus(recs) == ["LAPTOP-BAG", "ANTIVIRUS", "MOUSE"]
    assert [round(r.score, 1) for r in recs] == [86.4, 66.0, 39.2]


def test_what_is_owned_or_in_the_basket_is_never_recommended() -> None:
    recs = recommend(SNAPSHOT, Context(history={1: 1, 4: 1}, basket=(6,)), None, 10)
    assert not {4, 6, 1} & {r.product_id for r in recs}


def test_a_rule_with_two_antecedents_fires_only_when_both_are_present() -> None:
    alone = recommend(SNAPSHOT, Context(history={1: 1}), "cross_sell", 1)
    assert alone[0].lift == 3.2
    both = recommend(SNAPSHOT, Context(history={1: 1}, basket=(5,)), "cross_sell", 1)
    assert both[0].lift == 4.3
    assert both[0].reason.startswith(
        "bought Laptop 14in Basic; has Mouse in the basket; 60% of orders with"
    )


def test_meal_in_the_basket_gets_apple_pie_and_super_size() -> None:
    context = Context(basket=(7,))
    assert skus(recommend(SNAPSHOT, context, "cross_sell", 3)) == ["APPLE-PIE"]
    up = recommend(SNAPSHOT, context, "up_sell", 3)
    assert skus(up) == ["MEAL-SUPER-SIZE"]
    assert up[0].reason == (
        "has Burger Meal in the basket; Super-Size Burger Meal is its premium version (+2.50)"
    )


def test_a_pricier_product_of_the_same_category_from_the_rules_is_an_up_sell() -> None:
    recs = recommend(SNAPSHOT, Context(viewing=(4,)), None, 5)
    leather = next(r for r in recs if r.product_id == 13)
    assert leather.kind == "up_sell"
    assert leather.reason.startswith("is looking at Laptop Bag; 8.0% of orders with Laptop Bag")
    assert leather.reason.endswith(
        "Leather Laptop Bag is the pricier choice in computer accessories (+80.00 over Laptop Bag)"
    )


def test_a_dearer_version_of_what_they_have_is_an_up_sell_and_a_cheaper_one_no_offer() -> None:
    basic_owner = recommend(SNAPSHOT, Context(history={1: 1}, basket=(5,)), None, 10)
    standard = next(r for r in basic_owner if r.product_id == 2)
    assert standard.kind == "up_sell"
    assert standard.reason.endswith("(+400.00 over Laptop 14in Basic)")
    standard_owner = recommend(SNAPSHOT, Context(history={2: 1}, basket=(5,)), None, 10)
    assert 1 not in {r.product_id for r in standard_owner}  # a cheaper laptop: no offer


def test_software_buyer_who_never_bought_a_computer_gets_a_category_gap_offer() -> None:
    gaps = category_gaps(SNAPSHOT, {6: 2, 12: 1})
    assert skus(gaps) == ["LAPTOP-BASIC"]  # the best seller of computers
    assert gaps[0].reason == (
        "buys software (3 purchases), never computers; 18% of software buyers also buy computers,"
        " 2.5\u00d7 the usual rate; its best seller is Laptop 14in Basic"
    )
    assert category_gaps(SNAPSHOT, {6: 2, 2: 1}) == []  # has bought a computer


def test_an_uplift_score_ranks_first_and_says_so() -> None:
    recs = recommend(SNAPSHOT, Context(history={1: 1}), "cross_sell", 3, {"MOUSE": 0.04})
    assert skus(recs)[0] == "MOUSE"
    assert recs[0].uplift == 0.04
    assert "+4.0 points" in recs[0].reason
    by_kind = recommend(SNAPSHOT, Context(history={1: 1}), "cross_sell", 3, {"cross_sell": 0.01})
    assert all(r.uplift == 0.01 for r in by_kind)
    # The same uplift for every one: ranked by margin alone (33, 27, 14), lift no longer counts.
    assert skus(by_kind) == ["ANTIVIRUS", "LAPTOP-BAG", "MOUSE"]


def test_inactive_products_are_never_recommended_or_popular() -> None:
    assert 14 not in {r.product_id for r in recommend(SNAPSHOT, Context(basket=(6,)), None, 10)}
    assert 14 not in {r.product_id for r in popular(SNAPSHOT, None, 20)}


def test_popular_answer_is_by_support_within_the_page_category() -> None:
    assert skus(popular(SNAPSHOT, None, 3)) == ["MEAL", "APPLE-PIE", "ANTIVIRUS"]
    computers = popular(SNAPSHOT, "computers", 5, exclude=[2])
    assert skus(computers) == ["LAPTOP-BASIC", "LAPTOP-PRO"]
    assert computers[0].reason == "popular in computers: in 5.0% of orders"


def test_customer_level_rules_speak_of_buyers() -> None:
    snapshot = build_snapshot(2, "customer", 500, PRODUCTS, RULES, ITEMS)
    recs = recommend(snapshot, Context(history={10: 1}), "cross_sell", 1)
    assert recs[0].reason == (
        "bought Movie: Northern Lights; 35% of Movie: Northern Lights buyers also buy"
        " Soundtrack: Northern Lights, 5.1\u00d7 the usual rate"
    )


def test_an_empty_snapshot_recommends_nothing_but_premium_versions() -> None:
    empty = build_snapshot(None, "order", 0, PRODUCTS, [], [])
    assert recommend(empty, Context(history={1: 1}), "cross_sell", 3) == []
    assert [r.product_id for r in recommend(empty, Context(basket=(1,)), "up_sell", 3)] == [3]
    assert popular(empty, None, 3) == []


product_ids = st.sampled_from([p.id for p in PRODUCTS])


@given(
    history=st.dictionaries(product_ids, st.integers(1, 5), max_size=8),
    basket=st.lists(product_ids, max_size=6),
    kind=st.sampled_from([None, "cross_sell", "up_sell", "category_gap"]),
    k=st.integers(1, 10),
)
def test_recommendations_are_new_active_distinct_and_at_most_k(
    history: dict[int, int], basket: list[int], kind: str | None, k: int
) -> None:
    context = Context(history=history, basket=tuple(basket))
    recs = recommend(SNAPSHOT, context, kind, k)
    ids = [r.product_id for r in recs]
    assert len(ids) <= k
    assert len(set(ids)) == len(ids)
    assert not set(ids) & context.present
    assert all(SNAPSHOT.products[i].active for i in ids)
    assert all(r.kind == kind for r in recs) if kind else True
    assert all(r.reason for r in recs)
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


@given(
    rules=st.lists(
        st.tuples(st.frozensets(st.integers(0, 6), min_size=1, max_size=3), st.integers(0, 6)),
        max_size=30,
    ),
    present=st.frozensets(st.integers(0, 6)),
)
def test_fired_rules_are_exactly_those_whose_antecedents_are_present(
    rules: list[tuple[frozenset[int], int]], present: frozenset[int]
) -> None:
    table = [Rule(lhs, (rhs,), 0.1, 0.5, 1.5) for lhs, rhs in rules]
    fired = RuleIndex.of(table).fired(present)
    expected = [r for r in table if r.antecedents <= present]
    assert sorted(map(id, fired)) == sorted(map(id, expected))
