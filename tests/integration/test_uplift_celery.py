"""Uplift scoring batches run on real Celery workers over RabbitMQ, spread over the workers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.demo import seed_demo
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.models import Campaign, UpliftScore
from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models import jobs, registry
from tests.campaign_support import in_session
from tests.integration.test_dispatch_celery import (  # noqa: F401  (fixtures)
    Workers,
    celery_runtime,
    fake_sendgrid,
    services,
    workers,
)

TASK = "ce.uplift_score_batch"


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_celery_workers_score_every_contact_once_in_shared_batches(
    celery_runtime: Runtime,  # noqa: F811
    workers: Workers,  # noqa: F811
) -> None:
    seed_demo(celery_runtime.engine, contacts=3_000, seed=7, today=date(2026, 5, 1))

    def define(session: Session) -> None:
        campaign = session.scalar(select(Campaign.id).where(Campaign.code == CAMPAIGN_CODE))
        spec = {"name": "offer", "learner": "t", "training": {"campaigns": [campaign]}}
        registry.save_model_spec(session, registry.parse_model_spec(spec))

    in_session(celery_runtime, define)
    jobs.train(celery_runtime, "offer", promote=True)
    workers.start()
    workers.start()
    done: list[int] = []
    run = jobs.score(celery_runtime, "offer", batch_size=250, on_batch=lambda d, n: done.append(d))
    assert (run.status, run.batches, run.batches_done, run.scored) == ("done", 12, 12, 3_000)
    assert done == list(range(1, 13))
    scored = in_session(
        celery_runtime,
        lambda s: s.execute(
            select(func.count(), func.count(UpliftScore.percentile.distinct()))
        ).one(),
    )
    assert scored[0] == 3_000 and scored[1] > 1  # ranked: percentiles differ
    logs = [(workers.logs / f"worker{n}.log").read_text() for n in (1, 2)]
    ran = [log.count(f"Task {TASK}") for log in logs]
    assert all(ran), f"a worker scored nothing: {ran}"
