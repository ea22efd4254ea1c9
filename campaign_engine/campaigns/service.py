"""Campaign use cases: save, read, list and delete, with every reference checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.spec import CampaignSpec, parse_spec
from campaign_engine.errors import Conflict, InvalidInput, NotFound, Problem
from campaign_engine.models import (
    Campaign,
    CampaignMessage,
    CampaignSegment,
    CampaignVariant,
    MessageTemplate,
    Segment,
)
from campaign_engine.uplift_models.targeting import targeting_problems

EDITABLE = ("draft", "scheduled", "paused")


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """Return a campaign or raise NotFound."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return campaign


def check_references(session: Session, spec: CampaignSpec) -> list[Problem]:
    """Return a problem for every unknown segment or template and every channel mismatch."""
    problems: list[Problem] = []
    wanted = [*spec.audience.segments, *spec.audience.exclude_segments]
    known = set(session.scalars(select(Segment.id).where(Segment.id.in_(wanted))))
    for field_name in ("segments", "exclude_segments"):
        for i, segment_id in enumerate(getattr(spec.audience, field_name)):
            if segment_id not in known:
                problems.append(
                    Problem(f"audience.{field_name}[{i}]", f"segment {segment_id} does not exist")
                )
    template_ids = [m.template_id for v in spec.variants for m in v.messages]
    templates = {
        t.id: t
        for t in session.scalars(
            select(MessageTemplate).where(MessageTemplate.id.in_(template_ids))
        )
    }
    for i, variant in enumerate(spec.variants):
        for j, message in enumerate(variant.messages):
            where = f"variants[{i}].messages[{j}].template_id"
            template = templates.get(message.template_id)
            if template is None or template.kind != "message":
                problems.append(Problem(where, f"template {message.template_id} does not exist"))
            elif template.channel != message.channel:
                problems.append(
                    Problem(
                        where,
                        f"template {template.name!r} is for {template.channel}, "
                        f"not {message.channel}",
                    )
                )
            elif template.purpose != spec.purpose:
                problems.append(Problem(where, f"template {template.name!r} is {template.purpose}"))
    if spec.targeting is not None:
        problems.extend(targeting_problems(session, spec.targeting.model))
    return problems


def _code(session: Session, spec: CampaignSpec, campaign_id: int | None) -> str:
    code = spec.code or re.sub(r"[^A-Za-z0-9]+", "-", spec.name).strip("-").upper()[:48] or "C"
    clash = select(Campaign.id).where(func.lower(Campaign.code) == code.lower())
    if campaign_id is not None:
        clash = clash.where(Campaign.id != campaign_id)
    if session.scalar(clash) is None:
        return code
    if spec.code:
        raise InvalidInput("the campaign is invalid", [Problem("code", f"{code!r} is taken")])
    number = session.scalar(select(func.count()).select_from(Campaign)) or 0
    return f"{code}-{number + 1}"


def save_campaign(
    session: Session,
    data: Any,
    *,
    campaign_id: int | None = None,
    created_by: str | None = None,
) -> Campaign:
    """Create a campaign, or replace a draft's plan, after checking everything it names."""
    spec = parse_spec(data)
    if problems := check_references(session, spec):
        raise InvalidInput("the campaign names things that do not exist", problems)
    code = _code(session, spec, campaign_id)
    if campaign_id is None:
        campaign = Campaign(status="draft", created_by=created_by, code=code)
        session.add(campaign)
    else:
        campaign = get_campaign(session, campaign_id)
        if campaign.status not in EDITABLE:
            raise Conflict(f"a {campaign.status} campaign cannot be edited")
        if campaign.status == "scheduled":  # a changed plan is scheduled again on purpose
            campaign.status = "draft"
            campaign.next_run_at = None
        session.execute(delete(CampaignSegment).where(CampaignSegment.campaign_id == campaign.id))
        session.execute(delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id))
    campaign.code = code
    campaign.name = spec.name.strip()
    campaign.type = spec.type
    campaign.objective = spec.objective
    campaign.purpose = spec.purpose
    campaign.budget = spec.budget
    campaign.cost = spec.fixed_cost
    campaign.channel = spec.variants[0].messages[0].channel
    campaign.holdout_percent = spec.audience.holdout_percent
    campaign.ab_test_hours = spec.ab_test.hours if spec.ab_test else None
    campaign.ab_test_percent = spec.ab_test.percent if spec.ab_test else 100
    campaign.winner_metric = spec.ab_test.metric if spec.ab_test else None
    schedule = spec.schedule
    campaign.schedule = schedule.kind
    campaign.send_at = schedule.send_at
    campaign.cron = schedule.cron
    campaign.cron_timezone = schedule.timezone
    campaign.local_hour = schedule.local_hour
    campaign.attribution_click_days = spec.attribution.click_days
    campaign.attribution_open_days = spec.attribution.open_days
    campaign.attribution_delivery_days = spec.attribution.delivery_days
    campaign.outcome_days = spec.outcome_days
    campaign.targeting = spec.targeting.model_dump() if spec.targeting else None
    session.flush()
    for segment_id in spec.audience.segments:
        session.add(CampaignSegment(campaign_id=campaign.id, segment_id=segment_id, exclude=False))
    for segment_id in spec.audience.exclude_segments:
        session.add(CampaignSegment(campaign_id=campaign.id, segment_id=segment_id, exclude=True))
    for variant_spec in spec.variants:
        variant = CampaignVariant(
            campaign_id=campaign.id, name=variant_spec.name, share=variant_spec.share
        )
        session.add(variant)
        session.flush()
        for message in variant_spec.messages:
            session.add(
                CampaignMessage(
                    variant_id=variant.id, channel=message.channel, template_id=message.template_id
                )
            )
    session.flush()
    return campaign


