"""Try a campaign without sending it: a dry run of audience and policy, and test sends to seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.bulk import write_rows
from campaign_engine.campaigns.service import get_campaign
from campaign_engine.dispatch.holdout import REASON as GLOBAL_HOLDOUT
from campaign_engine.dispatch.holdout import GlobalHoldout
from campaign_engine.dispatch.policy import PolicyRules, valid_address
from campaign_engine.dispatch.prepare import Tally, load_plan, prepare_batch, start_run
from campaign_engine.errors import InvalidInput, NotFound, Problem
from campaign_engine.models import CampaignRun, Contact, Delivery

MAX_SEEDS = 20


def dry_run(
    session: Session,
    campaign_id: int,
    now: datetime,
    rules: PolicyRules,
    unit_costs: Mapping[str, float],
) -> dict[str, Any]:
    """Report who would get what and who would be skipped for which reason; store nothing."""
    campaign = get_campaign(session, campaign_id)
    total = Tally()
    savepoint = session.begin_nested()
    try:
        due = max(campaign.send_at or now, now)
        run = CampaignRun(campaign_id=campaign.id, due_at=due, kind="test", status="due")
        session.add(run)
        session.flush()
        if held := start_run(session, run, campaign, now, GlobalHoldout.of(rules)):
            total.contacts += held  # on the list, but not members: the batches never see them
            total.skipped[GLOBAL_HOLDOUT] += held
        plan = load_plan(session, campaign)
        while (tally := prepare_batch(session, run, plan, rules, now, write=False)).contacts:
            total.add(tally)
    finally:
        savepoint.rollback()
    session.expire_all()
    return {
        "audience": total.contacts,
        "holdout": total.skipped.get("holdout", 0),
        "messages": dict(total.queued),
        "deferred": dict(total.deferred),
        "skipped": {k: v for k, v in total.skipped.items() if k != "holdout"},
        "estimated_cost": round(
            sum(count * unit_costs.get(channel, 0.0) for channel, count in total.queued.items()), 2
        ),
        "examples": total.examples,
    }


def create_test_send(
    session: Session,
    campaign_id: int,
    seeds: Sequence[str],
    now: datetime,
    as_contact: int | None = None,
) -> CampaignRun:
    """Queue every variant's messages to the seed addresses, rendered as one contact sees them.

    Seed sends skip the contact policy (they go to the team, not to contacts) and carry
    "[TEST]" in the subject; the runner sends them at once.
    """
    campaign = get_campaign(session, campaign_id)
    if not seeds or len(seeds) > MAX_SEEDS:
        raise InvalidInput("give seed addresses", [Problem("seeds", f"give 1 to {MAX_SEEDS}")])
    contact_id = as_contact or session.scalar(select(Contact.id).order_by(Contact.id).limit(1))
    if contact_id is None or session.get(Contact, contact_id) is None:
        raise NotFound(
            f"contact {as_contact} does not exist" if as_contact else "there are no contacts"
        )
    plan = load_plan(session, campaign)
    run = CampaignRun(campaign_id=campaign.id, due_at=now, kind="test", status="sending")
    session.add(run)
    session.flush()
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for i, seed in enumerate(seeds):
        channels = [c for c in ("email", "sms") if valid_address(c, seed.strip())]
        if not channels:
            problems.append(
                Problem(f"seeds[{i}]", f"{seed!r} is neither an email nor an E.164 phone")
            )
        for (variant, channel), template_id in plan.templates.items():
            if channel not in channels:
                continue
            rows.append(
                {
                    "key": f"{campaign.id}:{run.id}:test:{i}:{channel}:{variant}",
                    "run_id": run.id,
                    "campaign_id": campaign.id,
                    "contact_id": contact_id,
                    "channel": channel,
                    "variant": variant,
                    "template_id": template_id,
                    "purpose": "transactional",  # a seed send is not marketing to a contact
                    "address": seed.strip(),
                    "status": "queued",
                    "planned_at": now,
                    "not_before": now,
                    "attempts": 0,
                    "cost": 0,
                }
            )
    if problems:
        raise InvalidInput("some seed addresses are invalid", problems)
    if not rows:
        raise InvalidInput(
            "no message matches the seeds",
            [Problem("seeds", "give an email address for email messages or a phone for SMS")],
        )
    write_rows(session, Delivery, rows, all_new=True)
    return run
