"""Build, fit and query the learners behind the estimators (causalml imported lazily)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from uplift.errors import UpliftError
from uplift.features import FeatureSource
from uplift.meta import KINDS, MetaLearner, as_source

Outcome = Literal["binary", "continuous"]

#: Learner names accepted by the estimators ("auto" chooses among CANDIDATES).
LEARNERS = ("auto", "s", "t", "x", "r", "dr", "tree", "forest")
#: Learners "auto" compares by default: the fast ones ("r" and "dr" cross-fit internally and
#: cost several times as much; "tree" is a weaker "forest"). "forest" is left out above
#: selection.AUTO_TREE_MAX_ROWS rows.
CANDIDATES = ("s", "t", "x", "forest")
CONTROL = "control"


@dataclass(frozen=True)
class LearnerSettings:
    """Everything a learner needs besides the data."""

    base_estimator: Any
    effect_estimator: Any
    n_estimators: int
    max_depth: int
    min_samples_leaf: int
    random_state: int | None
    n_jobs: int | None


@contextmanager
def quiet() -> Iterator[None]:
    """Silence deprecation chatter from causalml and its stack (shap, matplotlib, pandas)."""
    # forestci logs an error when the optional duecredit package is absent; it is harmless.
    logging.getLogger("duecredit").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        yield


def group_labels(n_treatments: int) -> list[str]:
    """Return internal treatment labels that sort in treatment order."""
    return [f"t{i:04d}" for i in range(1, n_treatments + 1)]


def internal_treatment(codes: npt.NDArray[np.int64], n_treatments: int) -> npt.NDArray[np.str_]:
    """Map codes (0 control, i treatment i) to the string labels causalml is given."""
    labels = np.array([CONTROL, *group_labels(n_treatments)])
    return labels[codes]


def _default_outcome_model(outcome: Outcome, settings: LearnerSettings) -> Any:
    """Return the default outcome/effect model: strongly regularised histogram boosting.

    Uplift is a small difference of noisy outcome rates; smoother models rank it better (see
    docs/uplift.md, "Learners"). Binned features keep fitting fast and light on memory.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    params: dict[str, Any] = {
        "max_iter": 100,
        "learning_rate": 0.05,
        "max_leaf_nodes": 7,
        "min_samples_leaf": 200,
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": settings.random_state,
    }
    if outcome == "binary":
        return HistGradientBoostingClassifier(**params)
    return HistGradientBoostingRegressor(**params)


def _outcome_model(outcome: Outcome, settings: LearnerSettings) -> Any:
    from sklearn.base import clone

    if settings.base_estimator is not None:
        return clone(settings.base_estimator)
    return _default_outcome_model(outcome, settings)


def _effect_model(settings: LearnerSettings) -> Any:
    from sklearn.base import clone

    if settings.effect_estimator is not None:
        return clone(settings.effect_estimator)
    return _default_outcome_model("continuous", settings)


def build_learner(name: str, outcome: Outcome, settings: LearnerSettings, n_treatments: int) -> Any:
    """Return an unfitted learner for name: uplift.meta for s, t and x, else causalml's."""
    binary = outcome == "binary"
    kind = next((k for k in KINDS if k == name), None)
    if kind is not None:
        return MetaLearner(
            kind,
            _outcome_model(outcome, settings),
            _effect_model(settings),
            binary=binary,
        )
    with quiet():
        if name in ("r", "dr"):
            from causalml.inference import meta

            if name == "r":
                cls = meta.BaseRClassifier if binary else meta.BaseRRegressor
                return cls(
                    outcome_learner=_outcome_model(outcome, settings),
                    effect_learner=_effect_model(settings),
                    control_name=CONTROL,
                    n_fold=3,
                    random_state=settings.random_state,
                )
            # Doubly robust: outcome models are regressions of the 0/1 or continuous outcome.
            return meta.BaseDRRegressor(
                learner=_effect_model(settings),
                control_name=CONTROL,
            )
        if name in ("tree", "forest") and binary:
            from causalml.inference.tree import UpliftRandomForestClassifier, UpliftTreeClassifier

            common: dict[str, Any] = {
                "control_name": CONTROL,
                "max_depth": settings.max_depth,
                "min_samples_leaf": settings.min_samples_leaf,
                "random_state": settings.random_state,
            }
            if name == "tree":
                return UpliftTreeClassifier(**common)
            return UpliftRandomForestClassifier(
                n_estimators=settings.n_estimators, n_jobs=settings.n_jobs, **common
            )
        if name in ("tree", "forest"):
            if n_treatments > 1:
                raise UpliftError(
                    f"learner {name!r} for continuous outcomes supports one treatment against "
                    f"the control, got {n_treatments}; use a meta-learner (s, t, x, r, dr)"
                )
            from causalml.inference.tree import CausalRandomForestRegressor, CausalTreeRegressor

            common = {
                "control_name": 0,
                "max_depth": settings.max_depth,
                "min_samples_leaf": settings.min_samples_leaf,
                "random_state": settings.random_state,
            }
            if name == "tree":
                return CausalTreeRegressor(**common)
            return CausalRandomForestRegressor(
                n_estimators=settings.n_estimators, n_jobs=settings.n_jobs, **common
            )
    raise UpliftError(f"unknown learner {name!r}; choose one of: " + ", ".join(LEARNERS[1:]))