def campaign_spec(session: Session, campaign: Campaign) -> dict[str, Any]:
    """Return a campaign's plan in the format `save_campaign` takes."""
    segments = session.execute(
        select(CampaignSegment.segment_id, CampaignSegment.exclude)
        .where(CampaignSegment.campaign_id == campaign.id)
        .order_by(CampaignSegment.segment_id)
    ).all()
    variants = []
    for variant in session.scalars(
        select(CampaignVariant)
        .where(CampaignVariant.campaign_id == campaign.id)
        .order_by(CampaignVariant.name)
    ):
        messages = session.execute(
            select(CampaignMessage.channel, CampaignMessage.template_id)
            .where(CampaignMessage.variant_id == variant.id)
            .order_by(CampaignMessage.channel)
        )
        variants.append(
            {
                "name": variant.name,
                "share": variant.share,
                "messages": [{"channel": c, "template_id": t} for c, t in messages],
            }
        )
    ab_test = None
    if campaign.ab_test_hours:
        ab_test = {
            "percent": campaign.ab_test_percent,
            "hours": campaign.ab_test_hours,
            "metric": campaign.winner_metric,
        }
    return {
        "name": campaign.name,
        "code": campaign.code,
        "type": campaign.type,
        "objective": campaign.objective,
        "purpose": campaign.purpose,
        "budget": campaign.budget,
        "fixed_cost": campaign.cost,
        "audience": {
            "segments": [s for s, exclude in segments if not exclude],
            "exclude_segments": [s for s, exclude in segments if exclude],
            "holdout_percent": campaign.holdout_percent,
        },
        "variants": variants,
        "ab_test": ab_test,
        "schedule": {
            "kind": campaign.schedule,
            "send_at": campaign.send_at,
            "cron": campaign.cron,
            "timezone": campaign.cron_timezone,
            "local_hour": campaign.local_hour,
        },
        "attribution": {
            "click_days": campaign.attribution_click_days,
            "open_days": campaign.attribution_open_days,
            "delivery_days": campaign.attribution_delivery_days,
        },
        "outcome_days": campaign.outcome_days,
        "targeting": campaign.targeting,
    }


@dataclass(frozen=True)
class CampaignRow:
    """One line of the campaign list."""

    id: int
    code: str
    name: str
    type: str
    status: str
    channel: str
    next_run_at: datetime | None
    created_at: datetime


def list_campaigns(session: Session, status: str | None = None) -> list[CampaignRow]:
    """Return campaigns, newest first, optionally only those in `status`."""
    query = select(
        Campaign.id,
        Campaign.code,
        Campaign.name,
        Campaign.type,
        Campaign.status,
        Campaign.channel,
        Campaign.next_run_at,
        Campaign.created_at,
    ).order_by(Campaign.id.desc())
    if status:
        query = query.where(Campaign.status == status)
    return [CampaignRow(*row) for row in session.execute(query)]


def delete_campaign(session: Session, campaign_id: int) -> None:
    """Delete a draft campaign; one that has run is kept for its reports."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status != "draft":
        raise Conflict(f"a {campaign.status} campaign is kept for its reports; cancel it instead")
    session.delete(campaign)
    session.flush()
