"""Bad training and scoring input gives a clear UpliftError; mixed column types are encoded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from uplift import MIN_ROWS_PER_ARM, UpliftClassifier, UpliftError, UpliftRegressor
from uplift.features import FeatureEncoder
from uplift.synthetic import make_uplift_data


def small(n_rows: int = 600, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    data = make_uplift_data(n_rows, seed=seed)
    return data.X, data.y, data.treatment


def test_uplift_error_is_a_value_error() -> None:
    assert issubclass(UpliftError, ValueError)


def test_training_without_a_holdout_is_refused() -> None:
    X, y, _ = small()
    with pytest.raises(UpliftError, match="no holdout"):
        UpliftClassifier(learner="t").fit(X, y, treatment=np.ones(len(X), dtype=int))


def test_training_without_treated_rows_is_refused() -> None:
    X, y, _ = small()
    with pytest.raises(UpliftError, match="no treated rows"):
        UpliftClassifier(learner="t").fit(X, y, treatment=np.zeros(len(X), dtype=int))


def test_single_outcome_class_is_refused() -> None:
    X, _, t = small()
    with pytest.raises(UpliftError, match="single outcome class"):
        UpliftClassifier(learner="t").fit(X, np.zeros(len(X), dtype=int), treatment=t)


def test_arm_without_conversions_is_refused() -> None:
    X, y, t = small()
    y = np.where(t == 1, 0, y)
    with pytest.raises(UpliftError, match=r"within an arm.*: arm 1 \(every row is 0\)"):
        UpliftClassifier(learner="t").fit(X, y, treatment=t)


def test_too_few_rows_per_arm_names_the_minimum_and_the_arm() -> None:
    X, y, t = small()
    t = np.zeros(len(X), dtype=int)
    t[: MIN_ROWS_PER_ARM - 1] = 1
    y[:5] = 1
    with pytest.raises(UpliftError, match=rf"at least {MIN_ROWS_PER_ARM}.*1: 49 rows"):
        UpliftClassifier(learner="t").fit(X, y, treatment=t)


def test_non_binary_outcome_is_refused_by_the_classifier() -> None:
    X, y, t = small()
    with pytest.raises(UpliftError, match="0/1"):
        UpliftClassifier(learner="t").fit(X, y * 2.5, treatment=t)


def test_unknown_learner_names_the_choices() -> None:
    X, y, t = small()
    with pytest.raises(UpliftError, match="unknown learner 'z'; choose one of: auto, s, t"):
        UpliftClassifier(learner="z").fit(X, y, treatment=t)
    with pytest.raises(UpliftError, match="unknown candidate learner 'auto'"):
        UpliftClassifier(candidates=["t", "auto"]).fit(X, y, treatment=t)


def test_lengths_and_missing_labels_are_checked() -> None:
    X, y, t = small()
    with pytest.raises(UpliftError, match="treatment has 10 values but X has 600 rows"):
        UpliftClassifier(learner="t").fit(X, y, treatment=t[:10])
    with pytest.raises(UpliftError, match="treatment is required"):
        UpliftClassifier(learner="t").fit(X, y)
    with pytest.raises(UpliftError, match="pandas DataFrame"):
        UpliftClassifier(learner="t").fit(X.to_numpy(), y, treatment=t)  # type: ignore[arg-type]


def test_constant_continuous_outcome_is_refused() -> None:
    X, _, t = small()
    with pytest.raises(UpliftError, match="constant"):
        UpliftRegressor(learner="t").fit(X, np.full(len(X), 3.0), treatment=t)


def test_predict_before_fit_is_refused() -> None:
    X, _, _ = small()
    with pytest.raises(UpliftError, match="not fitted"):
        UpliftClassifier().predict(X)


def test_scoring_frame_missing_columns_names_them() -> None:
    X, y, t = small()
    model = UpliftClassifier(learner="t", random_state=0).fit(X, y, treatment=t)
    with pytest.raises(UpliftError, match=r"missing 2 column.*region, member"):
        model.predict(X.drop(columns=["member", "region"]))


def test_scoring_frame_with_a_changed_column_type_is_refused() -> None:
    X, y, t = small()
    model = UpliftClassifier(learner="t", random_state=0).fit(X, y, treatment=t)
    with pytest.raises(UpliftError, match="age \\(trained as numeric, now categorical\\)"):
        model.predict(X.assign(age=X["age"].astype(str)))


def test_extra_and_reordered_scoring_columns_are_fine() -> None:
    X, y, t = small()
    model = UpliftClassifier(learner="t", random_state=0).fit(X, y, treatment=t)
    shuffled = X[list(reversed(X.columns))].assign(contact_id=np.arange(len(X)))
    assert np.allclose(model.predict(shuffled), model.predict(X))


def test_encoder_one_hot_encodes_strings_and_categories_and_fills_gaps() -> None:
    frame = pd.DataFrame(
        {
            "n": [1.0, np.nan, 3.0],
            "flag": [True, False, True],
            "city": ["paris", "rome", None],
            "tier": pd.Categorical(["gold", "silver", "gold"]),
        }
    )
    encoder = FeatureEncoder().fit(frame)
    assert encoder.feature_names_out_ == [
        "n",
        "flag",
        "city=",
        "city=paris",
        "city=rome",
        "city=<other>",
        "tier=gold",
        "tier=silver",
        "tier=<other>",
    ]
    matrix = encoder.transform(frame)
    assert matrix[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert matrix[:, 1].tolist() == [1.0, 0.0, 1.0]
    unseen = encoder.transform(frame.assign(city=["oslo", "rome", "paris"]))
    assert unseen[:, 2:6].tolist() == [[0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]


def test_string_and_categorical_columns_carry_signal_into_the_model() -> None:
    data = make_uplift_data(3000, seed=9)
    model = UpliftClassifier(learner="t", random_state=0).fit(
        data.X, data.y, treatment=data.treatment
    )
    uplift = model.predict(data.X)
    north = (data.X["region"] == "north").to_numpy()
    assert uplift[north].mean() > uplift[~north].mean()
