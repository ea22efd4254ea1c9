"""Entry points that own transactions: train, score, and the scheduled retrain-and-rescore job.

Fitting happens outside any transaction: the data is read in one, the version stored in another.
Scoring batches run as tasks: in this process by default, on Celery workers with a broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaign_engine.config import load_settings
from campaign_engine.db import transaction
from campaign_engine.errors import Conflict
from campaign_engine.models import UpliftModel, UpliftModelVersion, UpliftScoringRun
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime, build_runtime
from campaign_engine.tasks import CeleryExecutor, make_celery, task
from campaign_engine.uplift_models import registry, scoring, training

log = logging.getLogger(__name__)
TASK_TIMEOUT = 1800  # seconds to wait for one scoring batch on a worker
RESCORE_AFTER = timedelta(hours=24)  # features move with time: rescore daily
ABANDONED_AFTER = timedelta(hours=6)  # a run still going after this is taken for dead

Report = Callable[[str], None]
OnBatch = Callable[[int, int], None]


def _silent(*_: Any) -> None:
    pass


@dataclass(frozen=True)
class Trained:
    """What training produced: the stored version and whether it was promoted."""

    model: str
    version: int
    version_id: int
    learner: str
    metrics: dict[str, Any]
    promoted: bool


def train(
    runtime: Runtime,
    model_ref: int | str,
    *,
    campaign_ids: list[int] | None = None,
    trained_by: str | None = None,
    promote: bool | None = None,
    progress: Report = _silent,
) -> Trained:
    """Train a new version of a model and store it; promote it when asked.

    `promote=None` follows the model's `auto_promote`: promote when it beats propensity
    targeting and the promoted version (`training.better_than`).
    """
    now = utcnow()
    with transaction(runtime.sessions) as session:
        model = registry.get_model(session, model_ref)
        model_id, outcome, learner = model.id, model.outcome, model.learner
        progress(f"reading the training campaigns of {model.name!r}")
        data, ids = training.gather(session, model, campaign_ids, now)
    progress(f"{len(data.y):,} members from campaign(s) {', '.join(map(str, ids))}")
    candidate = training.fit_candidate(
        data, outcome=outcome, learner=learner, campaign_ids=ids, progress=progress
    )
    with transaction(runtime.sessions) as session:
        model = registry.get_model(session, model_id)
        version = training.store_version(session, model, candidate, utcnow(), trained_by)
        current = registry.promoted_version(session, model_id)
        wanted = model.auto_promote and training.better_than(version, current)
        if promote if promote is not None else wanted:
            registry.promote(session, version, utcnow())
        return Trained(
            model=model.name,
            version=version.version,
            version_id=version.id,
            learner=version.learner,
            metrics=version.metrics,
            promoted=version.status == "promoted",
        )


@cache
def _process_runtime() -> Runtime:
    return build_runtime(load_settings())


@task("ce.uplift_score_batch")
def score_batch_task(run_id: int, low: int, high: int) -> int:
    """Score one contact-id range of a run on a worker."""
    with transaction(_process_runtime().sessions) as session:
        return scoring.score_batch(session, run_id, low, high)


def score(
    runtime: Runtime,
    model_ref: int | str,
    *,
    version: int | None = None,
    on_batch: OnBatch = _silent,
    batch_size: int = scoring.BATCH_SIZE,
) -> UpliftScoringRun:
    """Score every contact with a model's promoted version (or `version`); return the run.

    Batches go to Celery workers when a broker is configured, else run here one by one.
    """
    with transaction(runtime.sessions) as session:
        model = registry.get_model(session, model_ref)
        chosen = registry.get_version(session, model, version)
        bounds = scoring.batch_bounds(session, batch_size)
        run = scoring.start_run(session, chosen, utcnow(), len(bounds))
        run_id = run.id
    try:
        _run_batches(runtime, run_id, bounds, on_batch)
        with transaction(runtime.sessions) as session:
            scoring.finish_run(session, run_id)
    except Exception as error:
        with transaction(runtime.sessions) as session:
            scoring.fail_run(session, run_id, f"{type(error).__name__}: {error}")
        raise
    with transaction(runtime.sessions) as session:
        done = session.get(UpliftScoringRun, run_id)
        assert done is not None
        session.expunge(done)
        return done


def _run_batches(
    runtime: Runtime, run_id: int, bounds: list[tuple[int, int]], on_batch: OnBatch
) -> None:
    if runtime.settings.broker_url:
        executor = CeleryExecutor(make_celery(runtime.settings))
        pending = [executor.submit("ce.uplift_score_batch", run_id, lo, hi) for lo, hi in bounds]
        for done, handle in enumerate(pending, start=1):
            handle.get(timeout=TASK_TIMEOUT)
            on_batch(done, len(bounds))
        return
    for done, (low, high) in enumerate(bounds, start=1):
        with transaction(runtime.sessions) as session:
            scoring.score_batch(session, run_id, low, high)
        on_batch(done, len(bounds))


def maintain(runtime: Runtime) -> None:
    """Retrain models whose retraining is due, then rescore models whose scores are stale."""
    now = utcnow()
    with transaction(runtime.sessions) as session:
        _fail_abandoned(session, now)
        due = [
            (m.id, m.train_requested_by)
            for m in registry.list_models(session)
            if _retrain_due(session, m, now)
        ]
    for model_id, requested_by in due:
        try:
            trained = train(runtime, model_id, trained_by=requested_by or "scheduler")
            log.info(
                "uplift: retrained %s v%d (%s)", trained.model, trained.version, trained.learner
            )
        except Exception:
            log.exception("uplift: retraining model %d failed", model_id)
        finally:
            with transaction(runtime.sessions) as session:
                session.execute(
                    update(UpliftModel)
                    .where(UpliftModel.id == model_id)
                    .values(train_requested_at=None, train_requested_by=None)
                )
    with transaction(runtime.sessions) as session:
        stale = [m.id for m in registry.list_models(session) if _scores_stale(session, m, now)]
    for model_id in stale:
        try:
            run = score(runtime, model_id)
            log.info("uplift: scored %d contacts with model %d", run.scored, model_id)
        except Conflict:
            pass  # another scheduler is scoring it
        except Exception:
            log.exception("uplift: scoring model %d failed", model_id)


def _retrain_due(session: Session, model: UpliftModel, now: datetime) -> bool:
    if model.train_requested_at is not None:
        return True
    if model.retrain_days is None:
        return False
    latest = session.scalar(
        select(UpliftModelVersion.trained_at)
        .where(UpliftModelVersion.model_id == model.id)
        .order_by(UpliftModelVersion.trained_at.desc())
        .limit(1)
    )
    return latest is None or latest <= now - timedelta(days=model.retrain_days)


def _scores_stale(session: Session, model: UpliftModel, now: datetime) -> bool:
    version = registry.promoted_version(session, model.id)
    if version is None:
        return False
    last = session.scalar(
        select(UpliftScoringRun)
        .where(UpliftScoringRun.version_id == version.id)
        .order_by(UpliftScoringRun.id.desc())
        .limit(1)
    )
    if last is None:
        return True
    if last.status in ("running", "ranking"):
        return False
    return bool(last.status == "failed" or last.as_of <= now - RESCORE_AFTER)


def _fail_abandoned(session: Session, now: datetime) -> None:
    session.execute(
        update(UpliftScoringRun)
        .where(
            UpliftScoringRun.status.in_(["running", "ranking"]),
            UpliftScoringRun.started_at <= now - ABANDONED_AFTER,
        )
        .values(status="failed", error="abandoned: no end after 6 hours", finished_at=now)
    )
