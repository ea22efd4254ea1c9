"""Read-only page data for the admin's campaign and template pages, as plain dicts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.service import (
    EDITABLE,
    campaign_spec,
    get_campaign,
)
from campaign_engine.campaigns.spec import WINNER_METRICS
from campaign_engine.campaigns.trial import dry_run
from campaign_engine.dispatch.policy import REASONS, PolicyRules
from campaign_engine.dispatch.runner import describe_progress
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.errors import Conflict
from campaign_engine.message_templates import (
    get_template,
    list_templates,
    preview_template,
    template_json,
)
from campaign_engine.models import Campaign, MessageTemplate, Segment
from campaign_engine.models.campaigns import TYPES
from campaign_engine.segments.service import list_segments
from campaign_engine.uplift_models.targeting import uplift_choices

CHANNELS = ("email", "sms", "social")
# Which lifecycle actions make sense in each status (the lifecycle refuses the others anyway).
ACTIONS_BY_STATUS: dict[str, tuple[str, ...]] = {
    "draft": ("launch", "schedule", "cancel"),
    "scheduled": ("launch", "unschedule", "pause", "cancel"),
    "running": ("pause", "cancel"),
    "paused": ("resume", "cancel"),
    "completed": (),
    "cancelled": (),
}


def skip_lines(skipped: Mapping[str, int]) -> list[dict[str, Any]]:
    """Return skip counts by reason, largest first, each with a sentence a marketer reads."""
    lines = []
    for reason, count in sorted(skipped.items(), key=lambda item: (-item[1], item[0])):
        because = REASONS.get(reason, reason.replace("_", " "))
        who = "1 contact, who" if count == 1 else f"{count:,} contacts, each of whom"
        lines.append(
            {"reason": reason, "count": count, "sentence": f"Not sent to {who} {because}."}
        )
    return lines


def wizard_catalogue(session: Session) -> dict[str, Any]:
    """Return what the campaign wizard offers: segments with sizes, message templates by channel."""
    segments = [
        {"id": row.id, "name": row.name, "last_count": row.last_count}
        for row in list_segments(session)
    ]
    templates: dict[str, list[dict[str, Any]]] = {channel: [] for channel in CHANNELS}
    for template in list_templates(session):
        if template.kind == "message" and template.channel in templates:
            templates[template.channel].append(
                {
                    "id": template.id,
                    "name": template.name,
                    "purpose": template.purpose,
                    "description": template.description,
                }
            )
    return {
        "segments": segments,
        "templates": templates,
        "types": list(TYPES),
        "metrics": list(WINNER_METRICS),
        "uplift_models": uplift_choices(session),
    }


def wizard_data(session: Session, campaign_id: int | None) -> dict[str, Any]:
    """Return the wizard's starting point: the catalogue and, when editing, the saved plan."""
    data: dict[str, Any] = {
        "campaign_id": campaign_id,
        "status": None,
        "spec": None,
        "catalogue": wizard_catalogue(session),
    }
    if campaign_id is not None:
        campaign = get_campaign(session, campaign_id)
        if campaign.status not in EDITABLE:
            raise Conflict(f"a {campaign.status} campaign cannot be edited")
        data["status"] = campaign.status
        data["name"] = campaign.name
        spec = campaign_spec(session, campaign)
        send_at = spec["schedule"]["send_at"]
        spec["schedule"]["send_at"] = send_at.isoformat() if send_at else None
        data["spec"] = spec
    return data


def describe_schedule(campaign: Campaign) -> str:
    """Say in a sentence when a campaign sends."""
    match campaign.schedule:
        case "once":
            return f"Once, at {_when(campaign.send_at)}."
        case "cron":
            return f"Recurring: cron “{campaign.cron}” in {campaign.cron_timezone}."
        case "local_time":
            day = campaign.send_at.date().isoformat() if campaign.send_at else "?"
            return (
                f"At {campaign.local_hour:02d}:00 in each contact's own time zone, "
                f"from {day} (UTC)."
            )
        case _:
            return "Not scheduled: it is sent when launched."


