"""Contact policy: net value, budgets, best treatment per contact, policy curve."""

from __future__ import annotations

import numpy as np
import pytest

from uplift import UpliftError
from uplift.policy import (
    best_share,
    best_treatment,
    contact_mask,
    net_value,
    policy_curve,
    select_under_budget,
)
from uplift.synthetic import make_uplift_data


def test_contact_only_when_uplift_times_value_exceeds_cost() -> None:
    uplift = np.array([0.10, 0.05, 0.02, -0.03])
    assert net_value(uplift, 20.0, 1.0).tolist() == pytest.approx([1.0, 0.0, -0.6, -1.6])
    assert contact_mask(uplift, 20.0, 1.0).tolist() == [True, False, False, False]


def test_per_row_value_and_cost_are_used_row_by_row() -> None:
    mask = contact_mask([0.1, 0.1], value=[5.0, 50.0], cost=[1.0, 1.0])
    assert mask.tolist() == [False, True]


def test_policy_never_contacts_rows_whose_true_effect_makes_contact_unprofitable() -> None:
    data = make_uplift_data(5000, seed=3)
    effect = data.effect[:, 0]
    assert (effect < 0).any()
    value, cost = 10.0, 0.2
    chosen = contact_mask(effect, value, cost)
    assert chosen.any()
    assert not chosen[effect < 0].any()
    assert not chosen[effect * value - cost <= 0].any()
    budgeted = select_under_budget(effect, value, cost, budget=100.0)
    assert not budgeted[effect < 0].any()


def test_budget_takes_best_net_value_first_and_skips_what_does_not_fit() -> None:
    uplift = np.array([0.30, 0.50, 0.40, 0.01])
    cost = np.array([1.0, 3.0, 1.0, 1.0])
    chosen = select_under_budget(uplift, 10.0, cost, budget=2.5)
    # Net values 2, 2, 3, -0.9: row 2 (cost 1), then row 0 (cost 1); row 1 does not fit.
    assert chosen.tolist() == [True, False, True, False]


def test_max_contacts_caps_the_count() -> None:
    chosen = select_under_budget([0.3, 0.2, 0.1], 10.0, 0.5, max_contacts=2)
    assert chosen.tolist() == [True, True, False]
    capped = select_under_budget([0.3, 0.2, 0.1], 10.0, 0.5, budget=100.0, max_contacts=1)
    assert capped.tolist() == [True, False, False]


def test_best_treatment_picks_the_highest_net_uplift_or_no_contact() -> None:
    uplift = np.array([[0.10, 0.08], [0.02, 0.09], [0.01, 0.00]])
    # email costs 0.1, sms costs 0.5; a conversion is worth 10.
    choice = best_treatment(uplift, ["email", "sms"], value=10.0, cost=[0.1, 0.5], control="none")
    assert choice.treatment.tolist() == ["email", "sms", "none"]
    assert choice.net_value.tolist() == pytest.approx([0.9, 0.4, 0.0])
    assert choice.uplift.tolist() == pytest.approx([0.10, 0.09, 0.0])


def test_best_treatment_rejects_a_column_count_that_does_not_match() -> None:
    with pytest.raises(UpliftError, match="one column per treatment"):
        best_treatment(np.zeros((2, 3)), ["a", "b"], 1.0, 0.0)


def test_policy_curve_accumulates_expected_conversions_and_profit() -> None:
    curve = policy_curve([0.1, 0.3, -0.1], value=10.0, cost=1.0)
    assert curve["contacts"].tolist() == [0, 1, 2, 3]
    assert curve["share"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert curve["incremental_conversions"].tolist() == pytest.approx([0.0, 0.3, 0.4, 0.3])
    assert curve["profit"].tolist() == pytest.approx([0.0, 2.0, 2.0, 0.0])
    assert best_share(curve) == pytest.approx(1 / 3)


def test_policy_rejects_value_arrays_of_the_wrong_length() -> None:
    with pytest.raises(UpliftError, match="one value per row"):
        contact_mask([0.1, 0.2], value=[1.0, 2.0, 3.0], cost=0.0)
