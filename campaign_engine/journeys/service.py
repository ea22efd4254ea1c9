"""Journey use cases: save drafts, check them, publish versions, pause, resume and archive."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.errors import Conflict, NotFound
from campaign_engine.errors import Problem as ErrorProblem
from campaign_engine.journeys.problems import BadBody, JourneyInvalid, bad_body, problems_json
from campaign_engine.journeys.references import referenced_ids
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Journey,
    JourneyEnrollment,
    JourneyVersion,
    MessageTemplate,
    Segment,
    UpliftModel,
)
from campaign_engine.models.types import utcnow
from journeys import Problem, library, validate

EDITABLE = ("draft", "published", "paused")
IN_JOURNEY = ("active", "waiting")
# Library lifecycle stage -> the companion campaign's type (campaigns know fewer types).
STAGE_TYPES = {
    "acquisition": "acquisition",
    "onboarding": "acquisition",
    "growth": "cross_sell",
    "retention": "retention",
    "win_back": "win_back",
    "loyalty": "retention",
    "advocacy": "retention",
}


class JourneyBody(BaseModel):
    """A journey as the API and the canvas send it; the definition may still have problems."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=2_000)] | None = None
    definition: dict[str, Any] | None = None


def parse_body(data: Any) -> JourneyBody:
    """Validate a journey body or raise BadBody naming each bad field."""
    try:
        return JourneyBody.model_validate(data)
    except ValidationError as error:
        raise bad_body(error, "the journey body is invalid") from None


def get_journey(session: Session, journey_id: int) -> Journey:
    """Return a journey or raise NotFound."""
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFound(f"journey {journey_id} does not exist")
    return journey


def _check_name(session: Session, name: str, journey_id: int | None) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise BadBody(
            "the journey needs a name", [ErrorProblem("name", "give a name of 1-200 characters")]
        )
    clash = session.scalar(select(Journey.id).where(Journey.name == name))
    if clash is not None and clash != journey_id:
        raise Conflict(f"a journey named {name!r} already exists", [ErrorProblem("name", "taken")])
    return name


def _apply(session: Session, journey: Journey, body: JourneyBody) -> None:
    draft = dict(body.definition) if body.definition is not None else dict(journey.draft or {})
    name = body.name or journey.name or str(draft.get("name") or "")
    journey.name = _check_name(session, name, journey.id)
    if body.description is not None:
        journey.description = body.description.strip()
    elif body.definition is not None and isinstance(draft.get("description"), str):
        journey.description = draft["description"].strip()
    draft.setdefault("version", 1)
    draft.setdefault("nodes", [])
    draft["name"] = journey.name
    if journey.description:
        draft["description"] = journey.description
    journey.draft = draft
    journey.updated_at = utcnow()


def create_journey(session: Session, body: Any, user: str | None = None) -> Journey:
    """Save a new draft journey; the definition may be incomplete and is kept with its problems.

    The body is `{"name"?, "description"?, "definition"?}`; the name defaults to the
    definition's.
    """
    parsed = parse_body(body)
    if parsed.name is None and not (parsed.definition or {}).get("name"):
        raise BadBody("the journey needs a name", [ErrorProblem("name", "give a name")])
    journey = Journey(name="", description="", status="draft", draft={}, created_by=user)
    _apply(session, journey, parsed)
    session.add(journey)
    session.flush()
    return journey


def update_journey(
    session: Session, journey_id: int, body: Any, user: str | None = None
) -> Journey:
    """Replace a journey's name, description or draft; published versions are untouched."""
    parsed = parse_body(body)
    journey = get_journey(session, journey_id)
    if journey.status not in EDITABLE:
        raise Conflict(f"an {journey.status} journey cannot be edited")
    _apply(session, journey, parsed)
    session.flush()
    return journey


def delete_journey(session: Session, journey_id: int) -> None:
    """Delete a journey that was never published; a published one is archived instead."""
    journey = get_journey(session, journey_id)
    published = session.scalar(select(func.count()).where(JourneyVersion.journey_id == journey_id))
    if published or journey.current_version_id is not None:
        raise Conflict(
            f"journey {journey.name!r} has been published and is kept for its reports; "
            "archive it instead"
        )
    session.delete(journey)
    session.flush()


def check_draft(session: Session, definition: Any) -> list[Problem]:
    """Return every problem with a definition, including templates and segments that are gone.

    A send step's template must be a message template for the step's channel.
    """
    wanted: dict[str, set[int]] = {"template": set(), "segment": set()}
    for _, kind, found in referenced_ids(definition):
        wanted[kind].add(found)
    templates = {
        row.id: row
        for row in session.scalars(
            select(MessageTemplate).where(
                MessageTemplate.id.in_(wanted["template"]), MessageTemplate.kind == "message"
            )
        )
    }
    segments = set(session.scalars(select(Segment.id).where(Segment.id.in_(wanted["segment"]))))
    problems = validate(definition, templates=set(templates), segments=segments)
    return (
        problems + _channel_problems(definition, templates) + _model_problems(session, definition)
    )


