"""Drive campaign runs: start due runs, prepare their ledger rows, drain them in batches, finish."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.campaigns.lifecycle import claim_run, materialise_due_runs
from campaign_engine.db import transaction
from campaign_engine.dispatch.holdout import GlobalHoldout
from campaign_engine.dispatch.ledger import Lookup, claim_batch, recover_stale
from campaign_engine.dispatch.prepare import load_plan, prepare_batch, start_run
from campaign_engine.dispatch.sender import Sender
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.models import Campaign, CampaignRun, Delivery, PolicyDecision
from campaign_engine.models.types import utcnow

log = logging.getLogger(__name__)

PREPARE_POLL = 0.1  # seconds a sender waits for the next prepared batch
WAIT_HORIZON = timedelta(seconds=60)  # a retry due this soon is waited for; later ones next tick

Submit = Callable[[list[int], datetime], Counter[str]]  # (claimed ids, their claim time)


@dataclass
class Runner:
    """Advances runs; `submit` sends one claimed batch (in process or as a Celery task)."""

    sessions: sessionmaker[Session]
    settings: DispatchSettings
    sender: Sender
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    submit: Submit | None = None
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep

    def tick(self) -> int:
        """Start due runs and advance every run that needs work; return how many were advanced."""
        with transaction(self.sessions) as session:
            materialise_due_runs(session, self.clock())
        advanced = 0
        while True:
            with transaction(self.sessions) as session:
                run = claim_run(session, self.clock(), self.settings.lease)
                run_id = run.id if run else None
            if run_id is None:
                return advanced
            self.advance(run_id)
            advanced += 1

    def advance(self, run_id: int) -> str:
        """Prepare and drain one run as far as it goes now; return its state afterwards.

        Sending starts as soon as the first batch is prepared: preparing goes on in a thread.
        """
        failure: list[BaseException] = []

        def prepare() -> None:
            try:
                self.prepare(run_id)
            except BaseException as error:  # re-raised below, in the caller's thread
                failure.append(error)

        preparing = threading.Thread(target=prepare, name=f"prepare-run-{run_id}")
        preparing.start()
        try:
            self.drain(run_id, preparing)
        finally:
            preparing.join()
        if failure:
            raise failure[0]
        with transaction(self.sessions) as session:
            return finish_if_done(session, run_id, self.clock())

    def prepare(self, run_id: int) -> None:
        """Decide every member of a run (one committed transaction per batch)."""
        while self._prepare_step(run_id):
            pass

    def _prepare_step(self, run_id: int) -> bool:
        with transaction(self.sessions) as session:
            run = session.get(CampaignRun, run_id)
            if run is None or run.status not in ("due", "preparing"):
                return False
            now = self.clock()
            campaign = session.get(Campaign, run.campaign_id)
            assert campaign is not None
            if run.status == "due":
                start_run(session, run, campaign, now, GlobalHoldout.of(self.settings.rules))
            tally = prepare_batch(
                session, run, load_plan(session, campaign), self.settings.rules, now
            )
            run.claimed_at = now  # still working on it
            if tally.contacts == 0:
                run.status = "sending"
                run.prepared_at = now
                return False
            return True

    def drain(self, run_id: int, preparing: threading.Thread | None = None) -> None:
        """Send a run's due deliveries in claimed batches; wait briefly for retries coming due.

        While `preparing` is alive, more deliveries are on their way: wait for them.
        """
        after = 0
        pool = ThreadPoolExecutor(max_workers=max(self.settings.parallel_batches, 1))
        try:
            while True:
                claimed = self._claim(run_id, after)
                if claimed is None:
                    return
                batches, claimed_at = claimed
                if batches:
                    after = batches[-1][-1]
                    send = self.submit or self.sender.send
                    list(pool.map(send, batches, [claimed_at] * len(batches)))
                    continue
                if after:  # start over from the lowest id: retries may have come due
                    after = 0
                    continue
                if preparing is not None and preparing.is_alive():
                    preparing.join(timeout=PREPARE_POLL)
                    continue
                wait = self._next_due(run_id)
                if wait is None or wait > WAIT_HORIZON:
                    return
                self.sleep(max(wait.total_seconds(), 0.05))
        finally:
            pool.shutdown(wait=True)

    def _claim(self, run_id: int, after: int) -> tuple[list[list[int]], datetime] | None:
        """Claim the next batches (and say when); None when the run is no longer sending."""
        with transaction(self.sessions) as session:
            run = session.get(CampaignRun, run_id)
            if run is None or run.status not in ("due", "preparing", "sending"):
                return None
            now = self.clock()
            recover_stale(session, now, self.lookups, self.settings.lease, run_id)
            batches = []
            for _ in range(max(self.settings.parallel_batches, 1)):
                ids = claim_batch(session, run_id, self.settings.send_batch, now, after)
                if not ids:
                    break
                batches.append(ids)
                after = ids[-1]
            run.claimed_at = now
            return batches, now

    def _next_due(self, run_id: int) -> timedelta | None:
        with transaction(self.sessions) as session:
            earliest = session.scalar(
                select(func.min(Delivery.not_before)).where(
                    Delivery.run_id == run_id, Delivery.status.in_(("queued", "sending"))
                )
            )
            if earliest is None:
                return None
            pending = session.scalar(
                select(func.count()).where(Delivery.run_id == run_id, Delivery.status == "sending")
            )
        if pending:  # another sender's batch, or one to recover when its lease ends
            return timedelta(seconds=1)
        return earliest - self.clock()


def finish_if_done(session: Session, run_id: int, now: datetime) -> str:
    """Complete a sending run with nothing left to send; complete its campaign when it is over."""
    run = session.get(CampaignRun, run_id)
    assert run is not None
    if run.status != "sending" or run.kind == "journey":  # a journey's run lasts while it does
        return run.status
    left = session.scalar(
        select(func.count()).where(
            Delivery.run_id == run_id, Delivery.status.in_(("queued", "sending"))
        )
    )
    if left:
        return run.status
    run.status = "completed"
    run.finished_at = now
    campaign = session.get(Campaign, run.campaign_id)
    assert campaign is not None
    active = session.scalar(
        select(func.count()).where(
            CampaignRun.campaign_id == campaign.id,
            CampaignRun.status.in_(("due", "preparing", "sending", "paused")),
            CampaignRun.id != run_id,
        )
    )
    waiting_for_winner = bool(campaign.ab_test_hours) and campaign.winner_variant is None
    if (
        campaign.status == "running"
        and not active
        and campaign.next_run_at is None
        and not waiting_for_winner
        and run.kind != "test"
    ):
        campaign.status = "completed"
        campaign.ended_at = now
    session.flush()
    return run.status


def describe_progress(session: Session, campaign_id: int) -> dict[str, Any]:
    """Return a campaign's live progress: deliveries by state and skips by reason."""
    real = Delivery.run_id.in_(
        select(CampaignRun.id).where(
            CampaignRun.campaign_id == campaign_id, CampaignRun.kind != "test"
        )
    )  # seed sends are not the campaign's progress
    deliveries = dict(
        session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.campaign_id == campaign_id, real)
            .group_by(Delivery.status)
        ).all()
    )
    retrying = session.scalar(
        select(func.count()).where(
            Delivery.campaign_id == campaign_id,
            real,
            Delivery.status == "queued",
            Delivery.attempts > 0,
        )
    )
    skipped = dict(
        session.execute(
            select(PolicyDecision.reason, func.count())
            .where(PolicyDecision.campaign_id == campaign_id)
            .group_by(PolicyDecision.reason)
        ).all()
    )
    return {
        "queued": deliveries.get("queued", 0),
        "sending": deliveries.get("sending", 0),
        "sent": deliveries.get("accepted", 0),
        "failed": deliveries.get("failed", 0),
        "cancelled": deliveries.get("cancelled", 0),
        "retrying": retrying or 0,
        "skipped": skipped,
    }
