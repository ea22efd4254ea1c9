"""Score recency, frequency and monetary value by quantile and name each contact's RFM group."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# RFM group by recency score (rows, R5 first) and frequency score (columns, F1 first).
RFM_GRID: tuple[tuple[str, ...], ...] = (
    ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),  # R5
    ("new", "potential_loyalists", "loyal", "champions", "champions"),  # R4
    ("hibernating", "hibernating", "loyal", "loyal", "loyal"),  # R3
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),  # R2
    ("lost", "lost", "at_risk", "cant_lose", "cant_lose"),  # R1
)
# Probability-alive bands: below the first is high risk, below the second medium, else low.
CHURN_BANDS = (0.3, 0.7)


def quantile_scores(
    values: npt.ArrayLike, bins: int = 5, higher_is_better: bool = True
) -> npt.NDArray[np.int64]:
    """Score each value 1..`bins` by its rank: 1 + floor(bins * (values strictly worse) / n).

    Ties share one score, the lowest of the ranks they span (not the average rank), so equal
    values always score alike and a score never depends on the order of the input.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1:
        raise ValueError("values must be one-dimensional")
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if np.isnan(data).any():
        raise ValueError("values must not contain NaN")
    n = len(data)
    ordered = np.sort(data)
    if higher_is_better:
        worse = np.searchsorted(ordered, data, side="left")
    else:
        worse = n - np.searchsorted(ordered, data, side="right")
    return 1 + (bins * worse.astype(np.int64)) // max(n, 1)


def rfm_groups(r_scores: npt.ArrayLike, f_scores: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Return the RFM group of each (recency score, frequency score) pair, both 1..5."""
    r = np.asarray(r_scores, dtype=np.int64)
    f = np.asarray(f_scores, dtype=np.int64)
    if r.size and (r.min() < 1 or r.max() > 5 or f.min() < 1 or f.max() > 5):
        raise ValueError("RFM scores must be between 1 and 5")
    return np.array(RFM_GRID, dtype=np.str_)[5 - r, f - 1]


def rfm_cells(
    r_scores: npt.ArrayLike, f_scores: npt.ArrayLike, m_scores: npt.ArrayLike
) -> list[str]:
    """Return each contact's cell, the three scores as digits, e.g. "545"."""
    return [
        f"{r}{f}{m}"
        for r, f, m in zip(
            np.asarray(r_scores).tolist(),
            np.asarray(f_scores).tolist(),
            np.asarray(m_scores).tolist(),
            strict=True,
        )
    ]


def churn_risks(p_alive: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Band probabilities alive: high below 0.3, medium below 0.7, low from 0.7 up."""
    p = np.asarray(p_alive, dtype=np.float64)
    return np.array(["high", "medium", "low"], dtype=np.str_)[
        np.searchsorted(CHURN_BANDS, p, side="right")
    ]
