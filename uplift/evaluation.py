"""Measure how well uplift scores rank: Qini and uplift curves, AUUC, deciles, calibration.

Every function takes the observed outcome ``y``, a 0/1 ``treatment`` indicator (1 treated, 0
control) and a ``score`` (predicted uplift; higher means contact first). Rows are ordered by
descending score; rows with equal scores are taken together, so the result does not depend on
the order of tied rows. The exact definitions are in docs/uplift.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from uplift.errors import UpliftError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Curve:
    """A gain curve: value at each share of the population contacted, with its random line."""

    share: FloatArray
    value: FloatArray
    random: FloatArray

    def area(self) -> float:
        """Return the area between the curve and its random line (trapezoid rule)."""
        return _trapezoid(self.value - self.random, self.share)


def _trapezoid(values: FloatArray, share: FloatArray) -> float:
    return float(np.sum((values[1:] + values[:-1]) * np.diff(share)) / 2.0)


def _inputs(y: Any, treatment: Any, score: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    y_arr = np.asarray(y, dtype=float).ravel()
    t_arr = np.asarray(treatment, dtype=float).ravel()
    s_arr = np.asarray(score, dtype=float).ravel()
    if not len(y_arr) == len(t_arr) == len(s_arr):
        raise UpliftError(
            f"y, treatment and score differ in length ({len(y_arr)}, {len(t_arr)}, {len(s_arr)})"
        )
    if len(y_arr) == 0:
        raise UpliftError("no rows to evaluate")
    if not np.isin(t_arr, (0.0, 1.0)).all():
        raise UpliftError("treatment must be a 0/1 indicator (1 treated, 0 control)")
    if not (np.isfinite(y_arr).all() and np.isfinite(s_arr).all()):
        raise UpliftError("y and score must be finite numbers")
    if t_arr.min() == t_arr.max():
        raise UpliftError("evaluation needs both treated (1) and control (0) rows")
    return y_arr, t_arr, s_arr


def _cumulative(
    y: FloatArray, t: FloatArray, s: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return cumulative (n_t, n_c, y_t, y_c, share) at each tie-group end, starting at 0."""
    order = np.argsort(-s, kind="stable")
    y, t, s = y[order], t[order], s[order]
    ends = np.append(np.flatnonzero(np.diff(s) != 0), len(s) - 1)
    n_t = np.concatenate([[0.0], np.cumsum(t)[ends]])
    n_c = np.concatenate([[0.0], np.cumsum(1.0 - t)[ends]])
    y_t = np.concatenate([[0.0], np.cumsum(y * t)[ends]])
    y_c = np.concatenate([[0.0], np.cumsum(y * (1.0 - t))[ends]])
    share = (n_t + n_c) / len(y)
    return n_t, n_c, y_t, y_c, share


def qini_curve(y: Any, treatment: Any, score: Any) -> Curve:
    """Return Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k): incremental outcomes in the top k."""
    n_t, n_c, y_t, y_c, share = _cumulative(*_inputs(y, treatment, score))
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    value = y_t - y_c * ratio
    return Curve(share=share, value=value, random=share * value[-1])


def perfect_qini_curve(y: Any, treatment: Any) -> Curve:
    """Return the Qini curve of the best ordering the data allow.

    Treated rows by descending outcome first, control rows by descending outcome last
    (score ``y`` if treated, ``-y`` if control).
    """
    y_arr = np.asarray(y, dtype=float).ravel()
    t_arr = np.asarray(treatment, dtype=float).ravel()
    return qini_curve(y_arr, t_arr, np.where(t_arr == 1.0, y_arr, -y_arr))


def qini_coefficient(y: Any, treatment: Any, score: Any) -> float:
    """Return the normalised Qini coefficient: model area over perfect area above random.

    0 is random targeting, 1 the perfect ordering; negative is worse than random.
    """
    perfect = perfect_qini_curve(y, treatment).area()
    if perfect <= 0:
        raise UpliftError(
            "the normalised Qini is undefined: no ordering of these rows beats random "
            "(there are no outcomes to rank)"
        )
    return qini_curve(y, treatment, score).area() / perfect


