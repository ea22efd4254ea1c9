"""Choose a learner by cross-validated normalised Qini ("auto").

Large training sets are compared on a stratified sample (`AUTO_SAMPLE_ROWS`) and only the
chosen learner is refitted on every row; "tree" and "forest", which cost about 50 times as
much as the meta-learners, are compared by default only on small sets (`AUTO_TREE_MAX_ROWS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from uplift.errors import UpliftError
from uplift.evaluation import qini_coefficient
from uplift.learners import (
    LearnerSettings,
    Outcome,
    arm_shares,
    build_learner,
    fit_learner,
    predict_learner,
)

#: Above this many training rows "auto" cross-validates on a stratified sample of this many.
AUTO_SAMPLE_ROWS = 200_000
#: The default candidates "tree" and "forest" are compared only up to this many rows.
AUTO_TREE_MAX_ROWS = 20_000


def selection_rows(
    codes: npt.NDArray[np.int64], y: npt.NDArray[np.float64], outcome: Outcome, seed: int | None
) -> npt.NDArray[np.int64] | None:
    """Return the sorted rows "auto" compares learners on, or None for every row.

    At most `AUTO_SAMPLE_ROWS`, drawn stratified by arm x outcome class (as the folds are).
    """
    if len(codes) <= AUTO_SAMPLE_ROWS:
        return None
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(codes))
    sample, _ = train_test_split(
        rows, train_size=AUTO_SAMPLE_ROWS, stratify=strata(codes, y, outcome), random_state=seed
    )
    return np.sort(sample)


def strata(
    codes: npt.NDArray[np.int64], y: npt.NDArray[np.float64], outcome: Outcome
) -> npt.NDArray[np.int64]:
    """Return fold strata: arm x outcome class (x above/below median for continuous outcomes)."""
    high = y > 0.5 if outcome == "binary" else y > np.median(y)
    return codes * 2 + high.astype(np.int64)


def fold_score(
    uplift: npt.NDArray[np.float64], codes: npt.NDArray[np.int64], y: npt.NDArray[np.float64]
) -> float:
    """Return the mean over treatments of the normalised Qini of each treatment vs control."""
    scores = []
    for i in range(uplift.shape[1]):
        rows = (codes == 0) | (codes == i + 1)
        scores.append(
            qini_coefficient(y[rows], (codes[rows] == i + 1).astype(float), uplift[rows, i])
        )
    return float(np.mean(scores))


def cross_validated_scores(
    candidates: Sequence[str],
    outcome: Outcome,
    settings: LearnerSettings,
    X: npt.NDArray[np.float64],
    codes: npt.NDArray[np.int64],
    y: npt.NDArray[np.float64],
    folds: int,
) -> dict[str, float]:
    """Return each candidate's mean normalised Qini over stratified K folds."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise UpliftError(f"cv must be at least 2 folds, got {folds}")
    groups = strata(codes, y, outcome)
    smallest = int(np.bincount(groups)[np.unique(groups)].min())
    if smallest < folds:
        raise UpliftError(
            f"too few rows to choose a learner by {folds}-fold cross-validation: an arm has only "
            f"{smallest} rows of one outcome class; pass a learner name or lower cv"
        )
    n_treatments = int(codes.max())
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=settings.random_state)
    totals = {name: 0.0 for name in candidates}
    for train, valid in splitter.split(X, groups):
        shares = arm_shares(codes[train], n_treatments)
        for name in candidates:
            model = build_learner(name, outcome, settings, n_treatments)
            fit_learner(
                model,
                name,
                outcome,
                X[train],
                codes[train],
                y[train],
                shares,
                settings.random_state,
            )
            uplift = predict_learner(model, name, outcome, X[valid], shares)
            totals[name] += fold_score(uplift, codes[valid], y[valid]) / folds
    return totals
