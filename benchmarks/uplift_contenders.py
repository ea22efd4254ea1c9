"""Uplift benchmark contenders and their figures on one train/test split.

Contenders, each fitted on the training rows and scoring the test rows:

- ``auto``: our `UpliftClassifier(learner="auto")`, default settings.
- ``t_learner``: causalml's T-learner with its documented default learner, `XGBTClassifier()`
  (two `xgboost.XGBClassifier` with xgboost's defaults). `BaseTClassifier` itself has no
  default learner (it raises without one). xgboost cannot read string columns, so it gets
  our `FeatureEncoder` matrix.
- ``propensity``: classic response targeting: scikit-learn's `HistGradientBoostingClassifier`
  with its defaults, trained on the treated rows only, scoring P(y=1 | x, treated) — as the
  models page computes it (`campaign_engine.uplift_models.metrics.propensity_scores`).
- ``random``: seeded uniform scores.
- ``oracle``: the true effect itself (for reference; no model can know it).

Figures on the test rows: the normalised Qini coefficient (`uplift.evaluation.
qini_coefficient`, observed outcomes) and the incremental conversions at 30% contacted: the
sum of the *true* effect over the top 30% of rows by score — the expected number of extra
conversions contacting them causes — and that as a share of the oracle's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.uplift_data import Experiment
from uplift import UpliftClassifier
from uplift.evaluation import qini_coefficient
from uplift.features import FeatureEncoder
from uplift.learners import quiet

TOP_SHARE = 0.3
TEST_SHARE = 0.3
FloatArray = npt.NDArray[np.float64]
Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Scored:
    """A contender's test scores, fit seconds and anything worth reporting about it."""

    score: FloatArray
    fit_s: float
    info: dict[str, Any]


def split(data: Experiment, seed: int) -> tuple[Rows, Rows]:
    """Return train and test rows, stratified by treatment."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(data.y))
    train, test = train_test_split(
        rows, test_size=TEST_SHARE, stratify=data.treatment, random_state=seed
    )
    return np.sort(train), np.sort(test)


def _auto(data: Experiment, train: Rows, test: Rows, seed: int) -> Scored:
    started = time.perf_counter()
    model = UpliftClassifier(learner="auto", random_state=seed)
    model.fit(data.X.iloc[train], data.y[train], treatment=data.treatment[train])
    fit_s = time.perf_counter() - started
    scores = model.cv_scores_ or {}
    info = {"chosen": model.learner_, "cv_qini": {k: round(v, 4) for k, v in scores.items()}}
    return Scored(model.predict(data.X.iloc[test]), fit_s, info)


def _encoded(data: Experiment, train: Rows, test: Rows) -> tuple[FloatArray, FloatArray]:
    encoder = FeatureEncoder().fit(data.X.iloc[train])
    return encoder.transform(data.X.iloc[train]), encoder.transform(data.X.iloc[test])


def _t_learner(data: Experiment, train: Rows, test: Rows, seed: int) -> Scored:
    with quiet():
        from causalml.inference.meta import XGBTClassifier

        X_train, X_test = _encoded(data, train, test)
        started = time.perf_counter()
        model = XGBTClassifier()
        model.fit(X_train, treatment=data.treatment[train], y=data.y[train])
        fit_s = time.perf_counter() - started
        score = np.asarray(model.predict(X_test), dtype=np.float64).ravel()
    return Scored(score, fit_s, {"learner": "causalml XGBTClassifier() (xgboost defaults)"})


def _propensity(data: Experiment, train: Rows, test: Rows, seed: int) -> Scored:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X_train, X_test = _encoded(data, train, test)
    treated = data.treatment[train] == 1
    started = time.perf_counter()
    model = HistGradientBoostingClassifier(random_state=seed)
    model.fit(X_train[treated], data.y[train][treated])
    fit_s = time.perf_counter() - started
    score = np.asarray(model.predict_proba(X_test)[:, 1], dtype=np.float64)
    return Scored(score, fit_s, {"learner": "HistGradientBoostingClassifier() on treated rows"})


def _random(data: Experiment, train: Rows, test: Rows, seed: int) -> Scored:
    return Scored(np.random.default_rng(seed).random(len(test)), 0.0, {})


def _oracle(data: Experiment, train: Rows, test: Rows, seed: int) -> Scored:
    return Scored(data.effect[test], 0.0, {})


CONTENDERS: dict[str, Callable[[Experiment, Rows, Rows, int], Scored]] = {
    "auto": _auto,
    "t_learner": _t_learner,
    "propensity": _propensity,
    "random": _random,
    "oracle": _oracle,
}


def incremental_at(effect: FloatArray, score: FloatArray, share: float = TOP_SHARE) -> float:
    """Return the sum of the true effect over the top `share` of rows by score (ties: order)."""
    top = np.argsort(-score, kind="stable")[: int(np.ceil(share * len(score)))]
    return float(effect[top].sum())


def evaluate(data: Experiment, seed: int) -> dict[str, dict[str, Any]]:
    """Fit every contender on one split; return its figures on the test rows."""
    train, test = split(data, seed)
    y, treatment, effect = data.y[test], data.treatment[test], data.effect[test]
    figures: dict[str, dict[str, Any]] = {}
    for name, contender in CONTENDERS.items():
        scored = contender(data, train, test, seed)
        figures[name] = {
            "qini": qini_coefficient(y, treatment, scored.score),
            "incremental_at_30": incremental_at(effect, scored.score),
            "fit_s": round(scored.fit_s, 1),
            **scored.info,
        }
    best = figures["oracle"]["incremental_at_30"]
    for row in figures.values():
        row["oracle_share_at_30"] = row["incremental_at_30"] / best
    return figures