def uplift_curve(y: Any, treatment: Any, score: Any) -> Curve:
    """Return U(k) = (Y_t(k)/N_t(k) - Y_c(k)/N_c(k)) * k, 0 until both arms appear."""
    n_t, n_c, y_t, y_c, share = _cumulative(*_inputs(y, treatment, score))
    both = (n_t > 0) & (n_c > 0)
    rate_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=both)
    rate_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=both)
    value = (rate_t - rate_c) * (n_t + n_c)
    return Curve(share=share, value=value, random=share * value[-1])


def auuc(y: Any, treatment: Any, score: Any) -> float:
    """Return the area under the uplift curve over share contacted, in outcome units."""
    curve = uplift_curve(y, treatment, score)
    return _trapezoid(curve.value, curve.share)


def uplift_at_k(y: Any, treatment: Any, score: Any, k: float = 0.3) -> float:
    """Return the observed uplift (treated rate minus control rate) in the top share k."""
    y_arr, t_arr, s_arr = _inputs(y, treatment, score)
    if not 0 < k <= 1:
        raise UpliftError(f"k must be a share in (0, 1], got {k}")
    top = np.argsort(-s_arr, kind="stable")[: max(1, int(np.ceil(k * len(y_arr))))]
    y_top, t_top = y_arr[top], t_arr[top]
    if t_top.min() == t_top.max():
        arm = "control" if t_top[0] == 1 else "treated"
        raise UpliftError(f"the top {k:.0%} holds no {arm} rows; uplift there is undefined")
    return float(y_top[t_top == 1].mean() - y_top[t_top == 0].mean())


def decile_table(y: Any, treatment: Any, score: Any, bins: int = 10) -> pd.DataFrame:
    """Return observed treated and control rates per score bin (bin 1 = highest scores).

    Rows are split into ``bins`` groups of (near) equal size by descending score, tied rows in
    input order. Columns: bin, rows, treated, control, treated_rate, control_rate,
    observed_uplift (treated_rate - control_rate; NaN when an arm is empty), predicted_uplift
    (mean score).
    """
    y_arr, t_arr, s_arr = _inputs(y, treatment, score)
    if bins < 1 or bins > len(y_arr):
        raise UpliftError(f"bins must be between 1 and the number of rows, got {bins}")
    order = np.argsort(-s_arr, kind="stable")
    group = np.empty(len(y_arr), dtype=int)
    group[order] = np.arange(len(y_arr)) * bins // len(y_arr)
    frame = pd.DataFrame({"bin": group + 1, "y": y_arr, "t": t_arr, "s": s_arr})
    frame["y_t"] = frame["y"] * frame["t"]
    frame["y_c"] = frame["y"] * (1 - frame["t"])
    sums = frame.groupby("bin").agg(
        rows=("y", "size"),
        treated=("t", "sum"),
        y_t=("y_t", "sum"),
        y_c=("y_c", "sum"),
        predicted_uplift=("s", "mean"),
    )
    sums["control"] = sums["rows"] - sums["treated"]
    treated_rate = sums["y_t"] / sums["treated"].where(sums["treated"] > 0)
    control_rate = sums["y_c"] / sums["control"].where(sums["control"] > 0)
    table = pd.DataFrame(
        {
            "bin": sums.index.to_numpy(),
            "rows": sums["rows"].to_numpy(dtype=int),
            "treated": sums["treated"].to_numpy(dtype=int),
            "control": sums["control"].to_numpy(dtype=int),
            "treated_rate": treated_rate.to_numpy(dtype=float),
            "control_rate": control_rate.to_numpy(dtype=float),
            "observed_uplift": (treated_rate - control_rate).to_numpy(dtype=float),
            "predicted_uplift": sums["predicted_uplift"].to_numpy(dtype=float),
        }
    )
    return table


def calibration_table(y: Any, treatment: Any, score: Any, bins: int = 10) -> pd.DataFrame:
    """Return mean predicted versus observed uplift per score bin, and their gap.

    Columns: bin, rows, predicted_uplift, observed_uplift, gap (observed - predicted).
    """
    table = decile_table(y, treatment, score, bins)
    out = table[["bin", "rows", "predicted_uplift", "observed_uplift"]].copy()
    out["gap"] = out["observed_uplift"] - out["predicted_uplift"]
    return out
