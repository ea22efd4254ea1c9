"""The scheduler process: runs registered periodic jobs; due work is claimed in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from campaign_engine.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A periodic job: `run(runtime)` every `seconds`. Jobs claim their own work by UPDATE."""

    name: str
    seconds: int
    run: Callable[[Runtime], None]


# Later capabilities (campaign sends, journey ticks, trait and model refreshes) add theirs here.
JOBS: list[Job] = []


def build_scheduler(
    runtime: Runtime, blocking: bool, jobs: list[Job] | None = None
) -> BaseScheduler:
    """Return an APScheduler with every job added; one instance per job at a time."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    for job in JOBS if jobs is None else jobs:
        scheduler.add_job(
            job.run,
            "interval",
            seconds=job.seconds,
            args=[runtime],
            id=job.name,
            max_instances=1,
            coalesce=True,
        )
    log.info(
        "scheduler ready with %d job(s): %s",
        len(scheduler.get_jobs()),
        [j.id for j in scheduler.get_jobs()],
    )
    return scheduler
