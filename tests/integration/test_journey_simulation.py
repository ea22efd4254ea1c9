"""Simulating journeys over stored contacts on SQLite and PostgreSQL: counts, entries, no writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory
from campaign_engine.errors import InvalidQuery
from campaign_engine.journeys.problems import JourneyInvalid
from campaign_engine.journeys.simulation import simulate_journey
from campaign_engine.models import Delivery, JourneyEnrollment
from journeys import library
from tests.campaign_support import segment, template_id
from tests.factories import make_contact, make_order, make_product

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session
        session.rollback()


def welcome_drip(session: Session, segment_id: int) -> dict[str, Any]:
    welcome = template_id(session, "welcome")
    return library()["welcome_onboarding"].install(
        templates=dict.fromkeys(("welcome", "onboarding_tips", "first_order_offer"), welcome),
        segments={"new_subscribers": segment_id},
    )


def test_a_library_journey_over_a_few_contacts_counts_every_step(session: Session) -> None:
    for n in range(6):
        make_contact(session, external_id=f"S{n}", time_zone="Europe/Paris")
    make_contact(session, external_id="X1")  # not in the entry segment
    members = {"version": 1, "root": {"type": "attribute", "field": "external_id",
                                      "op": "starts_with", "value": "S"}}  # fmt: skip
    definition = welcome_drip(session, segment(session, members))

    result = simulate_journey(session, definition, days=30, start=START, seed=1)
    assert (result["population"], result["sampled"], result["entered"]) == (6, 6, 6)
    nodes = result["nodes"]
    assert nodes["joined"]["entered"] == 6 == nodes["welcome"]["entered"]
    assert nodes["joined"]["left_by"] == {"next": 6}
    assert result["sends"]["welcome"] == result["sends"]["tips"] == 6
    clicked = nodes["clicked"]["left_by"]
    assert clicked.get("matched", 0) + clicked.get("timed_out", 0) == 6
    assert result["sends"].get("offer", 0) == clicked.get("timed_out", 0)
    assert result["outcomes"] == {"completed": 6} and result["exits"] == {"done": 6}
    assert simulate_journey(session, definition, days=30, start=START, seed=1) == result
    assert session.scalar(select(func.count()).select_from(JourneyEnrollment)) == 0
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_the_sample_is_a_stable_draw_of_the_population(session: Session) -> None:
    for n in range(10):
        make_contact(session, external_id=f"S{n}")
    definition = welcome_drip(session, segment(session))
    first = simulate_journey(session, definition, days=1, sample=4, start=START, seed=5)
    again = simulate_journey(session, definition, days=1, sample=4, start=START, seed=5)
    assert (first["population"], first["sampled"], first["entered"]) == (10, 4, 4)
    assert first == again
    assert first["nodes"]["welcome"]["entered"] == 4
    assert first["nodes"]["wait_2d"]["waiting"] == 4  # one day into a two-day delay
    assert first["outcomes"] == {"waiting": 4}


def test_event_entries_and_goals_replay_the_last_period(session: Session) -> None:
    shoes = make_product(session, "SH-1", "Shoes", 50.0)
    buyers = [make_contact(session) for _ in range(3)]
    make_order(session, buyers[0].id, START - timedelta(days=10), [(shoes, 1)])
    make_order(session, buyers[0].id, START - timedelta(days=5), [(shoes, 1)])
    make_order(session, buyers[1].id, START - timedelta(days=2), [(shoes, 1)])
    make_order(session, buyers[2].id, START - timedelta(days=45), [(shoes, 1)])  # too old
    cross_sell = template_id(session, "cross_sell")
    definition = library()["post_purchase_cross_sell"].install(
        templates={"cross_sell": cross_sell, "up_sell": template_id(session, "up_sell")},
        segments={},
    )
    result = simulate_journey(session, definition, days=30, start=START)
    assert (result["population"], result["entered"]) == (2, 2)
    assert result["nodes"]["ordered"]["entered"] == 2
    assert result["sends"] == {"cross_sell": 1}  # the other order replays on day 28
    assert result["goals"] == {"goal": 1}  # its second order, replayed on day 25, converts
    assert result["outcomes"] == {"converted": 1, "waiting": 1}


def test_an_invalid_journey_or_options_are_refused(session: Session) -> None:
    with pytest.raises(JourneyInvalid) as error:
        simulate_journey(session, welcome_drip(session, 999))
    assert [p.as_dict()["node_id"] for p in error.value.problems] == ["joined"]
    with pytest.raises(InvalidQuery):
        simulate_journey(session, welcome_drip(session, segment(session)), days=0)


def test_a_recurring_entry_lets_its_segment_in_at_the_first_run(session: Session) -> None:
    for _ in range(3):
        make_contact(session)
    definition = library()["off_season_offer"].install(
        templates={
            "off_season_offer": template_id(session, "off_season_offer"),
            "sms_offer": template_id(session, "sms_offer"),
        },
        segments={"seasonal_only_buyers": segment(session)},
    )
    before_the_run = simulate_journey(session, definition, days=1, start=START + timedelta(days=1))
    assert (before_the_run["population"], before_the_run["entered"]) == (3, 0)
    monthly = simulate_journey(session, definition, days=1, start=START)  # 1 June, 08:00
    assert monthly["nodes"]["monthly"]["entered"] == monthly["sends"]["offer"] == 3
