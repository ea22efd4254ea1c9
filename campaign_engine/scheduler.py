"""The scheduler process: runs registered periodic jobs; each run is claimed in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import CursorResult, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_engine.db import transaction
from campaign_engine.models import JobRun
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A periodic job: `run(runtime)` at most once every `seconds`, across all schedulers."""

    name: str
    seconds: int
    run: Callable[[Runtime], None]


def refresh_traits_daily(runtime: Runtime) -> None:
    """Recompute every buyer's RFM and CLV traits as of today (UTC)."""
    from campaign_engine.traits.refresh import refresh_traits

    with transaction(runtime.sessions) as session:
        summary = refresh_traits(session, utcnow().date())
    log.info("traits refreshed: %s", summary)


def dispatch_campaigns(runtime: Runtime) -> None:
    """Start due campaign runs and A/B winners' runs, then send what is due."""
    from campaign_engine.campaigns.abtest import choose_winners
    from campaign_engine.dispatch.wiring import build_runner

    with transaction(runtime.sessions) as session:
        choose_winners(session, utcnow())
    advanced = build_runner(runtime).tick()
    if advanced:
        log.info("campaign runs advanced: %d", advanced)


def attribute_orders(runtime: Runtime) -> None:
    """Attribute new orders (and recheck recent ones), a committed batch at a time."""
    from campaign_engine.tracking.attribution import CHUNK, attribute_new_orders

    total = 0
    while True:
        with transaction(runtime.sessions) as session:
            done = attribute_new_orders(session, utcnow())
        total += done
        if done < CHUNK:  # caught up; a full batch means more may be waiting
            break
    if total:
        log.info("orders attributed: %d", total)


def roll_up_tracking(runtime: Runtime) -> None:
    """Fold raw tracking events past retention into daily counts, a committed batch at a time."""
    from campaign_engine.tracking.rollup import BATCH, roll_up_events

    now, days, total = utcnow(), runtime.settings.tracking.retention_days, 0
    while True:
        with transaction(runtime.sessions) as session:
            done = roll_up_events(session, now, days)
        total += done
        if done < BATCH:  # caught up; a full batch means more may be waiting
            break
    if total:
        log.info("tracking events rolled up: %d", total)


def tick_journeys(runtime: Runtime) -> None:
    """Advance every due journey enrollment (sends go to the ledger for campaign-dispatch)."""
    from campaign_engine.journeys.runner import tick

    moved = tick(runtime.sessions, utcnow(), rules=runtime.settings.dispatch.rules)
    if moved:
        log.info("journey transitions: %d", moved)


def enter_journeys_by_event(runtime: Runtime) -> None:
    """Enroll contacts whose new events and orders match a journey's event entry."""
    from campaign_engine.journeys.entries import WALK, enter_by_events

    while True:  # a full walk means more may be waiting
        with transaction(runtime.sessions) as session:
            done = enter_by_events(session, utcnow())
        if done.entered:
            log.info("journey entries by event: %d", done.entered)
        if done.walked < WALK:
            break


def enter_journeys_by_segment(runtime: Runtime) -> None:
    """Enroll segment joiners and run recurring entries that are due."""
    from campaign_engine.journeys.entries import enter_by_segments, enter_on_schedule

    with transaction(runtime.sessions) as session:
        entered = enter_by_segments(session, utcnow())
    with transaction(runtime.sessions) as session:
        entered += enter_on_schedule(session, utcnow())
    if entered:
        log.info("journey entries by segment and schedule: %d", entered)


def call_journey_webhooks(runtime: Runtime) -> None:
    """Make due journey webhook calls, apart from the runner so it never waits on them."""
    from campaign_engine.journeys.webhooks import deliver_webhooks

    settings = runtime.settings
    secret = settings.channels.social_webhook_secret or settings.secret_key
    done = deliver_webhooks(runtime.sessions, utcnow(), secret=secret)
    if done:
        log.info("journey webhooks: %s", dict(done))


def maintain_uplift_models(runtime: Runtime) -> None:
    """Retrain uplift models that are due and rescore those whose scores are stale."""
    from campaign_engine.uplift_models.jobs import maintain

    maintain(runtime)


def refresh_rules(runtime: Runtime) -> None:
    """Mine a new rule set when the newest is older than CE_RULES_REFRESH_HOURS (0: never)."""
    from campaign_engine.recommend.ruleset import refresh_if_due

    with transaction(runtime.sessions) as session:
        rule_set = refresh_if_due(session, runtime.settings.recommend, utcnow())
    if rule_set is not None:
        log.info(
            "rule set %d mined: %d product and %d category rules from %d baskets",
            rule_set.id,
            rule_set.product_rules,
            rule_set.category_rules,
            rule_set.baskets,
        )


# Later capabilities (model refreshes) add theirs here.
JOBS: list[Job] = [
    Job("traits-refresh", 24 * 3600, refresh_traits_daily),
    Job("campaign-dispatch", 10, dispatch_campaigns),
    Job("tracking-rollup", 24 * 3600, roll_up_tracking),
    Job("tracking-attribution", 60, attribute_orders),
    Job("journey-tick", 2, tick_journeys),
    Job("journey-event-entries", 1, enter_journeys_by_event),
    Job("journey-entries", 60, enter_journeys_by_segment),
    Job("journey-webhooks", 5, call_journey_webhooks),
    Job("uplift-models", 300, maintain_uplift_models),
    Job("rules-refresh", 3600, refresh_rules),
]
CHECK_SECONDS = 60  # how often a scheduler looks for due jobs


def claim(session: Session, name: str, seconds: int, now: datetime) -> bool:
    """Claim a run of job `name` unless one started less than `seconds` ago (any process)."""
    if session.get(JobRun, name) is None:
        try:
            with session.begin_nested():  # another scheduler may insert it at the same moment
                session.execute(insert(JobRun).values(name=name))
        except IntegrityError:
            pass
    stale = now - timedelta(seconds=seconds)
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(JobRun)
        .where(JobRun.name == name)
        .where((JobRun.started_at.is_(None)) | (JobRun.started_at <= stale))
        .values(started_at=now)
    )
    return bool(claimed.rowcount == 1)


def run_claimed(job: Job, runtime: Runtime) -> None:
    """Run `job` if this process wins its claim; record how it ended."""
    with transaction(runtime.sessions) as session:
        if not claim(session, job.name, job.seconds, utcnow()):
            return
    outcome = "ok"
    try:
        job.run(runtime)
    except Exception as exc:
        outcome = f"failed: {exc}"[:500]
        log.exception("job %s failed", job.name)
    finally:
        with transaction(runtime.sessions) as session:
            session.execute(
                update(JobRun)
                .where(JobRun.name == job.name)
                .values(finished_at=utcnow(), outcome=outcome)
            )


def build_scheduler(
    runtime: Runtime, blocking: bool, jobs: list[Job] | None = None
) -> BaseScheduler:
    """Return an APScheduler that offers every job a claimed run each minute (or period)."""
    # Some jobs run every second: APScheduler's "job executed" lines would drown the log.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    for job in JOBS if jobs is None else jobs:
        scheduler.add_job(
            run_claimed,
            "interval",
            seconds=min(job.seconds, CHECK_SECONDS),
            args=[job, runtime],
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
