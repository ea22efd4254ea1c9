"""Reporting statistics: Welch differences, incremental totals and ROI, the too-small flag."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pytest

from campaign_engine.reporting.commerce import OrderCounts
from campaign_engine.reporting.engagement import MessageCounts
from campaign_engine.reporting.metrics import MetricsRow
from campaign_engine.reporting.roi import AttributedReturn, IncrementalReturn
from campaign_engine.reporting.rows import to_csv
from campaign_engine.reporting.stats import (
    MIN_HOLDOUT,
    Estimate,
    GroupSums,
    OutcomeSums,
    difference_of_means,
    incremental_effect,
    incremental_roi,
    ratio,
    too_small_reason,
    z_value,
)


def sums_of(values: np.ndarray) -> GroupSums:
    """Return a per-contact array as the sums SQL would return."""
    return GroupSums(len(values), float(values.sum()), float((values**2).sum()))


def outcome_of(revenue: np.ndarray, margin: np.ndarray) -> OutcomeSums:
    """Return per-contact revenue and margin arrays as one group's outcome sums."""
    return OutcomeSums(
        contacts=len(revenue),
        buyers=int((revenue > 0).sum()),
        revenue=float(revenue.sum()),
        revenue_squares=float((revenue**2).sum()),
        margin=float(margin.sum()),
        margin_squares=float((margin**2).sum()),
    )


def converting(contacts: int, buyers: int, margin_each: float, revenue_each: float) -> OutcomeSums:
    """Return a group where `buyers` contacts bought once at a fixed revenue and margin."""
    return OutcomeSums(
        contacts,
        buyers,
        buyers * revenue_each,
        buyers * revenue_each**2,
        buyers * margin_each,
        buyers * margin_each**2,
    )


# CRM-REFERENCE §4.5: 10,000 treated at 3%, 10,000 held out at 2%, $40 margin a conversion.
TREATED = converting(10_000, 300, margin_each=40, revenue_each=100)
CONTROL = converting(10_000, 200, margin_each=40, revenue_each=100)
COST = 2_500.0


def test_crm_golden_case_gives_sixty_percent_incremental_roi() -> None:
    effect = incremental_effect(TREATED, CONTROL, COST)
    assert effect.conversions is not None and effect.margin is not None and effect.roi is not None
    assert effect.conversions.value == pytest.approx(100)
    assert effect.margin.value == pytest.approx(4_000)
    assert effect.roi.value == pytest.approx(0.60)
    assert not effect.too_small


def test_crm_golden_case_naive_roi_is_three_hundred_eighty_percent() -> None:
    naive_margin = TREATED.buyers * 40
    assert ratio(naive_margin - COST, COST) == pytest.approx(3.80)


def test_crm_golden_case_interval_by_hand() -> None:
    effect = incremental_effect(TREATED, CONTROL, COST)
    assert effect.conversion_lift is not None and effect.roi is not None
    # Sample variances (n - 1) of 0/1 outcomes: p (1 - p) n / (n - 1).
    error = math.sqrt((0.03 * 0.97 + 0.02 * 0.98) / 9_999)
    assert effect.conversion_lift.standard_error == pytest.approx(error)
    assert effect.conversion_lift.low == pytest.approx(0.01 - 1.959964 * error)
    margin_error = 10_000 * 40 * error
    assert effect.roi.low == pytest.approx((4_000 - 1.959964 * margin_error - COST) / COST)
    assert effect.roi.high == pytest.approx((4_000 + 1.959964 * margin_error - COST) / COST)


def test_cac_golden_case_is_cost_over_new_customers() -> None:
    # CRM-REFERENCE §4.4: $5,000 marketing + $1,000 onboarding, 40 new customers.
    row = MetricsRow.build(
        "total", None, MessageCounts(sent=1_000), OrderCounts(new_customers=40), 0, 6_000
    )
    assert row.acquisition_cost == pytest.approx(150)


def test_welch_difference_matches_the_textbook_formula_on_raw_values() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.gamma(2.0, 30.0, 500), rng.gamma(2.0, 25.0, 800)
    estimate = difference_of_means(sums_of(a), sums_of(b))
    assert estimate is not None
    error = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert estimate.value == pytest.approx(a.mean() - b.mean())
    assert estimate.standard_error == pytest.approx(error)
    assert estimate.high - estimate.value == pytest.approx(z_value() * error)


def test_difference_needs_two_contacts_a_side() -> None:
    assert difference_of_means(GroupSums(1, 1, 1), GroupSums(50, 3, 3)) is None