def _treated_shares(shares: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return each treatment's share of its rows plus the control's: its propensity."""
    treated: npt.NDArray[np.float64] = shares[1:] / (shares[1:] + shares[0])
    return treated


def _propensity(shares: npt.NDArray[np.float64], n_rows: int) -> dict[str, npt.NDArray[np.float64]]:
    """Constant propensities from the training shares: assignment to a holdout is randomised."""
    labels = group_labels(len(shares) - 1)
    return {
        label: np.full(n_rows, p) for label, p in zip(labels, _treated_shares(shares), strict=True)
    }


def arm_shares(codes: npt.NDArray[np.int64], n_treatments: int) -> npt.NDArray[np.float64]:
    """Return the share of rows in each arm, control first."""
    counts = np.bincount(codes, minlength=n_treatments + 1).astype(float)
    shares: npt.NDArray[np.float64] = counts / counts.sum()
    return shares


def fit_learner(
    model: Any,
    name: str,
    outcome: Outcome,
    features: FeatureSource | npt.NDArray[np.float64],
    codes: npt.NDArray[np.int64],
    y: npt.NDArray[np.float64],
    shares: npt.NDArray[np.float64],
    seed: int | None,
) -> Any:
    """Fit model on encoded features (a matrix or a source); return it."""
    n_treatments = len(shares) - 1
    if isinstance(model, MetaLearner):
        return model.fit(features, codes, y, _treated_shares(shares))
    X = as_source(features).rows()
    with quiet():
        if name in ("tree", "forest") and outcome == "continuous":
            model.fit(X, treatment=codes, y=y)
            return model
        treatment = internal_treatment(codes, n_treatments)
        if name in ("tree", "forest"):
            model.fit(X, treatment=treatment, y=y)
        elif name == "dr":
            model.fit(X, treatment=treatment, y=y, p=_propensity(shares, len(y)), seed=seed)
        elif name == "r":
            model.fit(X, treatment=treatment, y=y, p=_propensity(shares, len(y)), verbose=False)
        else:
            model.fit(X, treatment=treatment, y=y, p=_propensity(shares, len(y)))
    return model


def predict_learner(
    model: Any,
    name: str,
    outcome: Outcome,
    features: FeatureSource | npt.NDArray[np.float64],
    shares: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Return uplift per row and treatment, shape (n_rows, n_treatments).

    Models saved before uplift.meta existed hold causalml's S, T and X learners; they are
    still answered by the causalml branches below.
    """
    n_treatments = len(shares) - 1
    if isinstance(model, MetaLearner):
        return model.predict(features)
    X = as_source(features).rows()
    with quiet():
        if name in ("tree", "forest") and outcome == "continuous":
            uplift = np.asarray(model.predict(X), dtype=float).reshape(len(X), -1)
        elif name == "tree":
            proba = np.asarray(model.predict(X), dtype=float)
            uplift = proba[:, 1:] - proba[:, [0]]
        elif name == "forest":
            deltas = np.asarray(model.predict(X), dtype=float)
            order = [list(model.classes_[1:]).index(g) for g in group_labels(n_treatments)]
            uplift = deltas[:, order]
        elif name == "x":
            p = _propensity(shares, len(X))
            uplift = np.asarray(model.predict(X, p=p, verbose=False), dtype=float)
        elif name == "r":
            uplift = np.asarray(model.predict(X), dtype=float)
        else:
            uplift = np.asarray(model.predict(X, verbose=False), dtype=float)
    return uplift.reshape(len(X), n_treatments)
