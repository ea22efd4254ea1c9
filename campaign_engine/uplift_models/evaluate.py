"""Evaluate a stored version: its held-out metrics, or the same metrics on chosen campaigns.

On other campaigns the version scores every member; response-propensity targeting is fitted
on the members' treated rows by 2-fold cross-fitting (each half scored by a model fitted on
the other half's treated rows), so neither ranking sees the outcome it is judged on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.ml_data import TrainingData, training_frame
from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models.metrics import FloatArray, evaluate_version, propensity_scores
from campaign_engine.uplift_models.registry import Estimator, get_model, get_version, load_version
from uplift import UpliftError
from uplift.checks import check_arms

PROPENSITY_FOLDS = 2
Outcome = Literal["conversion", "revenue", "margin"]


@dataclass(frozen=True)
class Evaluation:
    """A version's metrics (the shape of `metrics.evaluate_version`) and what they were taken on.

    `source` is "held_out" (the 30% of its training members kept out of fitting) or
    "campaigns"; `in_sample` lists evaluated campaigns the version was also trained on.
    """

    model: str
    version: int
    status: str
    learner: str
    outcome: str
    source: str
    campaign_ids: list[int]
    in_sample: list[int]
    metrics: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Return the evaluation as plain JSON-ready data."""
        return asdict(self)


def held_out(session: Session, model_ref: int | str, version: int | None = None) -> Evaluation:
    """Return the metrics stored with a version (the promoted one when `version` is None)."""
    model = get_model(session, model_ref)
    chosen = get_version(session, model, version)
    if not chosen.metrics.get("normalised_qini"):
        raise InvalidInput(
            f"version {chosen.version} of {model.name!r} has no held-out evaluation",
            [Problem("version", "evaluate it on campaigns instead (--campaign)")],
        )
    return Evaluation(
        model=model.name,
        version=chosen.version,
        status=chosen.status,
        learner=chosen.learner,
        outcome=chosen.outcome,
        source="held_out",
        campaign_ids=list(chosen.campaign_ids),
        in_sample=[],
        metrics=chosen.metrics,
    )


@dataclass(frozen=True)
class CampaignData:
    """What evaluating a version on campaigns needs, read from the database."""

    model: str
    version: int
    status: str
    learner: str
    outcome: str
    trained_on: list[int]
    campaign_ids: list[int]
    estimator: Estimator
    data: TrainingData


def campaign_data(
    session: Session, model_ref: int | str, campaign_ids: list[int], version: int | None = None
) -> CampaignData:
    """Read the campaigns' members with outcomes and load the version's fitted model."""
    model = get_model(session, model_ref)
    chosen = get_version(session, model, version)
    ids = list(dict.fromkeys(campaign_ids))
    data = training_frame(session, ids, outcome=cast(Outcome, chosen.outcome))
    return CampaignData(
        model=model.name,
        version=chosen.version,
        status=chosen.status,
        learner=chosen.learner,
        outcome=chosen.outcome,
        trained_on=list(chosen.campaign_ids),
        campaign_ids=ids,
        estimator=load_version(chosen).model,
        data=data,
    )


def cross_fitted_propensity(
    X: pd.DataFrame, y: pd.Series, treatment: pd.Series, *, binary: bool, seed: int = 0
) -> FloatArray:
    """Score every row by response propensity fitted on the other fold's treated rows."""
    from sklearn.model_selection import StratifiedKFold

    strata = treatment.to_numpy().astype(int) * 2
    if binary:
        strata = strata + (y.to_numpy() > 0)
    counts = np.bincount(strata)
    if counts[counts > 0].min() < PROPENSITY_FOLDS:
        strata = treatment.to_numpy().astype(int)  # a stratum too small to split
    folds = StratifiedKFold(n_splits=PROPENSITY_FOLDS, shuffle=True, random_state=seed)
    scores = np.zeros(len(y))
    for fit, held in folds.split(np.zeros(len(y)), strata):
        scores[held] = propensity_scores(
            X.iloc[fit],
            y.iloc[fit],
            treatment.iloc[fit],
            X.iloc[held],
            binary=binary,
            random_state=seed,
        )
    return scores


def evaluate_data(found: CampaignData, seed: int = 0) -> Evaluation:
    """Score the campaigns' members with the version and evaluate against propensity and random.

    Raises InvalidInput when the members cannot give a figure: an arm with too few rows, or no
    outcome that any ordering could rank (nobody converted).
    """
    data = found.data
    binary = found.outcome == "conversion"
    try:
        check_arms(data.treatment.to_numpy(), 0)
        uplift = np.asarray(found.estimator.predict(data.X), dtype=float)
        if uplift.ndim > 1:  # several treatments: the best one's uplift, as scoring does
            uplift = uplift.max(axis=1)
        propensity = cross_fitted_propensity(
            data.X, data.y, data.treatment, binary=binary, seed=seed
        )
        metrics = evaluate_version(data.y, data.treatment, uplift, propensity)
    except UpliftError as error:
        raise InvalidInput(
            "these campaigns cannot evaluate the model", [Problem("campaigns", str(error))]
        ) from None
    metrics.update(
        learner=found.learner,
        propensity_fit=f"cross-fitted on the members' treated rows ({PROPENSITY_FOLDS} folds)",
        treated_share=round(float(data.treatment.mean()), 4),
        outcome_rate=round(float(pd.to_numeric(data.y).mean()), 6),
    )
    if data.true_effect is not None:
        truth = data.true_effect.to_numpy(dtype=float)
        metrics["true_effect_correlation"] = round(float(np.corrcoef(uplift, truth)[0, 1]), 4)
    return Evaluation(
        model=found.model,
        version=found.version,
        status=found.status,
        learner=found.learner,
        outcome=found.outcome,
        source="campaigns",
        campaign_ids=found.campaign_ids,
        in_sample=[c for c in found.campaign_ids if c in set(found.trained_on)],
        metrics=metrics,
    )


def evaluate_on_campaigns(
    runtime: Runtime,
    model_ref: int | str,
    campaign_ids: list[int],
    *,
    version: int | None = None,
    seed: int = 0,
) -> Evaluation:
    """Evaluate a version on campaigns' members; read in a transaction, compute outside it."""
    with transaction(runtime.sessions) as session:
        found = campaign_data(session, model_ref, campaign_ids, version)
    return evaluate_data(found, seed)
