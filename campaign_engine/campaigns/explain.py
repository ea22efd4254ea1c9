"""Answer "why was (or wasn't) this contact sent this campaign?" from the stored decisions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.service import get_campaign
from campaign_engine.dispatch.policy import REASONS
from campaign_engine.models import CampaignMember, Delivery, PolicyDecision

STATES = {
    "queued": "is queued to be sent",
    "sending": "is being handed to the provider",
    "accepted": "was sent (accepted by the provider)",
    "failed": "failed",
    "cancelled": "was cancelled before sending",
}


def explain_contact(session: Session, campaign_id: int, contact_id: int) -> dict[str, Any]:
    """Return a contact's assignment, every decision and delivery, and sentences saying why."""
    campaign = get_campaign(session, campaign_id)
    member = session.scalars(
        select(CampaignMember).where(
            CampaignMember.campaign_id == campaign.id, CampaignMember.contact_id == contact_id
        )
    ).first()
    decisions = session.scalars(
        select(PolicyDecision)
        .where(PolicyDecision.campaign_id == campaign.id, PolicyDecision.contact_id == contact_id)
        .order_by(PolicyDecision.id)
    ).all()
    deliveries = session.scalars(
        select(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.contact_id == contact_id)
        .order_by(Delivery.id)
    ).all()
    sentences: list[str] = []
    # The global holdout and uplift targeting keep contacts out of membership.
    held_out = any(d.reason in ("global_holdout", "uplift") for d in decisions)
    if member is None and not held_out:
        sentences.append("The contact was not in the campaign's audience when it ran.")
    for decision in decisions:
        where = f" on {decision.channel}" if decision.channel else ""
        because = REASONS.get(decision.reason, decision.reason)
        sentences.append(f"Not sent{where}: the contact {because} ({decision.detail}).")
    for delivery in deliveries:
        state = STATES.get(delivery.status, delivery.status)
        extra = f": {delivery.error}" if delivery.error else ""
        deferred = " after quiet hours" if delivery.deferred_reason == "quiet_hours" else ""
        sentences.append(f"The {delivery.channel} message{deferred} {state}{extra}.")
    return {
        "campaign_id": campaign.id,
        "contact_id": contact_id,
        "group": member.group if member else None,
        "variant": member.variant if member else None,
        "decisions": [
            {
                "run_id": d.run_id,
                "channel": d.channel,
                "reason": d.reason,
                "detail": d.detail,
                "decided_at": d.decided_at,
            }
            for d in decisions
        ],
        "deliveries": [
            {
                "id": d.id,
                "run_id": d.run_id,
                "channel": d.channel,
                "variant": d.variant,
                "status": d.status,
                "planned_at": d.planned_at,
                "deferred_reason": d.deferred_reason,
                "attempts": d.attempts,
                "sent_at": d.sent_at,
                "error": d.error,
            }
            for d in deliveries
        ],
        "explanation": sentences,
    }