def campaign_page(session: Session, campaign_id: int) -> dict[str, Any]:
    """Return a campaign's plan with segment and template names, its actions and progress."""
    campaign = get_campaign(session, campaign_id)
    spec = campaign_spec(session, campaign)
    audience = spec["audience"]
    segment_ids = [*audience["segments"], *audience["exclude_segments"]]
    segments = {
        row.id: {"id": row.id, "name": row.name, "last_count": row.last_count}
        for row in session.execute(
            select(Segment.id, Segment.name, Segment.last_count).where(Segment.id.in_(segment_ids))
        )
    }
    template_ids = [m["template_id"] for v in spec["variants"] for m in v["messages"]]
    names = dict(
        session.execute(
            select(MessageTemplate.id, MessageTemplate.name).where(
                MessageTemplate.id.in_(template_ids)
            )
        ).all()
    )
    variants = [
        {
            "name": v["name"],
            "share": v["share"],
            "messages": [
                {**m, "template_name": names.get(m["template_id"], "?")} for m in v["messages"]
            ],
        }
        for v in spec["variants"]
    ]
    return {
        "id": campaign.id,
        "code": campaign.code,
        "name": campaign.name,
        "status": campaign.status,
        "type": campaign.type,
        "channel": campaign.channel,
        "purpose": campaign.purpose,
        "objective": campaign.objective,
        "budget": campaign.budget,
        "fixed_cost": campaign.cost,
        "holdout_percent": campaign.holdout_percent,
        "targeting": spec["targeting"],
        "ab_test": spec["ab_test"],
        "winner_variant": campaign.winner_variant,
        "next_run_at": campaign.next_run_at,
        "started_at": campaign.started_at,
        "ended_at": campaign.ended_at,
        "created_by": campaign.created_by,
        "schedule_text": describe_schedule(campaign),
        "include": [segments[s] for s in audience["segments"] if s in segments],
        "exclude": [segments[s] for s in audience["exclude_segments"] if s in segments],
        "variants": variants,
        "actions": list(ACTIONS_BY_STATUS.get(campaign.status, ())),
        "editable": campaign.status in EDITABLE,
        "deletable": campaign.status == "draft",
        "progress": progress_of(session, campaign_id),
    }


def progress_of(session: Session, campaign_id: int) -> dict[str, Any]:
    """Return a campaign's status and live progress, with skips as sentences."""
    campaign = get_campaign(session, campaign_id)
    progress = describe_progress(session, campaign_id)
    return {
        "status": campaign.status,
        "next_run_at": campaign.next_run_at,
        **{key: value for key, value in progress.items() if key != "skipped"},
        "skipped": skip_lines(progress["skipped"]),
    }


def dry_run_report(
    session: Session,
    campaign_id: int,
    now: datetime,
    rules: PolicyRules,
    unit_costs: Mapping[str, float],
) -> dict[str, Any]:
    """Return a dry run's numbers with skips as sentences; nothing is stored."""
    report = dry_run(session, campaign_id, now, rules, unit_costs)
    return {
        **report,
        "skipped": skip_lines(report["skipped"]),
        "total_messages": sum(report["messages"].values()),
    }


def template_rows(session: Session) -> list[dict[str, Any]]:
    """Return every template as the template list shows it."""
    return [
        {
            "id": t.id,
            "name": t.name,
            "kind": t.kind,
            "channel": t.channel,
            "purpose": t.purpose,
            "description": t.description,
            "updated_at": t.updated_at,
        }
        for t in list_templates(session)
    ]


def template_form(session: Session, template_id: int) -> dict[str, Any]:
    """Return a saved template's fields for the editor."""
    return template_json(get_template(session, template_id))


def preview_saved_template(
    session: Session,
    template_id: int,
    contact_id: int | None,
    settings: DispatchSettings,
    secret: str,
) -> dict[str, Any]:
    """Render a saved template as a contact (or the sample contact) would receive it."""
    fields = template_json(get_template(session, template_id))
    body = {key: fields[key] for key in ("name", "kind", "channel", "purpose", "subject")}
    body |= {"html": fields["html"], "text": fields["text"]}
    preview = preview_template(session, body, contact_id, settings, secret)
    message = preview.message
    return {
        "template_id": template_id,
        "name": fields["name"],
        "channel": fields["channel"],
        "contact_id": preview.contact_id,
        "subject": message.subject,
        "html": message.html,
        "text": message.text,
    }


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "?"
