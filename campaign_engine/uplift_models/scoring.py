"""Score every contact with a model version in batches of contact-id ranges, then rank them.

A run is split into id ranges; each batch is a task (in process, or on Celery workers) that
computes features as of the run's time, predicts and replaces the model's scores in its range.
The last batch to finish ranks everyone (`percentile`). Scores are kept per model, not per
version: a contact has one current score under each model.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_engine.errors import Conflict
from campaign_engine.ml_data import id_range_frame
from campaign_engine.models import (
    Contact,
    UpliftModelVersion,
    UpliftScore,
    UpliftScoringRun,
)
from campaign_engine.models.types import utcnow
from campaign_engine.uplift_models.registry import load_version

BATCH_SIZE = 20_000  # contacts per batch task


def batch_bounds(session: Session, size: int = BATCH_SIZE) -> list[tuple[int, int]]:
    """Return [low, high) contact-id ranges of about `size` contacts each, covering everyone."""
    ids = session.scalars(select(Contact.id).order_by(Contact.id)).all()
    if not ids:
        return []
    starts = list(ids[::size])
    ends = [*starts[1:], ids[-1] + 1]
    return list(zip(starts, ends, strict=True))


def start_run(
    session: Session, version: UpliftModelVersion, as_of: datetime, batches: int
) -> UpliftScoringRun:
    """Create a scoring run of `version`; Conflict if one of it is already under way."""
    run = UpliftScoringRun(
        model_id=version.model_id,
        version_id=version.id,
        status="running",
        as_of=as_of,
        batches=batches,
        started_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"version {version.version} is already being scored; wait for that run to end"
        ) from None
    return run


def score_batch(session: Session, run_id: int, low: int, high: int) -> int:
    """Score the contacts with low <= id < high for a run; return how many were scored.

    A batch of a run that has ended (failed, or finished by a repeated task) does nothing.
    """
    run = session.get(UpliftScoringRun, run_id)
    if run is None or run.status != "running":
        return 0
    version = session.get(UpliftModelVersion, run.version_id)
    assert version is not None  # cascades with the run
    frame = id_range_frame(session, low, high, run.as_of)
    session.execute(
        delete(UpliftScore).where(
            UpliftScore.model_id == run.model_id,
            UpliftScore.contact_id >= low,
            UpliftScore.contact_id < high,
        )
    )
    if len(frame):
        scores = np.asarray(load_version(version).model.predict(frame), dtype=float)
        if scores.ndim > 1:  # several treatments: the best one's uplift
            scores = scores.max(axis=1)
        now = utcnow()
        session.execute(
            insert(UpliftScore),
            [
                {
                    "model_id": run.model_id,
                    "contact_id": int(contact_id),
                    "version_id": version.id,
                    "score": float(score),
                    "percentile": None,
                    "scored_at": now,
                }
                for contact_id, score in zip(frame.index, scores, strict=True)
            ],
        )
    session.execute(
        update(UpliftScoringRun)
        .where(UpliftScoringRun.id == run_id)
        .values(
            batches_done=UpliftScoringRun.batches_done + 1,
            scored=UpliftScoringRun.scored + len(frame),
        )
    )
    return len(frame)


def finish_run(session: Session, run_id: int) -> bool:
    """Rank a run's model's scores once all its batches are done; return whether this call did.

    The conditional UPDATE lets exactly one caller rank, however many workers finish at once.
    """
    claimed = session.execute(
        update(UpliftScoringRun)
        .where(
            UpliftScoringRun.id == run_id,
            UpliftScoringRun.status == "running",
            UpliftScoringRun.batches_done >= UpliftScoringRun.batches,
        )
        .values(status="ranking")
        .returning(UpliftScoringRun.model_id)
    ).first()
    if claimed is None:
        return False
    model_id = int(claimed[0])
    rank = func.rank().over(order_by=UpliftScore.score.desc())
    ranked = (
        select(
            UpliftScore.contact_id,
            ((rank - 1) * 1.0 / func.count().over()).label("percentile"),
        )
        .where(UpliftScore.model_id == model_id)
        .subquery()
    )
    session.execute(
        update(UpliftScore)
        .where(UpliftScore.model_id == model_id, UpliftScore.contact_id == ranked.c.contact_id)
        .values(percentile=ranked.c.percentile)
    )
    session.execute(
        update(UpliftScoringRun)
        .where(UpliftScoringRun.id == run_id)
        .values(status="done", finished_at=utcnow())
    )
    return True


def fail_run(session: Session, run_id: int, error: str) -> None:
    """Mark a run failed with its error; its scores so far stay (older ones in other ranges)."""
    session.execute(
        update(UpliftScoringRun)
        .where(UpliftScoringRun.id == run_id, UpliftScoringRun.status.in_(["running", "ranking"]))
        .values(status="failed", error=error[:2000], finished_at=utcnow())
    )


def latest_run(session: Session, model_id: int) -> UpliftScoringRun | None:
    """Return a model's most recent scoring run."""
    return session.scalar(
        select(UpliftScoringRun)
        .where(UpliftScoringRun.model_id == model_id)
        .order_by(UpliftScoringRun.id.desc())
        .limit(1)
    )
