"""A campaign's life: draft → scheduled → running → completed, with pause, resume and cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_engine.campaigns.service import get_campaign
from campaign_engine.errors import Conflict, InvalidInput, Problem
from campaign_engine.models import Campaign, CampaignRun, Delivery
from campaign_engine.uplift_models.targeting import readiness_problems

GRACE = timedelta(minutes=1)  # a "once" time this close to now still counts as now
ACTIVE_RUNS = ("due", "preparing", "sending")


def next_cron(expression: str, timezone: str, after: datetime) -> datetime:
    """Return the first time after `after` that the cron expression names, in its time zone."""
    local = after.astimezone(ZoneInfo(timezone))
    following: datetime = croniter(expression, local).get_next(datetime)
    return following.astimezone(after.tzinfo)


def first_run_at(campaign: Campaign, now: datetime) -> datetime:
    """Return when a campaign being scheduled first runs, or raise InvalidInput."""
    if campaign.schedule == "none":
        raise InvalidInput(
            "the campaign has no schedule",
            [Problem("schedule.kind", "choose once, cron or local_time")],
        )
    if campaign.schedule == "cron":
        assert campaign.cron is not None
        return next_cron(campaign.cron, campaign.cron_timezone, now)
    assert campaign.send_at is not None
    if campaign.send_at < now - GRACE:
        raise InvalidInput(
            "the campaign's send time has passed",
            [Problem("schedule.send_at", f"{campaign.send_at.isoformat()} is in the past")],
        )
    return max(campaign.send_at, now)


def schedule_campaign(session: Session, campaign_id: int, now: datetime) -> Campaign:
    """Move a draft to scheduled; the scheduler starts its runs when they fall due."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status != "draft":
        raise Conflict(f"only a draft can be scheduled; this campaign is {campaign.status}")
    check_ready(session, campaign)
    campaign.next_run_at = first_run_at(campaign, now)
    campaign.status = "scheduled"
    session.flush()
    return campaign


def check_ready(session: Session, campaign: Campaign) -> None:
    """Raise InvalidInput when an uplift-mode campaign's model cannot select anyone yet."""
    if campaign.targeting is None:
        return
    problems = readiness_problems(session, campaign.targeting)
    if problems:
        raise InvalidInput("the campaign's uplift targeting is not ready", problems)


def unschedule_campaign(session: Session, campaign_id: int) -> Campaign:
    """Move a scheduled campaign that has not started back to draft."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status != "scheduled":
        raise Conflict(
            f"only a scheduled campaign can be unscheduled; this one is {campaign.status}"
        )
    campaign.status = "draft"
    campaign.next_run_at = None
    session.flush()
    return campaign


def send_now(session: Session, campaign_id: int, now: datetime) -> CampaignRun:
    """Start a draft or scheduled campaign at once (a one-off run due now)."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in ("draft", "scheduled"):
        raise Conflict(f"a {campaign.status} campaign cannot be launched")
    check_ready(session, campaign)
    run = CampaignRun(campaign_id=campaign.id, due_at=now, kind="scheduled", status="due")
    session.add(run)
    campaign.status = "running"
    campaign.started_at = campaign.started_at or now
    if campaign.schedule != "cron":
        campaign.next_run_at = None
    session.flush()
    return run


def pause_campaign(session: Session, campaign_id: int) -> Campaign:
    """Stop sending after the batch in flight; queued messages wait for resume."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in ("running", "scheduled"):
        raise Conflict(f"a {campaign.status} campaign cannot be paused")
    campaign.status = "paused"
    _set_runs(session, campaign.id, ACTIVE_RUNS, "paused")
    session.flush()
    return campaign


def resume_campaign(session: Session, campaign_id: int) -> Campaign:
    """Carry on sending a paused campaign where it stopped."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status != "paused":
        raise Conflict(f"only a paused campaign can be resumed; this one is {campaign.status}")
    runs = _set_runs(session, campaign.id, ("paused",), "due")
    campaign.status = "running" if runs or campaign.started_at else "scheduled"
    session.flush()
    return campaign


def cancel_campaign(session: Session, campaign_id: int, now: datetime) -> Campaign:
    """End a campaign for good: nothing more is sent, queued messages are cancelled."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status in ("completed", "cancelled"):
        raise Conflict(f"the campaign is already {campaign.status}")
    campaign.status = "cancelled"
    campaign.next_run_at = None
    campaign.ended_at = now
    _set_runs(session, campaign.id, (*ACTIVE_RUNS, "paused"), "cancelled")
    session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.status == "queued")
        .values(status="cancelled", error="campaign cancelled")
    )
    session.flush()
    return campaign


def _set_runs(session: Session, campaign_id: int, states: tuple[str, ...], to: str) -> int:
    changed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(CampaignRun)
        .where(CampaignRun.campaign_id == campaign_id, CampaignRun.status.in_(states))
        .values(status=to, claimed_at=None)
    )
    return int(changed.rowcount)


def materialise_due_runs(session: Session, now: datetime) -> list[int]:
    """Create the runs of scheduled and recurring campaigns that are due; return their ids.

    Two schedulers may do this at once: the run's (campaign, due time) is unique, and the
    campaign's next run time only moves forward by a conditional update.
    """
    created: list[int] = []
    due = session.scalars(
        select(Campaign)
        .where(Campaign.status.in_(("scheduled", "running")), Campaign.next_run_at <= now)
        .order_by(Campaign.next_run_at)
    ).all()
    for campaign in due:
        due_at = campaign.next_run_at
        assert due_at is not None
        following = (
            next_cron(campaign.cron, campaign.cron_timezone, max(due_at, now))
            if campaign.schedule == "cron" and campaign.cron
            else None
        )
        moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(Campaign)
            .where(Campaign.id == campaign.id, Campaign.next_run_at == due_at)
            .values(
                next_run_at=following,
                status="running",
                started_at=campaign.started_at or now,
            )
        )
        if moved.rowcount != 1:
            continue  # another scheduler took it
        try:
            with session.begin_nested():
                run = CampaignRun(campaign_id=campaign.id, due_at=due_at, kind="scheduled")
                session.add(run)
                session.flush()
                created.append(run.id)
        except IntegrityError:
            pass
    session.expire_all()
    return created


def claim_run(session: Session, now: datetime, lease: timedelta) -> CampaignRun | None:
    """Claim one run that needs work (due, or sending and unattended for `lease`), or None."""
    candidates = session.scalars(
        select(CampaignRun.id)
        .where(CampaignRun.status.in_(ACTIVE_RUNS), CampaignRun.kind != "test")
        .where((CampaignRun.claimed_at.is_(None)) | (CampaignRun.claimed_at < now - lease))
        .order_by(CampaignRun.due_at)
        .limit(20)
    ).all()
    for run_id in candidates:
        claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(CampaignRun)
            .where(CampaignRun.id == run_id, CampaignRun.status.in_(ACTIVE_RUNS))
            .where((CampaignRun.claimed_at.is_(None)) | (CampaignRun.claimed_at < now - lease))
            .values(claimed_at=now)
        )
        if claimed.rowcount == 1:
            return session.get(CampaignRun, run_id)
    return None
