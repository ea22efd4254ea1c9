"""The lean S/T/X learners equal causalml's; encoding by rows; "auto" on large sets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

import uplift.selection
from uplift import UpliftClassifier, UpliftError
from uplift.features import FeatureEncoder, FrameSource, MatrixSource
from uplift.learners import internal_treatment, quiet
from uplift.meta import Kind, MetaLearner
from uplift.synthetic import make_uplift_data

SMALL = {"max_iter": 30, "max_leaf_nodes": 7, "min_samples_leaf": 40, "random_state": 0}


def _causalml(kind: str, binary: bool) -> Any:
    from causalml.inference import meta

    outcome = (HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor)(**SMALL)
    effect = HistGradientBoostingRegressor(**SMALL)
    if kind == "s":
        cls = meta.BaseSClassifier if binary else meta.BaseSRegressor
        return cls(learner=outcome, control_name="control")
    if kind == "t":
        cls = meta.BaseTClassifier if binary else meta.BaseTRegressor
        return cls(learner=outcome, control_name="control")
    if binary:
        return meta.BaseXClassifier(
            outcome_learner=outcome, effect_learner=effect, control_name="control"
        )
    return meta.BaseXRegressor(
        control_outcome_learner=outcome,
        treatment_outcome_learner=outcome,
        control_effect_learner=effect,
        treatment_effect_learner=effect,
        control_name="control",
    )


@pytest.mark.parametrize("n_treatments", [1, 2])
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("kind", ["s", "t", "x"])
def test_meta_learners_estimate_exactly_what_causalml_does(
    kind: Kind, binary: bool, n_treatments: int
) -> None:
    data = make_uplift_data(1500, seed=3, n_treatments=n_treatments)
    X = FeatureEncoder().fit_transform(data.X)
    y = data.y.astype(float) if binary else data.y * np.linspace(5.0, 50.0, len(data.y))
    codes = data.treatment
    counts = np.bincount(codes)
    propensity = counts[1:] / (counts[1:] + counts[0])
    outcome = (HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor)(**SMALL)
    ours = MetaLearner(kind, outcome, HistGradientBoostingRegressor(**SMALL), binary=binary)
    ours.fit(X, codes, y, propensity)
    labels = internal_treatment(codes, n_treatments)
    p = {f"t{i + 1:04d}": np.full(len(y), share) for i, share in enumerate(propensity)}
    with quiet():
        theirs = _causalml(kind, binary)
        if kind == "x":
            theirs.fit(X, treatment=labels, y=y, p=p)
            expected = theirs.predict(X, p=p, verbose=False)
        else:
            theirs.fit(X, treatment=labels, y=y)
            expected = theirs.predict(X, verbose=False)
    np.testing.assert_allclose(ours.predict(X), np.asarray(expected), rtol=0, atol=1e-12)


def test_encoding_selected_rows_equals_selecting_encoded_rows() -> None:
    data = make_uplift_data(400, seed=8)
    encoder = FeatureEncoder().fit(data.X)
    whole = encoder.transform(data.X)
    mask = data.treatment == 1
    assert np.array_equal(encoder.transform(data.X, rows=mask), whole[mask])
    wide = np.full((int(mask.sum()), whole.shape[1] + 1), 7.0)
    FrameSource(encoder, data.X).rows(mask, out=wide[:, 1:])
    assert np.array_equal(wide[:, 1:], whole[mask])
    assert (wide[:, 0] == 7.0).all()
    source = MatrixSource(whole)
    assert source.rows() is whole
    assert np.array_equal(source.rows(mask), whole[mask])
    with pytest.raises(UpliftError, match="shape"):
        encoder.transform(data.X, out=np.zeros((3, 3)))


def test_auto_compares_learners_on_a_stratified_sample_then_refits_on_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uplift.selection, "AUTO_SAMPLE_ROWS", 1500)
    data = make_uplift_data(4000, seed=12)
    model = UpliftClassifier(candidates=("s", "t"), random_state=0)
    model.fit(data.X, data.y, treatment=data.treatment)
    assert model.cv_rows_ == 1500
    assert model.n_train_rows_ == 4000
    direct = UpliftClassifier(learner=model.learner_, random_state=0)
    direct.fit(data.X, data.y, treatment=data.treatment)
    assert np.array_equal(model.predict(data.X), direct.predict(data.X))

    rows = uplift.selection.selection_rows(data.treatment, data.y.astype(float), "binary", seed=0)
    assert rows is not None and len(rows) == 1500 and np.all(np.diff(rows) > 0)
    strata = data.treatment * 2 + data.y
    for stratum in np.unique(strata):
        share = (strata == stratum).mean()
        assert abs((strata[rows] == stratum).mean() - share) < 0.002


def test_small_sets_are_compared_on_every_row() -> None:
    data = make_uplift_data(800, seed=13)
    model = UpliftClassifier(candidates=("t",), random_state=0)
    assert model.fit(data.X, data.y, treatment=data.treatment).cv_rows_ == 800
    assert (
        UpliftClassifier(learner="t").fit(data.X, data.y, treatment=data.treatment).cv_rows_ is None
    )


def test_auto_leaves_trees_out_of_its_defaults_on_large_sets_but_not_when_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uplift.selection, "AUTO_TREE_MAX_ROWS", 1000)
    data = make_uplift_data(1500, seed=14)
    default = UpliftClassifier(random_state=0).fit(data.X, data.y, treatment=data.treatment)
    assert default.cv_scores_ is not None
    assert set(default.cv_scores_) == {"s", "t", "x"}
    named = UpliftClassifier(candidates=("t", "tree"), random_state=0)
    named.fit(data.X, data.y, treatment=data.treatment)
    assert named.cv_scores_ is not None and set(named.cv_scores_) == {"t", "tree"}


def test_a_model_holding_a_causalml_learner_still_predicts() -> None:
    """Models saved before uplift.meta hold causalml's learners in model_."""
    data = make_uplift_data(1500, seed=15)
    model = UpliftClassifier(learner="x", random_state=0)
    model.fit(data.X, data.y, treatment=data.treatment)
    X = model.encoder_.transform(data.X)
    labels = internal_treatment(data.treatment, 1)
    p = {"t0001": np.full(len(X), model.arm_shares_[1])}
    with quiet():
        from causalml.inference.meta import BaseXClassifier

        old = BaseXClassifier(
            outcome_learner=model.model_.outcome_model,
            effect_learner=model.model_.effect_model,
            control_name="control",
        ).fit(X, treatment=labels, y=data.y.astype(float), p=p)
    fresh = model.predict(data.X)
    model.model_ = old
    np.testing.assert_allclose(model.predict(data.X), fresh, rtol=0, atol=1e-12)