def test_incremental_roi_is_none_without_cost_and_keeps_the_interval_ordered() -> None:
    margin = Estimate(1_000, 400, 1_600, 300)
    assert incremental_roi(margin, 0) is None
    roi = incremental_roi(margin, 500)
    assert roi == Estimate(1.0, -0.2, 2.2, 0.6)
    flipped = margin.scaled(-2)
    assert (flipped.low, flipped.high) == (-3_200, -800)


def test_small_holdout_is_too_small_to_tell() -> None:
    reason = too_small_reason(MIN_HOLDOUT - 1, Estimate(0.01, 0.0, 0.02, 0.005), 0.05)
    assert reason is not None and "holdout" in reason


def test_interval_wider_than_the_treated_rate_is_too_small_to_tell() -> None:
    treated, control = converting(150, 3, 40, 100), converting(150, 2, 40, 100)
    effect = incremental_effect(treated, control, COST)
    assert effect.conversion_lift is not None
    assert effect.conversion_lift.half_width >= 3 / 150
    assert effect.too_small and "uncertain" in (effect.too_small_reason or "")


def test_no_conversions_at_all_is_too_small_to_tell() -> None:
    effect = incremental_effect(converting(5_000, 0, 0, 0), converting(5_000, 0, 0, 0), COST)
    assert effect.too_small


def simulated_group(
    rng: np.random.Generator, n: int, p: float, value: float, cost_share: float
) -> OutcomeSums:
    """Draw a group where each contact buys with chance `p`, spending `value` on average."""
    bought = rng.random(n) < p
    revenue = np.where(bought, rng.gamma(4.0, value / 4.0, n), 0.0)
    return outcome_of(revenue, revenue * (1 - cost_share))


def test_ninety_five_percent_intervals_cover_planted_effects() -> None:
    """Simulate 400 randomised campaigns with known effects; count intervals that cover them."""
    rng = np.random.default_rng(20_260_610)
    campaigns = 400
    covered_conversions = covered_margin = covered_roi = 0
    for _ in range(campaigns):
        n_treated, n_control = rng.integers(2_000, 6_000), rng.integers(1_000, 4_000)
        base = rng.uniform(0.02, 0.10)
        lift = rng.uniform(-0.01, 0.03)
        value, cost_share = rng.uniform(30, 120), rng.uniform(0.3, 0.7)
        cost = rng.uniform(500, 5_000)

        treated = simulated_group(rng, n_treated, base + lift, value, cost_share)
        control = simulated_group(rng, n_control, base, value, cost_share)
        effect = incremental_effect(treated, control, cost)
        assert effect.conversions and effect.margin and effect.roi
        true_margin = n_treated * lift * value * (1 - cost_share)
        covered_conversions += effect.conversions.covers(n_treated * lift)
        covered_margin += effect.margin.covers(true_margin)
        covered_roi += effect.roi.covers((true_margin - cost) / cost)
    for covered in (covered_conversions, covered_margin, covered_roi):
        assert 0.90 <= covered / campaigns <= 0.98


def test_rows_serialise_to_json_and_flat_csv_with_stable_columns() -> None:
    effect = incremental_effect(TREATED, CONTROL, COST)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    full = IncrementalReturn(
        start, start, 7, True, TREATED, CONTROL, *[getattr(effect, f) for f in FIELDS]
    )
    empty = IncrementalReturn(
        None, None, 7, False, TREATED, CONTROL, *([None] * 7), True, "not sent yet"
    )
    assert json.loads(json.dumps(full.as_dict()))["roi"]["value"] == pytest.approx(0.6)
    assert full.as_dict()["window_start"] == "2026-06-01T00:00:00+00:00"
    assert list(full.csv_row()) == list(empty.csv_row())
    assert full.csv_row()["roi_low"] == effect.roi.low if effect.roi else False
    assert empty.csv_row()["roi_value"] is None
    text = to_csv([full, empty])
    assert text.splitlines()[0].startswith("window_start,window_end,outcome_days,complete,")
    assert len(text.splitlines()) == 3


def test_attributed_return_row_is_flat() -> None:
    row = AttributedReturn("last_touch", 300, 300, 30_000, 12_000, 2_500, 11.0, 3.8)
    assert row.csv_row()["margin_roi"] == pytest.approx(3.8)


FIELDS = (
    "conversion_lift",
    "revenue_lift",
    "margin_lift",
    "conversions",
    "revenue",
    "margin",
    "roi",
    "too_small",
    "too_small_reason",
)
