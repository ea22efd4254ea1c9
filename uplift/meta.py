"""Lean S-, T- and X-learners over scikit-learn models (the formulas of causalml's Base*).

causalml's BaseS/BaseT/BaseX learners take the whole feature matrix, copy it for every
treatment even when that is every row (one treatment against the control: the common case),
the S-learner copies it again to add the treatment column, and the X-learner also predicts
outcome variances it never uses. On a million rows that is several copies of the input. These
classes fit the same models on the same rows and combine them the same way
(tests/unit/test_uplift_meta.py checks the estimates match causalml's), but read features
from a `FeatureSource` one arm at a time: with a `FrameSource` only the arms' rows are ever
encoded, each once. Arms are coded 0 (control) and 1..k (treatments).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from uplift.features import FeatureSource, MatrixSource

FloatArray = npt.NDArray[np.float64]
Kind = Literal["s", "t", "x"]
KINDS: tuple[Kind, ...] = ("s", "t", "x")


def _clone(model: Any) -> Any:
    from sklearn.base import clone

    return clone(model)


def as_source(features: FeatureSource | FloatArray) -> FeatureSource:
    """Return features as a source (a matrix is wrapped, a source returned as it is)."""
    return MatrixSource(features) if isinstance(features, np.ndarray) else features


class MetaLearner:
    """One uplift meta-learner ("s", "t" or "x") for one or several treatments.

    ``outcome_model`` is a classifier (``binary=True``: 0/1 outcomes, probabilities from
    ``predict_proba``) or a regressor; ``effect_model`` is the X-learner's second-stage
    regressor. ``predict`` returns shape (rows, treatments).
    """

    def __init__(self, kind: Kind, outcome_model: Any, effect_model: Any, *, binary: bool) -> None:
        self.kind = kind
        self.outcome_model = outcome_model
        self.effect_model = effect_model
        self.binary = binary

    def _outcome(self, model: Any, X: FloatArray) -> FloatArray:
        if self.binary:
            return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)
        return np.asarray(model.predict(X), dtype=np.float64)

    def fit(
        self,
        features: FeatureSource | FloatArray,
        codes: npt.NDArray[np.int64],
        y: FloatArray,
        propensity: FloatArray,
    ) -> MetaLearner:
        """Fit on features (a source or a matrix), arm codes and outcomes.

        ``propensity[i]`` is treatment i+1's share of its rows plus the control's; it only
        enters the X-learner's blend of its two effect models.
        """
        self.n_treatments_ = len(propensity)
        self.propensity_ = np.asarray(propensity, dtype=np.float64)
        source = as_source(features)
        target = y.astype(np.int64) if self.binary else y
        if self.kind == "s":
            self._fit_s(source, codes, target)
        elif self.kind == "t":
            self._fit_t(source, codes, target)
        else:
            self._fit_x(source, codes, target)
        return self

    def _design(
        self, source: FeatureSource, mask: npt.NDArray[np.bool_] | None, n_rows: int
    ) -> FloatArray:
        """Return [treatment indicator | features] for the S-learner, the indicator left 0."""
        design = np.empty((n_rows, source.n_features + 1), dtype=np.float64)
        design[:, 0] = 0.0  # first, as in causalml's S-learner
        source.rows(mask, out=design[:, 1:])
        return design

    def _fit_s(self, source: FeatureSource, codes: npt.NDArray[np.int64], y: Any) -> None:
        self.models_: list[Any] = []
        for i in range(1, self.n_treatments_ + 1):
            mask = (codes == 0) | (codes == i)
            design = self._design(source, mask, int(mask.sum()))
            design[:, 0] = codes[mask] == i
            self.models_.append(_clone(self.outcome_model).fit(design, y[mask]))
            del design

    def _fit_t(self, source: FeatureSource, codes: npt.NDArray[np.int64], y: Any) -> None:
        control = codes == 0
        self.model_c_ = _clone(self.outcome_model).fit(source.rows(control), y[control])
        self.models_t_: list[Any] = []
        for i in range(1, self.n_treatments_ + 1):
            arm = codes == i
            self.models_t_.append(_clone(self.outcome_model).fit(source.rows(arm), y[arm]))

    def _fit_x(self, source: FeatureSource, codes: npt.NDArray[np.int64], y: Any) -> None:
        control = codes == 0
        X_c, y_c = source.rows(control), y[control]
        self.model_c_ = _clone(self.outcome_model).fit(X_c, y_c)
        self.models_t_ = []
        self.effects_c_: list[Any] = []
        self.effects_t_: list[Any] = []
        for i in range(1, self.n_treatments_ + 1):
            arm = codes == i
            X_t, y_t = source.rows(arm), y[arm]
            model_t = _clone(self.outcome_model).fit(X_t, y_t)
            # Imputed effects: the control rows' predicted treated outcome minus theirs, and the
            # treated rows' outcome minus their predicted control outcome.
            imputed_c = self._outcome(model_t, X_c) - y_c
            imputed_t = y_t - self._outcome(self.model_c_, X_t)
            self.models_t_.append(model_t)
            self.effects_c_.append(_clone(self.effect_model).fit(X_c, imputed_c))
            self.effects_t_.append(_clone(self.effect_model).fit(X_t, imputed_t))
            del X_t

    def predict(self, features: FeatureSource | FloatArray) -> FloatArray:
        """Return the uplift per row and treatment, shape (rows, treatments)."""
        source = as_source(features)
        n_rows = source.n_rows
        uplift = np.empty((n_rows, self.n_treatments_), dtype=np.float64)
        if self.kind == "s":
            design = self._design(source, None, n_rows)
            for i, model in enumerate(self.models_):
                design[:, 0] = 1.0
                uplift[:, i] = self._outcome(model, design)
                design[:, 0] = 0.0
                uplift[:, i] -= self._outcome(model, design)
            return uplift
        X = source.rows()
        if self.kind == "t":
            control = self._outcome(self.model_c_, X)
            for i, model in enumerate(self.models_t_):
                uplift[:, i] = self._outcome(model, X) - control
            return uplift
        for i in range(self.n_treatments_):
            p = self.propensity_[i]
            uplift[:, i] = p * self.effects_c_[i].predict(X)
            uplift[:, i] += (1.0 - p) * self.effects_t_[i].predict(X)
        return uplift
