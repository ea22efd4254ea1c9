"""Association-rule mining: exact metrics against brute force and mlxtend, CRM cases, bad input."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_engine.demo.catalog import build_catalog
from campaign_engine.demo.population import generate_population
from campaign_engine.demo.purchases import generate_history
from campaign_engine.demo.store import horizon_of
from campaign_engine.errors import InvalidInput
from campaign_engine.recommend.mining import RULE_COLUMNS, AssociationRules, basket_count

Key = tuple[frozenset[Any], frozenset[Any]]
FIELDS = ("support", "confidence", "lift", "leverage", "conviction", "count")


def mined(model: AssociationRules) -> dict[Key, tuple[float, ...]]:
    """Return the fitted rules as {(antecedents, consequents): metrics in FIELDS order}."""
    frame = model.rules_
    return {
        (a, c): tuple(frame[f].iat[k] for f in FIELDS)
        for k, (a, c) in enumerate(zip(frame["antecedents"], frame["consequents"], strict=True))
    }


def brute_force(
    baskets: list[list[Any]],
    min_support: float | int,
    min_conf: float,
    min_lift: float,
    max_len: int | None,
) -> tuple[dict[frozenset[Any], int], dict[Key, tuple[float, ...]]]:
    """Count every itemset by scanning every basket; metrics in exact arithmetic, then rounded."""
    sets = [frozenset(b) for b in baskets]
    n = len(sets)
    items = sorted(set().union(*sets))
    frequent: dict[frozenset[Any], int] = {}
    for size in range(1, (max_len or len(items)) + 1):
        for combo in combinations(items, size):
            count = sum(frozenset(combo) <= b for b in sets)
            enough = (
                count >= min_support if isinstance(min_support, int) else (count / n >= min_support)
            )
            if enough:
                frequent[frozenset(combo)] = count
    rules: dict[Key, tuple[float, ...]] = {}
    for itemset, count in frequent.items():
        for size in range(1, len(itemset)):
            for left in combinations(sorted(itemset), size):
                a, c = frozenset(left), itemset - frozenset(left)
                s_ac, s_a, s_c = (Fraction(x, n) for x in (count, frequent[a], frequent[c]))
                confidence = s_ac / s_a
                lift = confidence / s_c
                leverage = s_ac - s_a * s_c
                conviction = math.inf if confidence == 1 else float((1 - s_c) / (1 - confidence))
                if float(confidence) >= min_conf and float(lift) >= min_lift:
                    rules[(a, c)] = (
                        float(s_ac),
                        float(confidence),
                        float(lift),
                        float(leverage),
                        conviction,
                        count,
                    )
    return frequent, rules


baskets_strategy = st.lists(
    st.lists(st.sampled_from("abcdefg"), max_size=6), min_size=1, max_size=25
)
supports = st.one_of(
    st.integers(1, 4),
    st.sampled_from([0.05, 0.1, 0.2, 0.25, 1 / 3, 0.5, 1.0]),
    st.floats(0.01, 1.0),
)
confidences = st.one_of(st.sampled_from([0.0, 0.1, 0.25, 0.5, 2 / 3, 1.0]), st.floats(0.0, 1.0))
lifts = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0])
max_lens = st.sampled_from([2, 3, 4, None])


@settings(max_examples=300, deadline=None)
@given(baskets_strategy, supports, confidences, lifts, max_lens)
def test_rules_and_itemsets_equal_a_brute_force_count_exactly(
    baskets: list[list[str]], min_support: Any, min_conf: float, min_lift: float, max_len: Any
) -> None:
    model = AssociationRules(min_support, min_conf, min_lift, max_len).fit(baskets)
    frequent, rules = brute_force(baskets, min_support, min_conf, min_lift, max_len)
    assert mined(model) == rules
    found = dict(zip(model.itemsets_["itemsets"], model.itemsets_["count"], strict=True))
    assert found == frequent
    assert model.n_baskets_ == len(baskets)


@settings(max_examples=100, deadline=None)
@given(baskets_strategy, supports, max_lens, st.randoms(use_true_random=False))
def test_a_basket_matrix_with_quantities_gives_the_same_rules_as_the_lists(
    baskets: list[list[str]], min_support: Any, max_len: Any, random: Any
) -> None:
    labels = list("abcdefg")
    random.shuffle(labels)
    rows, columns = [], []
    for r, basket in enumerate(baskets):
        for item in basket:  # repeated items become repeated entries: summed, still present
            rows.append(r)
            columns.append(labels.index(item))
    quantities = [random.randint(1, 3) for _ in rows]
    matrix = sp.coo_matrix((quantities, (rows, columns)), shape=(len(baskets), 7)).tocsr()
    from_matrix = AssociationRules(min_support, 0.0, 0.0, max_len).fit(matrix, items=labels)
    from_lists = AssociationRules(min_support, 0.0, 0.0, max_len).fit(baskets)
    assert mined(from_matrix) == mined(from_lists)


def demo_baskets(contacts: int = 3000) -> sp.csr_matrix:
    """Return a few thousand demo orders as a 0/1 matrix over the demo catalogue."""
    rng = np.random.default_rng(7)
    horizon = horizon_of(date(2026, 5, 1))
    catalog = build_catalog()
    lines = generate_history(rng, generate_population(rng, contacts, horizon), catalog, horizon)
    lines = lines.lines
    shape = (int(lines.order.max()) + 1, catalog.size)
    ones = np.ones(len(lines.order), dtype=bool)
    return sp.csr_matrix((ones, (lines.order, lines.product)), shape=shape)


@pytest.mark.parametrize(("min_support", "max_len"), [(0.004, 2), (0.004, 3), (12, None)])
def test_rules_equal_mlxtend_fpgrowth_and_association_rules(
    min_support: float | int, max_len: int | None
) -> None:
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    matrix = demo_baskets()
    n = matrix.shape[0]
    assert n > 2000
    ours = AssociationRules(min_support, 0.1, 1.0, max_len).fit(matrix)
    share = min_support / n if isinstance(min_support, int) else min_support
    frame = pd.DataFrame.sparse.from_spmatrix(matrix)
    itemsets = fpgrowth(frame, min_support=share, max_len=max_len)
    assert len(itemsets) == len(ours.itemsets_)
    theirs = association_rules(itemsets, num_itemsets=n, min_threshold=0.1 - 1e-9)
    # mlxtend's confidence, (s(AC)·N)/(s(A)·N), can miss a tie by one ulp: decide each rule
    # by the exact count ratio, as the definition (and our miner) does.
    both = np.rint(theirs["support"] * n)
    a = np.rint(theirs["antecedent support"] * n)
    c = np.rint(theirs["consequent support"] * n)
    exact = (both / a >= 0.1) & ((both * n) / (a * c) >= 1.0)
    theirs = theirs[exact]
    expected = {
        (frozenset(map(int, a)), frozenset(map(int, c))): row
        for a, c, row in zip(
            theirs["antecedents"], theirs["consequents"], theirs.itertuples(), strict=True
        )
    }
    got = mined(ours)
    assert set(got) == set(expected)
    assert len(got) > 20
    for key, (support, confidence, lift, leverage, conviction, _) in got.items():
        row = expected[key]
        assert support == pytest.approx(row.support, rel=1e-12)
        assert confidence == pytest.approx(row.confidence, rel=1e-12)
        assert lift == pytest.approx(row.lift, rel=1e-12)
        assert leverage == pytest.approx(row.leverage, rel=1e-9, abs=1e-15)
        assert conviction == pytest.approx(row.conviction, rel=1e-9)


def rule(model: AssociationRules, antecedents: set[str], consequents: set[str]) -> pd.Series:
    frame = model.rules_
    hit = (frame["antecedents"] == frozenset(antecedents)) & (
        frame["consequents"] == frozenset(consequents)
    )
    assert hit.sum() == 1, (antecedents, consequents)
    return frame[hit].iloc[0]


def test_apple_pie_with_the_meal_is_a_cross_sell() -> None:
    # 10 orders: meal 8, apple pie 4, both 4.
    orders = [["meal", "apple pie"]] * 4 + [["meal"]] * 4 + [["coffee"]] * 2
    model = AssociationRules(min_support=0.2, min_confidence=0.3).fit(orders)
    r = rule(model, {"meal"}, {"apple pie"})
    assert (r.support, r.confidence, r.lift) == (0.4, 0.5, 1.25)
    assert (r.leverage, r.conviction, r["count"]) == (0.08, 1.2, 4)
    back = rule(model, {"apple pie"}, {"meal"})
    assert (back.confidence, back.lift, back.conviction) == (1.0, 1.25, math.inf)


def test_super_size_after_the_meal_is_an_up_sell_in_customer_baskets() -> None:
    # 10 customers' histories: meal 6, super-size 3, both 3.
    customers = [["meal", "super-size"]] * 3 + [["meal"]] * 3 + [["coffee"]] * 4
    model = AssociationRules(min_support=3, min_confidence=0.5, min_lift=1.0).fit(customers)
    r = rule(model, {"meal"}, {"super-size"})
    assert (r.support, r.confidence, r.lift) == (0.3, 0.5, 10 / 6)
    assert (r.leverage, r.conviction) == (0.12, 1.4)
    assert rule(model, {"super-size"}, {"meal"}).conviction == math.inf


def test_soundtrack_after_the_movie() -> None:
    # 20 customers: movie 10, soundtrack 7, both 6.
    customers = (
        [["movie", "soundtrack"]] * 6 + [["movie"]] * 4 + [["soundtrack"]] + [["popcorn"]] * 9
    )
    model = AssociationRules(min_support=0.1, min_confidence=0.5).fit(customers)
    r = rule(model, {"movie"}, {"soundtrack"})
    assert (r.support, r.confidence, r.lift) == (0.3, 0.6, 12 / 7)
    assert (r.leverage, r.conviction) == (0.125, 1.625)


def test_bag_and_mouse_after_the_laptop() -> None:
    # 10 orders: laptop 5, bag 4, mouse 5, bag+mouse 3, laptop+bag 4, laptop+bag+mouse 3.
    orders = (
        [["laptop", "bag", "mouse"]] * 3
        + [["laptop", "bag"], ["laptop"]]
        + [["mouse"]] * 2
        + [["keyboard"]] * 3
    )
    model = AssociationRules(min_support=0.2, min_confidence=0.5, max_len=3).fit(orders)
    both = rule(model, {"laptop"}, {"bag", "mouse"})
    assert (both.support, both.confidence, both.lift) == (0.3, 0.6, 2.0)
    assert (both.leverage, both.conviction) == (0.15, 1.75)
    bag = rule(model, {"laptop"}, {"bag"})
    assert (bag.support, bag.confidence, bag.lift, bag.leverage, bag.conviction) == (
        0.4,
        0.8,
        2.0,
        0.2,
        3.0,
    )
    two = rule(model, {"laptop", "mouse"}, {"bag"})
    assert (two.support, two.confidence, two.lift, two.leverage, two.conviction) == (
        0.3,
        1.0,
        2.5,
        0.18,
        math.inf,
    )
    pairs_only = AssociationRules(min_support=0.2, min_confidence=0.5, max_len=2).fit(orders)
    assert pairs_only.rules_["antecedents"].map(len).max() == 1
    assert (pairs_only.rules_["consequents"].map(len) == 1).all()


def test_rules_come_sorted_by_lift_with_every_column() -> None:
    orders = [["laptop", "bag", "mouse"]] * 3 + [["laptop", "bag"], ["laptop"], ["mouse"]] * 2
    frame = AssociationRules(min_support=0.1).fit(orders).rules_
    assert tuple(frame.columns) == RULE_COLUMNS
    assert frame["lift"].is_monotonic_decreasing
    assert isinstance(frame["antecedents"].iat[0], frozenset)


def test_an_int_support_is_a_count_of_baskets_and_a_float_a_share() -> None:
    # 200 baskets; {x, y} in 10 of them: frequent at 10 baskets, not at 10% (20 baskets).
    baskets = [["x", "y"]] * 10 + [["x"]] * 90 + [["z"]] * 100
    as_count = AssociationRules(min_support=10, min_confidence=0.0).fit(baskets)
    as_share = AssociationRules(min_support=0.1, min_confidence=0.0).fit(baskets)
    assert as_count.min_count_ == 10 and as_share.min_count_ == 20
    assert frozenset({"x", "y"}) in set(as_count.itemsets_["itemsets"])
    assert frozenset({"x", "y"}) not in set(as_share.itemsets_["itemsets"])
    assert as_share.rules_.empty and tuple(as_share.rules_.columns) == RULE_COLUMNS


@pytest.mark.parametrize(
    ("min_support", "n", "count"),
    [(10, 10_000_000, 10), (0.1, 10, 1), (0.1, 20, 2), (0.07, 100, 7), (1 / 3, 9, 3), (1.0, 7, 7)],
)
def test_support_becomes_the_least_basket_count_that_reaches_it(
    min_support: float | int, n: int, count: int
) -> None:
    assert basket_count(min_support, n) == count


def test_items_repeated_in_a_basket_count_once() -> None:
    model = AssociationRules(min_support=1, min_confidence=0.0).fit([["a", "a", "b"], ["a"]])
    found = dict(zip(model.itemsets_["itemsets"], model.itemsets_["count"], strict=True))
    assert found == {frozenset("a"): 2, frozenset("b"): 1, frozenset("ab"): 1}


def test_matrix_columns_are_labelled_by_number_or_by_items() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 2]]))
    by_number = AssociationRules(min_support=2, min_confidence=0.5).fit(matrix)
    assert rule(by_number, {0}, {1})["count"] == 2
    assert list(by_number.items_) == [0, 1, 2]
    assert list(by_number.item_counts_) == [2, 2, 1]
    named = AssociationRules(min_support=2, min_confidence=0.5).fit(matrix, items=[7, 9, 11])
    assert rule(named, {7}, {9}).lift == 1.5


def test_parameters_follow_the_scikit_learn_protocol() -> None:
    model = AssociationRules(min_support=5)
    assert model.get_params() == {
        "min_support": 5,
        "min_confidence": 0.1,
        "min_lift": 0.0,
        "max_len": 3,
    }
    assert model.set_params(max_len=2) is model and model.max_len == 2
    assert "max_len=2" in repr(model)
    assert model.fit([["a", "b"]] * 5) is model
    with pytest.raises(InvalidInput):
        model.set_params(min_supprt=0.1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_support": True}, "min_support"),
        ({"min_support": 0}, "min_support"),
        ({"min_support": -3}, "min_support"),
        ({"min_support": 0.0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_support": 10.0}, "min_support"),
        ({"min_support": math.nan}, "min_support"),
        ({"min_support": "0.1"}, "min_support"),
        ({"min_support": None}, "min_support"),
        ({"min_confidence": -0.1}, "min_confidence"),
        ({"min_confidence": 1.1}, "min_confidence"),
        ({"min_confidence": math.nan}, "min_confidence"),
        ({"min_lift": -1}, "min_lift"),
        ({"min_lift": math.inf}, "min_lift"),
        ({"max_len": 1}, "max_len"),
        ({"max_len": 2.5}, "max_len"),
        ({"max_len": True}, "max_len"),
    ],
)
def test_absurd_thresholds_are_refused_naming_the_field(params: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        AssociationRules(**params).fit([["a", "b"]])
    assert [p.location for p in error.value.problems] == [field]


def test_every_bad_threshold_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as error:
        AssociationRules(min_support=0, min_confidence=2, min_lift=-1, max_len=1).fit([["a"]])
    locations = [p.location for p in error.value.problems]
    assert locations == ["min_support", "min_confidence", "min_lift", "max_len"]


@pytest.mark.parametrize(
    ("baskets", "items", "location"),
    [
        ([], None, "baskets"),
        (sp.csr_matrix((0, 4)), None, "baskets"),
        ("abc", None, "baskets"),
        (np.ones((3, 3)), None, "baskets"),
        (42, None, "baskets"),
        ([["a"], "ab"], None, "baskets[1]"),
        ([["a"], [["unhashable"]]], None, "baskets[1]"),
        ([["a"]], ["a"], "items"),
        (sp.csr_matrix(np.array([[1.0, np.nan]])), None, "baskets"),
        (sp.csr_matrix(np.array([[1, -1]])), None, "baskets"),
        (sp.csr_matrix(np.eye(2)), ["a"], "items"),
        (sp.csr_matrix(np.eye(2)), ["a", "a"], "items"),
    ],
)
def test_unreadable_or_empty_baskets_are_refused(baskets: Any, items: Any, location: str) -> None:
    with pytest.raises(InvalidInput) as error:
        AssociationRules(min_support=1).fit(baskets, items=items)
    assert [p.location for p in error.value.problems] == [location]
