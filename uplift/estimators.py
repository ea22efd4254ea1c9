"""UpliftClassifier and UpliftRegressor: sklearn-style uplift estimators over causalml."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from uplift import selection
from uplift.checks import (
    as_vector,
    check_arms,
    check_binary_outcome,
    check_continuous_outcome,
    check_known,
)
from uplift.errors import UpliftError
from uplift.features import FeatureEncoder, FrameSource
from uplift.learners import (
    CANDIDATES,
    LEARNERS,
    LearnerSettings,
    Outcome,
    arm_shares,
    build_learner,
    fit_learner,
    predict_learner,
)

_PARAMS = (
    "learner",
    "base_estimator",
    "effect_estimator",
    "candidates",
    "cv",
    "n_estimators",
    "max_depth",
    "min_samples_leaf",
    "control",
    "random_state",
    "n_jobs",
)


class _UpliftEstimator:
    """Shared fit/predict for binary and continuous outcomes."""

    _outcome: ClassVar[Outcome]

    def __init__(
        self,
        learner: str = "auto",
        base_estimator: Any = None,
        effect_estimator: Any = None,
        *,
        candidates: Sequence[str] | None = None,
        cv: int = 3,
        n_estimators: int = 50,
        max_depth: int = 5,
        min_samples_leaf: int = 100,
        control: Hashable = 0,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.learner = learner
        self.base_estimator = base_estimator
        self.effect_estimator = effect_estimator
        self.candidates = candidates
        self.cv = cv
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.control = control
        self.random_state = random_state
        self.n_jobs = n_jobs

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor parameters (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters (scikit-learn protocol); return self."""
        for name, value in params.items():
            if name not in _PARAMS:
                raise UpliftError(f"unknown parameter {name!r} for {type(self).__name__}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learner={self.learner!r})"

    def _settings(self) -> LearnerSettings:
        return LearnerSettings(
            base_estimator=self.base_estimator,
            effect_estimator=self.effect_estimator,
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )

    def _candidates(self, n_treatments: int, n_rows: int) -> tuple[str, ...]:
        names = tuple(self.candidates) if self.candidates is not None else CANDIDATES
        if not names:
            raise UpliftError("candidates is empty: give at least one learner for 'auto'")
        for name in names:
            check_known(name, LEARNERS[1:], "candidate learner")
        if self.candidates is None and n_rows > selection.AUTO_TREE_MAX_ROWS:
            names = tuple(n for n in names if n not in ("tree", "forest"))
        if self._outcome == "continuous" and n_treatments > 1:
            # causalml's causal trees and forests take a single treatment.
            names = tuple(n for n in names if n not in ("tree", "forest")) or ("t",)
        return names

    def fit(self, X: pd.DataFrame, y: Any, treatment: Any = None) -> Self:
        """Fit the uplift model on features X, outcomes y and treatment labels; return self."""
        check_known(self.learner, LEARNERS, "learner")
        encoder = FeatureEncoder().fit(X)
        n_rows = len(X)
        labels = as_vector(treatment, "treatment", n_rows)
        outcomes = as_vector(y, "y", n_rows)
        arms = check_arms(labels, self.control)
        if self._outcome == "binary":
            target = check_binary_outcome(outcomes, arms)
        else:
            target = check_continuous_outcome(outcomes)
        n_treatments = len(arms.treatments)
        settings = self._settings()
        scores: dict[str, float] | None = None
        cv_rows: int | None = None
        name = self.learner
        if name == "auto":
            # Large sets are compared on a stratified sample: only its rows are encoded here.
            sample = selection.selection_rows(arms.codes, target, self._outcome, self.random_state)
            rows = None if sample is None else np.isin(np.arange(n_rows), sample)
            cv_codes = arms.codes if sample is None else arms.codes[sample]
            cv_target = target if sample is None else target[sample]
            cv_rows = len(cv_codes)
            candidates = self._candidates(n_treatments, cv_rows)
            scores = selection.cross_validated_scores(
                candidates,
                self._outcome,
                settings,
                encoder.transform(X, rows=rows),
                cv_codes,
                cv_target,
                self.cv,
            )
            name = max(candidates, key=lambda c: scores[c] if scores else 0.0)
        shares = arm_shares(arms.codes, n_treatments)
        model = build_learner(name, self._outcome, settings, n_treatments)
        # The S, T and X learners encode the rows of each arm as they need them, so the whole
        # encoded matrix never exists next to the arms' copies; the others take the matrix.
        fit_learner(
            model,
            name,
            self._outcome,
            FrameSource(encoder, X),
            arms.codes,
            target,
            shares,
            self.random_state,
        )
        self.encoder_ = encoder
        self.feature_names_in_ = np.asarray(encoder.feature_names_in_, dtype=object)
        self.n_features_in_ = len(encoder.feature_names_in_)
        self.learner_ = name
        self.model_ = model
        self.control_ = arms.control
        self.treatments_ = arms.treatments
        self.arm_shares_ = shares
        self.cv_scores_ = scores
        self.cv_rows_ = cv_rows
        self.n_train_rows_ = n_rows
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise UpliftError(f"this {type(self).__name__} is not fitted yet: call fit first")

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Return the predicted uplift per row.

        One treatment: shape (n_rows,). Several: shape (n_rows, n_treatments), column j for
        ``treatments_[j]`` against the control.
        """
        self._check_fitted()
        self.encoder_.check_columns(X)
        uplift = predict_learner(
            self.model_,
            self.learner_,
            self._outcome,
            FrameSource(self.encoder_, X),
            self.arm_shares_,
        )
        return uplift[:, 0] if uplift.shape[1] == 1 else uplift

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the predicted uplift as a DataFrame with one column per treatment label."""
        uplift = self.predict(X).reshape(len(X), -1)
        return pd.DataFrame(uplift, index=X.index, columns=list(self.treatments_))


class UpliftClassifier(_UpliftEstimator):
    """Estimate the change in a 0/1 outcome's probability that a treatment causes, per row.

    ``learner`` is one of "s", "t", "x", "r", "dr" (meta-learners over gradient boosting by
    default, or ``base_estimator``), "tree", "forest" (uplift trees) or "auto", which picks among
    ``candidates`` by ``cv``-fold cross-validated normalised Qini.
    """

    _outcome = "binary"


class UpliftRegressor(_UpliftEstimator):
    """Estimate the change in a continuous outcome (e.g. revenue) that a treatment causes."""

    _outcome = "continuous"
