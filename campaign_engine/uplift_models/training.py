"""Train a new version of an uplift model: gather past campaigns, fit, evaluate held out, store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.ml_data import TrainingData, training_frame
from campaign_engine.models import Campaign, CampaignMember, UpliftModel, UpliftModelVersion
from campaign_engine.uplift_models.metrics import evaluate_version, propensity_scores
from campaign_engine.uplift_models.registry import (
    Estimator,
    dump_estimator,
    next_version_number,
)
from uplift import UpliftClassifier, UpliftError, UpliftRegressor
from uplift.checks import check_arms
from uplift.persistence import library_versions

TEST_SHARE = 0.3
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def training_campaigns(session: Session, model: UpliftModel, now: datetime) -> list[int]:
    """Return the campaigns a model trains on: the listed ones, or recent finished ones.

    Recent ones are campaigns of the model's types that started within `days`, have treated and
    held-out members, and whose outcome window has closed.
    """
    training = model.training
    if training.get("campaigns"):
        return [int(c) for c in training["campaigns"]]
    since = now - timedelta(days=int(training.get("days", 365)))
    rows = session.execute(
        select(Campaign.id, Campaign.started_at, Campaign.outcome_days)
        .where(
            Campaign.type.in_(training.get("campaign_types") or ["-"]),
            Campaign.started_at.is_not(None),
            Campaign.started_at >= since,
            exists().where(
                CampaignMember.campaign_id == Campaign.id, CampaignMember.group == "control"
            ),
        )
        .order_by(Campaign.id)
    ).all()
    ids = [
        i for i, start, days in rows if start is not None and start + timedelta(days=days) <= now
    ]
    if not ids:
        raise InvalidInput(
            f"no campaign can train model {model.name!r}",
            [
                Problem(
                    "training",
                    "no campaign of these types started in the window with a holdout "
                    "and a closed outcome window",
                )
            ],
        )
    return ids


@dataclass(frozen=True)
class Candidate:
    """A fitted, evaluated estimator, ready to be stored as a new version."""

    estimator: Estimator
    metrics: dict[str, Any]
    campaign_ids: list[int]
    n_rows: int


def _split(data: TrainingData, binary: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    strata = data.treatment.to_numpy() * 2
    if binary:
        strata = strata + (data.y.to_numpy() > 0)
    rows = np.arange(len(data.y))
    try:
        train, test = train_test_split(
            rows, test_size=TEST_SHARE, stratify=strata, random_state=seed
        )
    except ValueError:  # a stratum too small to split: fall back to treatment only
        train, test = train_test_split(
            rows, test_size=TEST_SHARE, stratify=data.treatment.to_numpy(), random_state=seed
        )
    return np.sort(train), np.sort(test)


def fit_candidate(
    data: TrainingData,
    *,
    outcome: str,
    learner: str,
    campaign_ids: list[int],
    seed: int = 0,
    progress: Progress = _quiet,
) -> Candidate:
    """Fit on 70% of the members, evaluate on the other 30%; never touches the database.

    Raises InvalidInput saying what is missing when the data cannot train a model (no holdout,
    one class, too few rows per arm, unknown learner).
    """
    binary = outcome == "conversion"
    try:  # before splitting: an arm of a row or two cannot be split and says nothing useful
        check_arms(data.treatment.to_numpy(), 0)
    except UpliftError as error:
        raise InvalidInput(
            "these campaigns cannot train an uplift model", [Problem("training", str(error))]
        ) from None
    train, test = _split(data, binary, seed)
    X_train, X_test = data.X.iloc[train], data.X.iloc[test]
    y_train, y_test = data.y.iloc[train], data.y.iloc[test]
    t_train, t_test = data.treatment.iloc[train], data.treatment.iloc[test]
    cls = UpliftClassifier if binary else UpliftRegressor
    estimator = cls(learner=learner, random_state=seed)
    try:
        progress(f"fitting {learner!r} on {len(train):,} members")
        estimator.fit(X_train, y_train.to_numpy(), treatment=t_train.to_numpy())
        progress("evaluating on the held-out 30%")
        uplift = np.asarray(estimator.predict(X_test), dtype=float)
        propensity = propensity_scores(
            X_train, y_train, t_train, X_test, binary=binary, random_state=seed
        )
        metrics = evaluate_version(y_test, t_test, uplift, propensity)
    except UpliftError as error:
        raise InvalidInput(
            "these campaigns cannot train an uplift model", [Problem("training", str(error))]
        ) from None
    metrics.update(
        learner=estimator.learner_,
        cv_scores=estimator.cv_scores_,
        train_rows=len(train),
        treated_share=round(float(data.treatment.mean()), 4),
        outcome_rate=round(float(pd.to_numeric(data.y).mean()), 6),
    )
    if data.true_effect is not None:
        metrics["true_effect_correlation"] = round(
            float(np.corrcoef(uplift, data.true_effect.iloc[test].to_numpy())[0, 1]), 4
        )
    return Candidate(
        estimator=estimator, metrics=metrics, campaign_ids=campaign_ids, n_rows=len(data.y)
    )


def gather(
    session: Session, model: UpliftModel, campaign_ids: list[int] | None, now: datetime
) -> tuple[TrainingData, list[int]]:
    """Return the training data of a model's campaigns (or of `campaign_ids`)."""
    ids = campaign_ids or training_campaigns(session, model, now)
    return training_frame(session, ids, outcome=model.outcome), ids  # type: ignore[arg-type]


def store_version(
    session: Session,
    model: UpliftModel,
    candidate: Candidate,
    now: datetime,
    trained_by: str | None = None,
) -> UpliftModelVersion:
    """Store a fitted candidate as the model's next version (a candidate, not yet promoted)."""
    number = next_version_number(session, model.id)
    artifact = dump_estimator(
        candidate.estimator,
        {"model": model.name, "version": number, "campaigns": candidate.campaign_ids},
    )
    version = UpliftModelVersion(
        model_id=model.id,
        version=number,
        status="candidate",
        learner=candidate.estimator.learner_,
        outcome=model.outcome,
        campaign_ids=candidate.campaign_ids,
        features=[str(f) for f in candidate.estimator.feature_names_in_],
        metrics=candidate.metrics,
        library_versions=library_versions(),
        n_rows=candidate.n_rows,
        artifact=artifact.data,
        artifact_sha256=artifact.sha256,
        trained_by=trained_by,
        trained_at=now,
    )
    session.add(version)
    session.flush()
    return version


def better_than(candidate: UpliftModelVersion, current: UpliftModelVersion | None) -> bool:
    """Whether a retrained version should replace the promoted one (auto-promotion).

    It must beat response-propensity targeting on its own held-out data, and reach at least
    the promoted version's normalised Qini.
    """
    ours = candidate.metrics["normalised_qini"]
    if ours["model"] <= max(ours["propensity"], 0.0):
        return False
    return current is None or ours["model"] >= current.metrics["normalised_qini"]["model"]
