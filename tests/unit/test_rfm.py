"""RFM scoring by quantile, the group grid and churn bands."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign_engine.models.traits import CHURN_RISKS, RFM_GROUPS
from campaign_engine.traits.rfm import (
    RFM_GRID,
    churn_risks,
    quantile_scores,
    rfm_cells,
    rfm_groups,
)

# CRM-REFERENCE §4.1: as of 2024-01-31, contacts A, B, C.
RECENCY = [1, 244, 11]
FREQUENCY = [3, 1, 1]
MONETARY = [300.0, 500.0, 20.0]

values_lists = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.sampled_from([0.0, 1.0, 5.0]),
    min_size=1,
    max_size=60,
)


def test_golden_case_with_three_bins_matches_the_reference() -> None:
    r = quantile_scores(RECENCY, bins=3, higher_is_better=False)
    f = quantile_scores(FREQUENCY, bins=3)
    m = quantile_scores(MONETARY, bins=3)

    assert r.tolist() == [3, 1, 2]
    assert f.tolist() == [3, 1, 1]  # B and C tie: both get the lowest shared score, not 1.5
    assert m.tolist() == [2, 3, 1]


def test_golden_case_with_five_bins() -> None:
    # 1 + floor(5 * worse / 3): worse 0 → 1, 1 → 2, 2 → 4.
    assert quantile_scores(RECENCY, higher_is_better=False).tolist() == [4, 1, 2]
    assert quantile_scores(FREQUENCY).tolist() == [4, 1, 1]
    assert quantile_scores(MONETARY).tolist() == [2, 4, 1]


def test_distinct_values_fill_every_quintile_evenly() -> None:
    scores = quantile_scores(np.arange(100))

    assert np.bincount(scores).tolist() == [0, 20, 20, 20, 20, 20]


def test_fewer_days_since_the_last_order_is_the_better_recency() -> None:
    assert quantile_scores([0, 400, 30], higher_is_better=False).tolist() == [4, 1, 2]


def test_all_equal_values_share_the_lowest_score() -> None:
    assert quantile_scores([7, 7, 7, 7]).tolist() == [1, 1, 1, 1]


def test_empty_input_gives_no_scores() -> None:
    assert quantile_scores([]).tolist() == []


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        quantile_scores([1.0, float("nan")])


@given(values_lists, st.integers(min_value=1, max_value=10), st.booleans())
def test_scores_lie_between_one_and_bins(values: list[float], bins: int, higher: bool) -> None:
    scores = quantile_scores(values, bins=bins, higher_is_better=higher)

    assert scores.min() >= 1
    assert scores.max() <= bins


@given(values_lists, st.booleans())
def test_scores_are_monotone_in_value_and_ties_are_equal(values: list[float], higher: bool) -> None:
    scores = quantile_scores(values, higher_is_better=higher)
    data = np.asarray(values)

    for i in range(len(data)):
        for j in range(len(data)):
            better = data[i] > data[j] if higher else data[i] < data[j]
            if data[i] == data[j]:
                assert scores[i] == scores[j]
            elif better:
                assert scores[i] >= scores[j]


@given(values_lists)
def test_best_value_scores_top_when_it_is_unique_among_many(values: list[float]) -> None:
    data = [*values, max(values) + 1.0]
    scores = quantile_scores(data)

    assert scores[-1] == 1 + (5 * (len(data) - 1)) // len(data)


@given(values_lists)
def test_inverting_the_direction_matches_negating_the_values(values: list[float]) -> None:
    lower = quantile_scores(values, higher_is_better=False)
    negated = quantile_scores([-v for v in values])

    assert lower.tolist() == negated.tolist()


def test_grid_names_every_group_and_only_known_ones() -> None:
    assert {g for row in RFM_GRID for g in row} == set(RFM_GROUPS)
    assert all(len(row) == 5 for row in RFM_GRID)
    assert len(RFM_GRID) == 5


@pytest.mark.parametrize(
    ("r", "f", "group"),
    [
        (5, 1, "new"),
        (5, 3, "potential_loyalists"),
        (5, 5, "champions"),
        (4, 3, "loyal"),
        (4, 4, "champions"),
        (3, 1, "hibernating"),
        (3, 5, "loyal"),
        (2, 3, "at_risk"),
        (2, 5, "cant_lose"),
        (1, 2, "lost"),
        (1, 3, "at_risk"),
        (1, 4, "cant_lose"),
    ],
)
def test_rfm_group_comes_from_recency_and_frequency(r: int, f: int, group: str) -> None:
    assert rfm_groups([r], [f]).tolist() == [group]


def test_scores_outside_one_to_five_are_refused() -> None:
    with pytest.raises(ValueError):
        rfm_groups([0], [3])


def test_cell_joins_the_three_scores() -> None:
    assert rfm_cells([5, 1], [4, 1], [5, 3]) == ["545", "113"]


@pytest.mark.parametrize(
    ("p_alive", "risk"),
    [
        (0.0, "high"),
        (0.2999, "high"),
        (0.3, "medium"),
        (0.6999, "medium"),
        (0.7, "low"),
        (1.0, "low"),
    ],
)
def test_churn_risk_bands_of_probability_alive(p_alive: float, risk: str) -> None:
    assert churn_risks([p_alive]).tolist() == [risk]
    assert risk in CHURN_RISKS
