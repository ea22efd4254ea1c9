"""Qini, uplift curve, AUUC, uplift at k, deciles and calibration against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from uplift import UpliftError
from uplift.evaluation import (
    auuc,
    calibration_table,
    decile_table,
    perfect_qini_curve,
    qini_coefficient,
    qini_curve,
    uplift_at_k,
    uplift_curve,
)

# Four rows in score order: treated converter, control non-converter, treated non-converter,
# control converter.
Y = [1, 0, 0, 1]
T = [1, 0, 1, 0]
S = [0.4, 0.3, 0.2, 0.1]


def test_qini_curve_counts_incremental_conversions_in_the_top_k() -> None:
    curve = qini_curve(Y, T, S)
    # k=1: Y_t=1, N_c=0 -> 1.  k=2: 1 - 0*1/1 = 1.  k=3: 1 - 0*2/1 = 1.  k=4: 1 - 1*2/2 = 0.
    assert curve.share.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve.value.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert curve.random.tolist() == [0.0, 0.0, 0.0, 0.0, 0.0]
    # Trapezoids: 0.25 * (0.5 + 1 + 1 + 0.5) = 0.75.
    assert curve.area() == pytest.approx(0.75)


def test_perfect_curve_puts_treated_converters_first_and_control_converters_last() -> None:
    curve = perfect_qini_curve(Y, T)
    # Scores 1, 0, 0, -1: the two zero rows form one tie group.
    assert curve.share.tolist() == [0.0, 0.25, 0.75, 1.0]
    assert curve.value.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert curve.area() == pytest.approx(0.125 + 0.5 + 0.125)


def test_normalised_qini_is_one_for_the_perfect_order_and_negative_when_reversed() -> None:
    assert qini_coefficient(Y, T, S) == pytest.approx(0.75 / 0.75)
    # Reversed: k=1 control converter -> 0; k=2 treated non-converter: 0 - 1*1/1 = -1;
    # k=3 control non-converter: 0 - 1*1/2 = -0.5; k=4: 1 - 1*2/2 = 0.
    reversed_curve = qini_curve(Y, T, [-s for s in S])
    assert reversed_curve.value.tolist() == [0.0, 0.0, -1.0, -0.5, 0.0]
    # Area: 0.25 * (0 - 0.5 - 0.75 - 0.25) = -0.375, over the perfect 0.75.
    assert qini_coefficient(Y, T, [-s for s in S]) == pytest.approx(-0.375 / 0.75)


def test_tied_scores_are_taken_together_whatever_their_row_order() -> None:
    forward = qini_curve([1, 0, 0, 1], [1, 0, 1, 0], [1.0, 1.0, 0.0, 0.0])
    backward = qini_curve([0, 1, 1, 0], [0, 1, 0, 1], [1.0, 1.0, 0.0, 0.0])
    assert forward.value.tolist() == backward.value.tolist() == [0.0, 1.0, 0.0]


def test_random_line_joins_origin_to_the_whole_population_gain() -> None:
    curve = qini_curve([1, 1, 0, 0], [1, 1, 0, 0], [0.9, 0.1, 0.5, 0.3])
    assert curve.value[-1] == pytest.approx(2.0)
    assert curve.random.tolist() == pytest.approx((curve.share * 2.0).tolist())


def test_uplift_curve_scales_the_rate_difference_by_rows_contacted() -> None:
    curve = uplift_curve(Y, T, S)
    # k=1: no control yet -> 0. k=2: (1/1 - 0/1) * 2 = 2. k=3: (1/2 - 0) * 3 = 1.5.
    # k=4: (1/2 - 1/2) * 4 = 0.
    assert curve.value.tolist() == [0.0, 0.0, 2.0, 1.5, 0.0]
    assert auuc(Y, T, S) == pytest.approx(0.25 * (0 + 1.0 + 1.75 + 0.75))


def test_uplift_at_k_compares_rates_in_the_top_share() -> None:
    assert uplift_at_k(Y, T, S, k=0.5) == pytest.approx(1.0 - 0.0)
    assert uplift_at_k(Y, T, S, k=1.0) == pytest.approx(0.5 - 0.5)
    with pytest.raises(UpliftError, match="no control rows"):
        uplift_at_k(Y, T, S, k=0.25)


def test_decile_table_reports_observed_rates_per_bin() -> None:
    y = [1, 0, 1, 1, 0, 0, 0, 1]
    t = [1, 1, 0, 0, 1, 0, 1, 0]
    s = [8, 7, 6, 5, 4, 3, 2, 1]
    table = decile_table(y, t, s, bins=2)
    assert table["rows"].tolist() == [4, 4]
    assert table["treated"].tolist() == [2, 2]
    assert table["treated_rate"].tolist() == [0.5, 0.0]
    assert table["control_rate"].tolist() == [1.0, 0.5]
    assert table["observed_uplift"].tolist() == [-0.5, -0.5]
    assert table["predicted_uplift"].tolist() == [6.5, 2.5]


def test_calibration_gap_is_observed_minus_predicted() -> None:
    y = [1, 0, 0, 0]
    t = [1, 0, 1, 0]
    s = [0.3, 0.3, 0.1, 0.1]
    table = calibration_table(y, t, s, bins=2)
    assert table["observed_uplift"].tolist() == [1.0, 0.0]
    assert table["gap"].to_numpy() == pytest.approx([0.7, -0.1])


def test_bin_with_one_arm_has_no_observed_uplift() -> None:
    table = decile_table([1, 0, 1, 0], [1, 1, 0, 0], [4, 3, 2, 1], bins=2)
    assert np.isnan(table["observed_uplift"]).all()


@pytest.mark.parametrize(
    ("y", "t", "s", "message"),
    [
        ([1, 0], [1, 1], [0.1, 0.2], "both treated"),
        ([1, 0], [1, 2], [0.1, 0.2], "0/1 indicator"),
        ([1, 0, 1], [1, 0], [0.1, 0.2], "differ in length"),
        ([1, 0], [1, 0], [np.nan, 0.2], "finite"),
    ],
)
def test_evaluation_rejects_malformed_input(y: list, t: list, s: list, message: str) -> None:
    with pytest.raises(UpliftError, match=message):
        qini_curve(y, t, s)


def test_normalised_qini_is_undefined_when_nobody_converts() -> None:
    with pytest.raises(UpliftError, match="undefined"):
        qini_coefficient([0, 0, 0, 0], [1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])
