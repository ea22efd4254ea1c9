"""Uplift estimators on seeded synthetic data with a known effect: ranking, policy, round trip."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from uplift import CANDIDATES, UpliftClassifier, UpliftError, UpliftRegressor
from uplift.evaluation import qini_coefficient
from uplift.persistence import load_model, save_model
from uplift.policy import best_treatment, contact_mask
from uplift.synthetic import SyntheticUplift, make_uplift_data


@pytest.fixture(scope="module")
def train() -> SyntheticUplift:
    return make_uplift_data(6000, seed=1)


@pytest.fixture(scope="module")
def holdout() -> SyntheticUplift:
    return make_uplift_data(20000, seed=2)


@pytest.fixture(scope="module")
def auto_model(train: SyntheticUplift) -> UpliftClassifier:
    return UpliftClassifier(random_state=0).fit(train.X, train.y, treatment=train.treatment)


def test_auto_model_reaches_80_percent_of_the_oracle_qini(
    auto_model: UpliftClassifier, holdout: SyntheticUplift
) -> None:
    oracle = qini_coefficient(holdout.y, holdout.treatment, holdout.effect[:, 0])
    model = qini_coefficient(holdout.y, holdout.treatment, auto_model.predict(holdout.X))
    assert oracle > 0.1
    assert model >= 0.8 * oracle, (model, oracle, auto_model.learner_)


def test_auto_records_the_cross_validated_score_of_every_candidate(
    auto_model: UpliftClassifier,
) -> None:
    assert auto_model.cv_scores_ is not None
    assert set(auto_model.cv_scores_) == set(CANDIDATES)
    assert auto_model.learner_ == max(auto_model.cv_scores_, key=auto_model.cv_scores_.__getitem__)


def test_model_policy_contacts_mostly_persuadables_and_beats_contacting_everyone(
    auto_model: UpliftClassifier, holdout: SyntheticUplift
) -> None:
    value, cost = 10.0, 0.3
    effect = holdout.effect[:, 0]
    chosen = contact_mask(auto_model.predict(holdout.X), value, cost)
    assert 0.1 < chosen.mean() < 0.9
    assert effect[chosen].mean() > cost / value
    assert (effect[chosen] < 0).mean() < 0.2
    true_profit = (effect * value - cost)[chosen].sum()
    assert true_profit > (effect * value - cost).sum()
    assert true_profit > 0.5 * (effect * value - cost).clip(min=0).sum()


@pytest.mark.parametrize("learner", ["s", "t", "x", "r", "dr", "tree", "forest"])
def test_every_learner_ranks_better_than_random(learner: str, holdout: SyntheticUplift) -> None:
    data = make_uplift_data(2500, seed=11)
    model = UpliftClassifier(learner=learner, n_estimators=20, random_state=0)
    model.fit(data.X, data.y, treatment=data.treatment)
    uplift = model.predict(holdout.X)
    assert uplift.shape == (len(holdout.X),)
    assert qini_coefficient(holdout.y, holdout.treatment, uplift) > 0.05


def test_several_treatments_get_one_column_each_in_label_order() -> None:
    data = make_uplift_data(6000, seed=4, n_treatments=2)
    test = make_uplift_data(10000, seed=6, n_treatments=2)
    labels = np.array(["holdout", "email", "sms"], dtype=object)[data.treatment]
    model = UpliftClassifier(candidates=("t", "x"), control="holdout", random_state=0)
    model.fit(data.X, data.y, treatment=labels)
    assert model.treatments_ == ("email", "sms")
    uplift = model.predict(test.X)
    assert uplift.shape == (len(test.X), 2)
    assert list(model.predict_frame(test.X).columns) == ["email", "sms"]
    for j in range(2):
        rows = (test.treatment == 0) | (test.treatment == j + 1)
        arm = (test.treatment[rows] == j + 1).astype(int)
        assert qini_coefficient(test.y[rows], arm, uplift[rows, j]) > 0.05
    choice = best_treatment(uplift, model.treatments_, value=10.0, cost=[0.1, 0.3], control=None)
    sms = test.X["channel"].astype(str).to_numpy() == "sms"
    assert (choice.treatment[sms] == "sms").mean() > (choice.treatment[~sms] == "sms").mean()


@pytest.mark.parametrize("learner", ["s", "t", "x", "forest"])
def test_regressor_ranks_revenue_uplift(learner: str) -> None:
    data = make_uplift_data(4000, seed=7)
    test = make_uplift_data(10000, seed=8)
    rng = np.random.default_rng(0)
    revenue = data.y * rng.gamma(2.0, 40.0, size=len(data.y))
    model = UpliftRegressor(learner=learner, n_estimators=20, random_state=0)
    model.fit(data.X, revenue, treatment=data.treatment)
    score = model.predict(test.X)
    assert qini_coefficient(test.y, test.treatment, score) > 0.05


def test_regressor_trees_take_a_single_treatment() -> None:
    data = make_uplift_data(1500, seed=7, n_treatments=2)
    with pytest.raises(UpliftError, match="one treatment"):
        UpliftRegressor(learner="tree").fit(data.X, data.y * 1.5, treatment=data.treatment)


def test_saved_model_round_trips_with_metadata(
    auto_model: UpliftClassifier, holdout: SyntheticUplift, tmp_path: Path
) -> None:
    path = tmp_path / "model.joblib"
    saved = save_model(auto_model, path, extra={"campaigns": [3, 5]})
    loaded = load_model(path)
    assert np.array_equal(loaded.model.predict(holdout.X), auto_model.predict(holdout.X))
    meta = loaded.metadata
    assert meta == saved
    assert meta.features == ("age", "spend", "region", "channel", "member")
    assert meta.learner == auto_model.learner_
    assert meta.treatments == (1,)
    assert meta.extra == {"campaigns": [3, 5]}
    assert {"python", "causalml", "scikit-learn", "numpy", "pandas"} <= set(meta.library_versions)


def test_loading_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.joblib"
    joblib.dump({"hello": "world"}, path)
    with pytest.raises(UpliftError, match="not a saved uplift model"):
        load_model(path)
    with pytest.raises(UpliftError, match="no model file"):
        load_model(tmp_path / "missing.joblib")
    with pytest.raises(UpliftError, match="fitted"):
        save_model(UpliftClassifier(), tmp_path / "unfitted.joblib")


def test_estimator_follows_the_scikit_learn_parameter_protocol() -> None:
    model = UpliftClassifier(learner="x", random_state=3, candidates=("s",))
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.set_params(learner="t").learner == "t"
    assert not hasattr(copy, "model_")
