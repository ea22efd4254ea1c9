"""Held-out evaluation of a trained version: what the models page draws, as plain JSON."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from uplift.evaluation import (
    auuc,
    calibration_table,
    decile_table,
    qini_coefficient,
    qini_curve,
)
from uplift.features import FeatureEncoder

FloatArray = npt.NDArray[np.float64]
CURVE_POINTS = 51  # shares 0, 2%, ..., 100%
TOP_SHARE = 0.3


def propensity_scores(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    treatment_train: pd.Series,
    X_test: pd.DataFrame,
    *,
    binary: bool,
    random_state: int = 0,
) -> FloatArray:
    """Score the test rows by response propensity: one model fitted on the treated rows only.

    This is how classic targeting ranks contacts (most likely to buy when contacted), the
    baseline an uplift model has to beat.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    treated = (treatment_train == 1).to_numpy()
    encoder = FeatureEncoder().fit(X_train)
    features = encoder.transform(X_train)[treated]
    target = y_train.to_numpy()[treated]
    if binary:
        if len(np.unique(target)) < 2:
            return np.zeros(len(X_test))
        classifier = HistGradientBoostingClassifier(random_state=random_state)
        classifier.fit(features, target.astype(int))
        return np.asarray(classifier.predict_proba(encoder.transform(X_test))[:, 1], dtype=float)
    regressor = HistGradientBoostingRegressor(random_state=random_state)
    regressor.fit(features, target.astype(float))
    return np.asarray(regressor.predict(encoder.transform(X_test)), dtype=float)


def _sampled(share: FloatArray, value: FloatArray, n_rows: int) -> list[float]:
    """Return the curve at the chart's shares, per contact of the evaluated population."""
    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    return [round(float(v), 6) for v in np.interp(grid, share, value) / n_rows]


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows = table.replace({np.nan: None}).to_dict(orient="records")
    return [{str(k): _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return round(float(value), 6)
    return value


def evaluate_version(
    y: pd.Series, treatment: pd.Series, uplift: FloatArray, propensity: FloatArray
) -> dict[str, Any]:
    """Return the held-out metrics of a version and of response-propensity and random targeting.

    Curves are sampled at `CURVE_POINTS` shares and given per contact of the test set, so the
    models page can scale them to any audience: `qini` is the observed incremental outcome
    (treated minus control scaled to the treated count), `predicted` the model's own expected
    incremental outcome, both when the top share by score is contacted.
    """
    y_arr = y.to_numpy(dtype=float)
    t_arr = treatment.to_numpy(dtype=float)
    n_rows = len(y_arr)
    ours, theirs = qini_curve(y_arr, t_arr, uplift), qini_curve(y_arr, t_arr, propensity)
    order = np.argsort(-uplift, kind="stable")
    predicted = np.concatenate([[0.0], np.cumsum(uplift[order])])
    shares = np.arange(n_rows + 1) / n_rows
    deciles = decile_table(y_arr, t_arr, uplift)
    propensity_deciles = decile_table(y_arr, t_arr, propensity)
    return {
        "test_rows": n_rows,
        "test_treated": int(t_arr.sum()),
        "normalised_qini": {
            "model": round(qini_coefficient(y_arr, t_arr, uplift), 6),
            "propensity": round(qini_coefficient(y_arr, t_arr, propensity), 6),
            "random": 0.0,
        },
        "auuc": {
            "model": round(auuc(y_arr, t_arr, uplift), 6),
            "propensity": round(auuc(y_arr, t_arr, propensity), 6),
        },
        "curves": {
            "share": [round(float(s), 4) for s in np.linspace(0.0, 1.0, CURVE_POINTS)],
            "model": _sampled(ours.share, ours.value, n_rows),
            "propensity": _sampled(theirs.share, theirs.value, n_rows),
            "random": _sampled(ours.share, ours.random, n_rows),
            "predicted": _sampled(shares, predicted, n_rows),
        },
        "incremental_at_30": {
            "model": round(float(np.interp(TOP_SHARE, ours.share, ours.value)), 4),
            "propensity": round(float(np.interp(TOP_SHARE, theirs.share, theirs.value)), 4),
            "random": round(float(np.interp(TOP_SHARE, ours.share, ours.random)), 4),
        },
        "deciles": _records(deciles),
        "propensity_deciles": _records(propensity_deciles),
        "calibration": _records(calibration_table(y_arr, t_arr, uplift)),
        "mean_predicted_uplift": round(float(np.mean(uplift)), 6),
    }


def profit_curve(
    metrics: dict[str, Any], audience: int, value: float, cost: float
) -> list[dict[str, float]]:
    """Return expected incremental conversions and profit by share contacted of `audience`.

    Uses the version's predicted curve: contacting the top share s of an audience of size N
    adds N x predicted(s) conversions worth `value` each and costs N x s x `cost`.
    """
    curves = metrics["curves"]
    rows = []
    for share, predicted in zip(curves["share"], curves["predicted"], strict=True):
        conversions = audience * predicted
        rows.append(
            {
                "share": share,
                "contacts": round(audience * share),
                "incremental_conversions": round(conversions, 2),
                "profit": round(conversions * value - audience * share * cost, 2),
            }
        )
    return rows
