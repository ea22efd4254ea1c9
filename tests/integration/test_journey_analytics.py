"""Journey analytics on SQLite and PostgreSQL: counts per step, conversion against the holdout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory
from campaign_engine.errors import NotFound
from campaign_engine.journeys import service
from campaign_engine.journeys.analytics import (
    NodeStats,
    journey_stats,
    journey_summary,
    node_counts,
)
from campaign_engine.models import JourneyEnrollment, JourneyStep
from tests.campaign_support import segment, template_id
from tests.factories import make_contact

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session
        session.rollback()


def published(session: Session) -> tuple[int, int]:
    definition = {
        "version": 1,
        "name": "Counted",
        "settings": {"holdout_percent": 20},
        "nodes": [
            {"id": "joined", "type": "entry_segment", "segment_id": segment(session),
             "next": "mail"},
            {"id": "mail", "type": "send", "channel": "email",
             "template_id": template_id(session, "welcome"), "next": "wait"},
            {"id": "wait", "type": "delay", "duration": {"days": 2}, "next": "done"},
            {"id": "done", "type": "exit"},
            {"id": "goal", "type": "goal", "event_type": "order_placed"},
        ],
    }  # fmt: skip
    journey = service.create_journey(session, {"definition": definition})
    version = service.publish(session, journey.id, None, NOW)
    return journey.id, version.id


def enroll(
    session: Session,
    journey_id: int,
    version_id: int,
    status: str,
    trail: list[str],
    holdout: bool = False,
) -> None:
    """Add an enrollment that walked `trail` and is now at its last step with `status`."""
    contact = make_contact(session)
    enrollment = JourneyEnrollment(
        journey_id=journey_id,
        version_id=version_id,
        contact_id=contact.id,
        holdout=holdout,
        status=status,
        node_id=trail[-1],
        state={},
        entered_at=NOW,
    )
    session.add(enrollment)
    session.flush()
    for n, node_id in enumerate(trail):
        last = n == len(trail) - 1
        session.add(
            JourneyStep(
                enrollment_id=enrollment.id,
                journey_id=journey_id,
                version_id=version_id,
                node_id=node_id,
                entered_at=NOW + n * HOUR,
                left_at=None if last else NOW + (n + 1) * HOUR,
                outcome=None if last else "next",
            )
        )
    session.flush()


@pytest.fixture
def walked(session: Session) -> tuple[int, int]:
    """Three treated contacts (waiting, completed, converted) and two held out (one converted)."""
    journey_id, version_id = published(session)
    enroll(session, journey_id, version_id, "waiting", ["joined", "mail", "wait"])
    enroll(session, journey_id, version_id, "completed", ["joined", "mail", "wait", "done"])
    enroll(session, journey_id, version_id, "converted", ["joined", "mail", "goal"])
    enroll(session, journey_id, version_id, "converted", ["joined"], holdout=True)
    enroll(session, journey_id, version_id, "completed", ["joined"], holdout=True)
    return journey_id, version_id


def test_counts_per_step_come_from_the_trail_and_where_contacts_are(
    session: Session, walked: tuple[int, int]
) -> None:
    journey_id, version_id = walked
    counts = node_counts(session, journey_id)
    assert counts == {
        "joined": NodeStats(entered=5, left=3),
        "mail": NodeStats(entered=3, left=3),
        "wait": NodeStats(entered=2, left=1, waiting=1),
        "done": NodeStats(entered=1, exited=1),
        "goal": NodeStats(entered=1, converted=1),
    }
    assert node_counts(session, journey_id, version_id) == counts


def test_steps_of_the_current_version_are_listed_even_before_anyone_comes(
    session: Session,
) -> None:
    journey_id, _ = published(session)
    assert node_counts(session, journey_id) == dict.fromkeys(
        ("joined", "mail", "wait", "done", "goal"), NodeStats()
    )


def test_goal_conversion_is_compared_with_the_holdout(
    session: Session, walked: tuple[int, int]
) -> None:
    journey_id, _ = walked
    summary = journey_summary(session, journey_id)
    assert summary["enrollments"] == 5
    assert summary["by_status"] == {"waiting": 1, "completed": 2, "converted": 2}
    assert summary["treated"] == {"contacts": 3, "converted": 1, "rate": pytest.approx(1 / 3)}
    assert summary["holdout"] == {"contacts": 2, "converted": 1, "rate": 0.5}
    difference = summary["difference"]
    assert difference["value"] == pytest.approx(1 / 3 - 1 / 2)
    assert difference["low"] < difference["value"] < difference["high"]
    assert "at least 100 are needed" in summary["too_small"]
    assert summary["campaign_id"] == service.get_journey(session, journey_id).campaign_id


def test_stats_join_summary_and_counts_and_need_a_real_journey(
    session: Session, walked: tuple[int, int]
) -> None:
    journey_id, _ = walked
    stats = journey_stats(session, journey_id)
    assert stats["nodes"]["wait"] == {
        "entered": 2,
        "waiting": 1,
        "left": 1,
        "exited": 0,
        "converted": 0,
    }
    assert stats["treated"]["contacts"] == 3
    with pytest.raises(NotFound):
        journey_stats(session, journey_id + 100)


def test_without_a_holdout_there_is_no_difference(session: Session) -> None:
    journey_id, version_id = published(session)
    enroll(session, journey_id, version_id, "converted", ["joined", "mail", "goal"])
    summary = journey_summary(session, journey_id)
    assert summary["difference"] is None and summary["holdout"]["contacts"] == 0