def _model_problems(session: Session, definition: Any) -> list[Problem]:
    """Return a problem for each uplift split naming a model that does not exist."""
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    named = {
        str(node.get("id")): node["model"]
        for node in (nodes if isinstance(nodes, list) else [])
        if isinstance(node, dict)
        and node.get("type") == "uplift_split"
        and isinstance(node.get("model"), str)
    }
    known = set(
        session.scalars(select(UpliftModel.name).where(UpliftModel.name.in_(set(named.values()))))
    )
    return [
        Problem(node_id, "model", f"Uplift model {name!r} does not exist.", "dangling_reference")
        for node_id, name in named.items()
        if name not in known
    ]


def _channel_problems(definition: Any, templates: dict[int, MessageTemplate]) -> list[Problem]:
    problems: list[Problem] = []
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or node.get("type") != "send":
            continue
        raw_variants = node.get("variants")
        variants: list[Any] = raw_variants if isinstance(raw_variants, list) else []
        chosen = [("template_id", node.get("template_id"))] + [
            (f"variants[{i}].template_id", v.get("template_id"))
            for i, v in enumerate(variants)
            if isinstance(v, dict)
        ]
        for field, template_id in chosen:
            template = templates.get(template_id) if isinstance(template_id, int) else None
            channel = node.get("channel")
            if template is not None and isinstance(channel, str) and template.channel != channel:
                message = (
                    f"Template {template.name!r} is for {template.channel}, "
                    f"but this step sends by {channel}."
                )
                problems.append(Problem(str(node.get("id")), field, message))
    return problems


