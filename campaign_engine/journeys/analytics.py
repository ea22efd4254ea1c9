"""Journey analytics: counts per step from the trail, and goal conversion against the holdout.

Conventions shared with the runner: every arrival at a step is a JourneyStep row (`left_at`
set once the contact moved on); an enrollment's `node_id` and `status` say where it is now or
where it finished; held-out enrollments (`holdout`) are never walked, and count as
`converted` when they performed a goal event, like treated ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.journeys.service import IN_JOURNEY, get_journey, get_version
from campaign_engine.models import JourneyEnrollment, JourneyStep, JourneyVersion
from campaign_engine.reporting.stats import GroupSums, difference_of_means, too_small_reason


@dataclass(frozen=True)
class NodeStats:
    """One step: arrivals, contacts there now, departures, journeys ended there, conversions."""

    entered: int = 0
    waiting: int = 0
    left: int = 0
    exited: int = 0
    converted: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as JSON data."""
        return asdict(self)


def node_counts(
    session: Session, journey_id: int, version_id: int | None = None
) -> dict[str, NodeStats]:
    """Return counts per step id, over every version or only `version_id`.

    Steps of the current (or given) version are always present, with zeros when nobody came.
    """
    journey = get_journey(session, journey_id)
    shown_version = version_id or journey.current_version_id
    stats: dict[str, dict[str, int]] = {}
    if shown_version is not None:
        definition = session.scalar(
            select(JourneyVersion.definition).where(
                JourneyVersion.id == shown_version, JourneyVersion.journey_id == journey_id
            )
        )
        for node in (definition or {}).get("nodes", []):
            stats.setdefault(str(node.get("id")), {})

    steps = select(JourneyStep.node_id, func.count(), func.count(JourneyStep.left_at)).where(
        JourneyStep.journey_id == journey_id
    )
    if version_id is not None:
        steps = steps.where(JourneyStep.version_id == version_id)
    for node_id, entered, left in session.execute(steps.group_by(JourneyStep.node_id)):
        stats.setdefault(node_id, {}).update(entered=entered, left=left)

    enrollments = select(JourneyEnrollment.node_id, JourneyEnrollment.status, func.count()).where(
        JourneyEnrollment.journey_id == journey_id, JourneyEnrollment.holdout.is_(False)
    )
    if version_id is not None:
        enrollments = enrollments.where(JourneyEnrollment.version_id == version_id)
    grouped = enrollments.group_by(JourneyEnrollment.node_id, JourneyEnrollment.status)
    for node_id, status, n in session.execute(grouped):
        row = stats.setdefault(node_id, {})
        key = (
            "waiting"
            if status in IN_JOURNEY
            else "converted"
            if status == "converted"
            else "exited"
        )
        row[key] = row.get(key, 0) + n
    return {node_id: NodeStats(**counts) for node_id, counts in stats.items()}


def _group(session: Session, journey_id: int, holdout: bool) -> GroupSums:
    n, converted = session.execute(
        select(
            func.count(),
            func.count().filter(JourneyEnrollment.status == "converted"),
        ).where(JourneyEnrollment.journey_id == journey_id, JourneyEnrollment.holdout.is_(holdout))
    ).one()
    return GroupSums(n=n, total=float(converted), squares=float(converted))  # 0/1 outcomes


def journey_summary(session: Session, journey_id: int) -> dict[str, Any]:
    """Return totals by status and goal conversion of treated against held-out contacts.

    `difference` is the treated rate minus the holdout rate with its 95% interval (None below
    two contacts in a group); `too_small` says why the comparison is not firm yet, if it is not.
    """
    journey = get_journey(session, journey_id)
    by_status = (
        select(JourneyEnrollment.status, func.count())
        .where(JourneyEnrollment.journey_id == journey_id)
        .group_by(JourneyEnrollment.status)
    )
    statuses: dict[str, int] = {status: n for status, n in session.execute(by_status)}
    treated, holdout = _group(session, journey_id, False), _group(session, journey_id, True)
    difference = difference_of_means(treated, holdout)
    return {
        "journey_id": journey.id,
        "status": journey.status,
        "campaign_id": journey.campaign_id,
        "enrollments": sum(statuses.values()),
        "by_status": statuses,
        "treated": _rate(treated),
        "holdout": _rate(holdout),
        "difference": difference.as_dict() if difference else None,
        "too_small": too_small_reason(holdout.n, difference, treated.mean),
    }


def _rate(group: GroupSums) -> dict[str, Any]:
    return {"contacts": group.n, "converted": int(group.total), "rate": group.mean}


def journey_stats(
    session: Session, journey_id: int, version_id: int | None = None
) -> dict[str, Any]:
    """Return the summary and the per-step counts together, for the API and the canvas."""
    if version_id is not None:
        get_version(session, journey_id, version_id)
    counts = node_counts(session, journey_id, version_id)
    return journey_summary(session, journey_id) | {
        "version_id": version_id,
        "nodes": {node_id: stats.as_dict() for node_id, stats in counts.items()},
    }
