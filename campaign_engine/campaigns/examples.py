"""Example campaigns the demo stores as drafts: a category-gap cross-sell and a win-back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.service import save_campaign
from campaign_engine.message_templates import install_starters
from campaign_engine.models import Campaign, MessageTemplate, Segment

# code → (segment name, starter template, campaign fields)
EXAMPLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "GAP-COMPUTERS": (
        "Software buyers who never bought a computer",
        "cross_sell",
        {
            "name": "Category gap: computers for software buyers",
            "type": "cross_sell",
            "objective": "Sell a first computer to customers who only buy software.",
        },
    ),
    "WINBACK-AT-RISK": (
        "At-risk high-value customers",
        "win_back",
        {
            "name": "Win back at-risk high-value customers",
            "type": "win_back",
            "objective": "Bring back valuable customers whose purchases have stopped.",
            "budget": 2500,
        },
    ),
}


def save_example_campaigns(session: Session) -> int:
    """Install the starter templates, then save each example campaign not saved yet."""
    install_starters(session)
    saved = 0
    for code, (segment_name, template_name, fields) in EXAMPLES.items():
        if session.scalar(select(Campaign.id).where(Campaign.code == code)) is not None:
            continue
        segment_id = session.scalar(select(Segment.id).where(Segment.name == segment_name))
        template_id = session.scalar(
            select(MessageTemplate.id).where(MessageTemplate.name == template_name)
        )
        if segment_id is None or template_id is None:
            continue
        body = fields | {
            "code": code,
            "audience": {"segments": [segment_id], "holdout_percent": 10},
            "variants": [{"messages": [{"channel": "email", "template_id": template_id}]}],
        }
        save_campaign(session, body, created_by="demo")
        saved += 1
    return saved