def _counts(session: Session, journey_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    query = select(
        JourneyEnrollment.journey_id,
        JourneyEnrollment.status,
        JourneyEnrollment.holdout,
        func.count(),
    ).group_by(JourneyEnrollment.journey_id, JourneyEnrollment.status, JourneyEnrollment.holdout)
    if journey_ids is not None:
        query = query.where(JourneyEnrollment.journey_id.in_(journey_ids))
    counts: dict[int, dict[str, int]] = {}
    for journey_id, status, holdout, n in session.execute(query):
        row = counts.setdefault(journey_id, _empty_counts())
        row["total"] += n
        row["held_out"] += n if holdout else 0
        row["in_journey" if status in IN_JOURNEY else status] += n
    return counts


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(("total", "in_journey", "completed", "exited", "converted", "held_out"), 0)


def list_journeys(session: Session) -> list[dict[str, Any]]:
    """Return every journey by name: id, name, status, current version and enrollment counts."""
    current = select(JourneyVersion.id, JourneyVersion.version).join(
        Journey, Journey.current_version_id == JourneyVersion.id
    )
    versions: dict[int, int] = {row_id: number for row_id, number in session.execute(current)}
    counts = _counts(session)
    return [
        {
            "id": journey.id,
            "name": journey.name,
            "description": journey.description,
            "status": journey.status,
            "version": versions.get(journey.current_version_id or 0),
            "campaign_id": journey.campaign_id,
            "updated_at": journey.updated_at,
            "counts": counts.get(journey.id, _empty_counts()),
        }
        for journey in session.scalars(select(Journey).order_by(Journey.name))
    ]


def describe_journey(session: Session, journey_id: int) -> dict[str, Any]:
    """Return a journey with its draft, the draft's problems, its versions and counts."""
    journey = get_journey(session, journey_id)
    versions = session.scalars(
        select(JourneyVersion)
        .where(JourneyVersion.journey_id == journey_id)
        .order_by(JourneyVersion.version)
    ).all()
    current = next((v.version for v in versions if v.id == journey.current_version_id), None)
    return {
        "id": journey.id,
        "name": journey.name,
        "description": journey.description,
        "status": journey.status,
        "definition": journey.draft,
        "problems": problems_json(check_draft(session, journey.draft)),
        "version": current,
        "versions": [
            {
                "id": v.id,
                "version": v.version,
                "published_at": v.published_at,
                "published_by": v.published_by,
                "run_id": v.run_id,
            }
            for v in versions
        ],
        "campaign_id": journey.campaign_id,
        "counts": _counts(session, [journey.id]).get(journey.id, _empty_counts()),
        "created_by": journey.created_by,
        "created_at": journey.created_at,
        "updated_at": journey.updated_at,
    }


def get_version(session: Session, journey_id: int, version_id: int | None = None) -> JourneyVersion:
    """Return a version of a journey (the current one by default) or raise NotFound."""
    journey = get_journey(session, journey_id)
    version_id = version_id or journey.current_version_id
    version = session.get(JourneyVersion, version_id) if version_id else None
    if version is None or version.journey_id != journey_id:
        raise NotFound(f"journey {journey_id} has no such published version")
    return version


def _stage_type(journey: Journey) -> str:
    for entry in library().values():
        if journey.name == entry.title or journey.name.startswith(f"{entry.title} ("):
            return STAGE_TYPES.get(entry.stage, "retention")
    return "retention"


def _first_channel(definition: dict[str, Any]) -> str:
    for node in definition.get("nodes", []):
        if node.get("type") == "send":
            return str(node.get("channel") or "email")
    return "email"


def _companion(session: Session, journey: Journey, definition: dict[str, Any], user: str | None,
               now: datetime) -> Campaign:  # fmt: skip
    campaign = session.get(Campaign, journey.campaign_id) if journey.campaign_id else None
    if campaign is None:
        campaign = Campaign(
            code=f"JOURNEY-{journey.id}",
            channel=_first_channel(definition),
            purpose="marketing",
            status="running",
            started_at=now,
            type=_stage_type(journey),
            schedule="none",
            created_by=user,
        )
        session.add(campaign)
    campaign.name = f"Journey: {journey.name}"[:200]
    campaign.objective = journey.description
    session.flush()
    journey.campaign_id = campaign.id
    return campaign


def _free_due_at(session: Session, campaign_id: int, now: datetime) -> datetime:
    """Return `now`, or just after it should a journey run of the campaign already have it."""
    due_at = now
    while session.scalar(
        select(CampaignRun.id).where(
            CampaignRun.campaign_id == campaign_id,
            CampaignRun.due_at == due_at,
            CampaignRun.kind == "journey",
        )
    ):
        due_at += timedelta(milliseconds=1)
    return due_at


def publish(session: Session, journey_id: int, user: str | None, now: datetime) -> JourneyVersion:
    """Freeze the draft as the next version; new entries get it, contacts in flight stay put.

    Raise JourneyInvalid listing every problem when the draft cannot be published. The first
    publish creates the companion campaign; each publish gets its own journey run.
    """
    journey = get_journey(session, journey_id)
    if journey.status not in EDITABLE:
        raise Conflict(f"an {journey.status} journey cannot be published")
    if problems := check_draft(session, journey.draft):
        raise JourneyInvalid(
            f"journey {journey.name!r} has {len(problems)} problem(s); fix them to publish",
            problems,
        )
    definition = dict(journey.draft)
    campaign = _companion(session, journey, definition, user, now)
    run = CampaignRun(
        campaign_id=campaign.id,
        due_at=_free_due_at(session, campaign.id, now),
        status="paused" if journey.status == "paused" else "sending",
        kind="journey",
    )
    session.add(run)
    session.flush()
    number = session.scalar(
        select(func.max(JourneyVersion.version)).where(JourneyVersion.journey_id == journey_id)
    )
    version = JourneyVersion(
        journey_id=journey_id,
        version=(number or 0) + 1,
        definition=definition,
        published_at=now,
        published_by=user,
        run_id=run.id,
    )
    session.add(version)
    session.flush()
    journey.current_version_id = version.id
    if journey.status == "draft":
        journey.status = "published"
    journey.updated_at = now
    session.flush()
    return version


def _set_runs(session: Session, journey: Journey, states: tuple[str, ...], to: str,
              now: datetime | None = None) -> None:  # fmt: skip
    run_ids = select(JourneyVersion.run_id).where(JourneyVersion.journey_id == journey.id)
    for run in session.scalars(
        select(CampaignRun).where(CampaignRun.id.in_(run_ids), CampaignRun.status.in_(states))
    ):
        run.status = to
        run.claimed_at = None
        if now is not None:
            run.finished_at = now


def _set_campaign(
    session: Session, journey: Journey, status: str, now: datetime | None = None
) -> None:
    campaign = session.get(Campaign, journey.campaign_id) if journey.campaign_id else None
    if campaign is not None:
        campaign.status = status
        if now is not None:
            campaign.ended_at = now


def pause(session: Session, journey_id: int) -> Journey:
    """Stop entries and moves; queued journey messages wait (contacts keep their place)."""
    journey = get_journey(session, journey_id)
    if journey.status != "published":
        raise Conflict(f"only a published journey can be paused; this one is {journey.status}")
    journey.status = "paused"
    _set_runs(session, journey, ("sending",), "paused")
    _set_campaign(session, journey, "paused")
    session.flush()
    return journey


def resume(session: Session, journey_id: int) -> Journey:
    """Carry on a paused journey where every contact left off."""
    journey = get_journey(session, journey_id)
    if journey.status != "paused":
        raise Conflict(f"only a paused journey can be resumed; this one is {journey.status}")
    journey.status = "published"
    _set_runs(session, journey, ("paused",), "sending")
    _set_campaign(session, journey, "running")
    session.flush()
    return journey


def archive(session: Session, journey_id: int, now: datetime) -> Journey:
    """Retire a journey for good: no entries, no moves; its versions are kept for reports."""
    journey = get_journey(session, journey_id)
    if journey.status == "archived":
        raise Conflict("the journey is already archived")
    journey.status = "archived"
    _set_runs(session, journey, ("sending", "paused"), "completed", now)
    _set_campaign(session, journey, "completed", now)
    session.flush()
    return journey
