"""Journey use cases on both backends: drafts, publishing, lifecycle, references, the library."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.db import make_session_factory
from campaign_engine.errors import Conflict, InvalidInput, NotFound
from campaign_engine.journeys import library_install, service
from campaign_engine.journeys.library_install import install_from_library
from campaign_engine.journeys.problems import BadBody, JourneyInvalid
from campaign_engine.message_templates import delete_template, install_starters, save_template
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Journey,
    JourneyVersion,
    MessageTemplate,
    Segment,
)
from campaign_engine.segments.examples import save_examples
from campaign_engine.segments.service import delete_segment
from journeys import library
from templates import starter_templates
from tests.campaign_support import segment, template_id

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def welcome(segment_id: int | str, template: int | str, channel: str = "email") -> dict[str, Any]:
    """A four-step journey: join a segment, get a message, wait two days, leave."""
    return {
        "version": 1,
        "name": "Welcome",
        "settings": {"holdout_percent": 10},
        "nodes": [
            {"id": "joined", "type": "entry_segment", "segment_id": segment_id, "next": "mail"},
            {"id": "mail", "type": "send", "channel": channel, "template_id": template,
             "next": "wait"},
            {"id": "wait", "type": "delay", "duration": {"days": 2}, "next": "done"},
            {"id": "done", "type": "exit"},
            {"id": "goal", "type": "goal", "event_type": "order_placed"},
        ],
    }  # fmt: skip


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session
        session.rollback()


@pytest.fixture
def refs(session: Session) -> dict[str, int]:
    return {"segment": segment(session), "template": template_id(session, "welcome")}


def create(session: Session, refs: dict[str, int], **body: Any) -> int:
    definition = welcome(refs["segment"], refs["template"])
    return service.create_journey(session, {"definition": definition, **body}, "me@x.io").id


def test_an_invalid_draft_is_saved_with_every_problem_by_step(session: Session) -> None:
    broken = welcome(999, 998)
    broken["nodes"].append({"id": "lost", "type": "exit"})
    journey = service.create_journey(session, {"definition": broken}, "me@x.io")
    assert (journey.name, journey.status, journey.created_by) == ("Welcome", "draft", "me@x.io")
    problems = {(p.node_id, p.code) for p in service.check_draft(session, journey.draft)}
    assert problems == {
        ("joined", "unknown_segment"),
        ("mail", "unknown_template"),
        ("lost", "unreachable"),
    }


def test_a_template_for_another_channel_is_a_problem_at_its_step(
    session: Session, refs: dict[str, int]
) -> None:
    sms = template_id(session, "sms_offer")
    problems = service.check_draft(session, welcome(refs["segment"], sms))
    assert [(p.node_id, p.field) for p in problems] == [("mail", "template_id")]
    assert "is for sms" in problems[0].message


def test_a_body_without_a_name_or_with_unknown_keys_is_refused(session: Session) -> None:
    with pytest.raises(BadBody):
        service.create_journey(session, {"definition": {"nodes": []}})
    with pytest.raises(BadBody) as error:
        service.create_journey(session, {"name": "x", "colour": "red"})
    assert error.value.problems[0].location == "colour"


def test_names_are_unique(session: Session, refs: dict[str, int]) -> None:
    create(session, refs)
    with pytest.raises(Conflict):
        create(session, refs)
    other = create(session, refs, name="Other")
    with pytest.raises(Conflict):
        service.update_journey(session, other, {"name": "Welcome"})


def test_publish_refuses_an_invalid_draft_naming_every_problem(session: Session) -> None:
    journey = service.create_journey(session, {"definition": welcome(999, 998)})
    with pytest.raises(JourneyInvalid) as error:
        service.publish(session, journey.id, "me@x.io", NOW)
    found = [(p.as_dict()["node_id"], p.as_dict()["code"]) for p in error.value.problems]
    assert found == [("joined", "unknown_segment"), ("mail", "unknown_template")]
    assert session.scalar(select(JourneyVersion.id)) is None
    assert journey.status == "draft" and journey.campaign_id is None


def test_first_publish_makes_version_one_a_companion_campaign_and_a_journey_run(
    session: Session, refs: dict[str, int]
) -> None:
    journey_id = create(session, refs)
    version = service.publish(session, journey_id, "me@x.io", NOW)
    journey = service.get_journey(session, journey_id)
    assert (version.version, version.published_by, journey.status) == (1, "me@x.io", "published")
    assert journey.current_version_id == version.id
    assert version.definition["nodes"][1]["template_id"] == refs["template"]
    campaign = session.get(Campaign, journey.campaign_id)
    assert campaign is not None
    assert (campaign.code, campaign.name, campaign.channel) == (
        f"JOURNEY-{journey_id}",
        "Journey: Welcome",
        "email",
    )
    assert (campaign.type, campaign.status, campaign.purpose) == (
        "retention",
        "running",
        "marketing",
    )
    assert campaign.started_at == NOW
    run = session.get(CampaignRun, version.run_id)
    assert run is not None
    assert (run.kind, run.status, run.due_at, run.campaign_id) == (
        "journey",
        "sending",
        NOW,
        campaign.id,
    )


def test_publishing_again_makes_the_next_version_on_the_same_campaign(
    session: Session, refs: dict[str, int]
) -> None:
    journey_id = create(session, refs)
    first = service.publish(session, journey_id, None, NOW)
    changed = welcome(refs["segment"], refs["template"])
    changed["nodes"][2]["duration"] = {"days": 5}
    service.update_journey(session, journey_id, {"definition": changed})
    second = service.publish(session, journey_id, None, NOW)  # same moment: its own run
    assert (first.version, second.version) == (1, 2)
    assert first.definition["nodes"][2]["duration"] == {"days": 2}  # in-flight contacts keep it
    assert second.definition["nodes"][2]["duration"] == {"days": 5}
    assert service.get_journey(session, journey_id).current_version_id == second.id
    runs = session.scalars(select(CampaignRun).order_by(CampaignRun.id)).all()
    assert len(runs) == 2 and runs[0].campaign_id == runs[1].campaign_id
    assert [first.run_id, second.run_id] == [r.id for r in runs]
    assert len(session.scalars(select(Campaign)).all()) == 1
    assert service.describe_journey(session, journey_id)["version"] == 2


def test_pause_resume_and_archive_follow_the_lifecycle(
    session: Session, refs: dict[str, int]
) -> None:
    journey_id = create(session, refs)
    with pytest.raises(Conflict, match="only a published journey can be paused"):
        service.pause(session, journey_id)
    version = service.publish(session, journey_id, None, NOW)
    run = session.get(CampaignRun, version.run_id)
    assert run is not None
    assert service.pause(session, journey_id).status == "paused"
    assert run.status == "paused"
    with pytest.raises(Conflict):
        service.pause(session, journey_id)
    assert service.publish(session, journey_id, None, NOW).version == 2  # stays paused
    assert service.get_journey(session, journey_id).status == "paused"
    assert service.resume(session, journey_id).status == "published"
    assert run.status == "sending"
    with pytest.raises(Conflict, match="only a paused journey can be resumed"):
        service.resume(session, journey_id)
    journey = service.archive(session, journey_id, NOW)
    assert journey.status == "archived" and run.status == "completed"
    campaign = session.get(Campaign, journey.campaign_id)
    assert campaign is not None and (campaign.status, campaign.ended_at) == ("completed", NOW)
    for refused in (
        lambda: service.archive(session, journey_id, NOW),
        lambda: service.resume(session, journey_id),
        lambda: service.publish(session, journey_id, None, NOW),
        lambda: service.update_journey(session, journey_id, {"name": "New"}),
    ):
        with pytest.raises(Conflict):
            refused()


def test_only_a_never_published_journey_can_be_deleted(
    session: Session, refs: dict[str, int]
) -> None:
    draft = create(session, refs)
    service.delete_journey(session, draft)
    with pytest.raises(NotFound):
        service.get_journey(session, draft)
    published = create(session, refs)
    service.publish(session, published, None, NOW)
    with pytest.raises(Conflict, match="archive it instead"):
        service.delete_journey(session, published)


def test_the_list_shows_status_version_and_counts(session: Session, refs: dict[str, int]) -> None:
    first = create(session, refs, name="B journey")
    create(session, refs, name="A journey")
    service.publish(session, first, None, NOW)
    rows = service.list_journeys(session)
    assert [(r["name"], r["status"], r["version"]) for r in rows] == [
        ("A journey", "draft", None),
        ("B journey", "published", 1),
    ]
    assert rows[1]["counts"]["total"] == 0 and rows[1]["campaign_id"] is not None


def test_a_template_or_segment_a_live_journey_uses_cannot_be_deleted(
    session: Session, refs: dict[str, int]
) -> None:
    journey_id = create(session, refs)
    service.delete_journey(session, journey_id)  # an unpublished sketch protects nothing
    journey_id = create(session, refs)
    service.publish(session, journey_id, None, NOW)
    with pytest.raises(Conflict, match="journey 'Welcome' \\(step 'mail'\\)"):
        delete_template(session, refs["template"])
    with pytest.raises(Conflict, match="journey 'Welcome' \\(step 'joined'\\)") as error:
        delete_segment(session, refs["segment"])
    assert error.value.problems[0].location == f"journey {journey_id}, step joined, version 1"

    # The draft of a published journey counts too: an exit criterion in it is protected.
    spare = segment(session, name="spare")
    draft = welcome(refs["segment"], refs["template"])
    draft["settings"]["exit_criteria"] = {"segment_ids": [spare]}
    service.update_journey(session, journey_id, {"definition": draft})
    with pytest.raises(Conflict, match="its exit criteria"):
        delete_segment(session, spare)

    service.archive(session, journey_id, NOW)  # archived journeys keep nothing alive
    delete_segment(session, spare)
    delete_template(session, refs["template"])


def test_an_unused_template_or_segment_can_still_be_deleted(
    session: Session, refs: dict[str, int]
) -> None:
    service.publish(session, create(session, refs), None, NOW)
    unused = segment(session, name="unused")
    other = save_template(
        session,
        {"name": "plain", "channel": "sms", "text": "Hi {{ contact.first_name }}. STOP to end"},
    )
    delete_segment(session, unused)
    delete_template(session, other.id)


def test_every_library_journey_installs_from_the_starters(session: Session) -> None:
    install_starters(session)
    save_examples(session)
    starters = starter_templates()
    for key, entry in library().items():
        for requirement in entry.requires:
            assert requirement.kind != "template" or requirement.name in starters, key
        journey = install_from_library(session, key, "me@x.io")
        assert (journey.name, journey.status) == (entry.title, "draft")
        assert service.check_draft(session, journey.draft) == [], key
        sends = [n for n in journey.draft["nodes"] if n["type"] == "send"]
        assert sends, key
        for node in sends:  # each step sends the starter its placeholder named
            template = session.get(MessageTemplate, node["template_id"])
            assert template is not None and template.channel == node["channel"], key


def test_a_library_journey_names_each_template_no_starter_provides(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = library()["welcome_onboarding"]
    renamed = json.loads(
        json.dumps(entry.definition)
        .replace('"template:onboarding_tips"', '"template:spring_tips"')
        .replace('"template:first_order_offer"', '"template:spring_offer"')
    )
    custom = dataclasses.replace(entry, definition=renamed)
    monkeypatch.setattr(library_install, "library", lambda: {entry.key: custom})
    save_examples(session)
    with pytest.raises(InvalidInput) as error:
        install_from_library(session, entry.key)
    assert [(p.location, p.message) for p in error.value.problems] == [
        (f"templates.{name}", f"no template named {name!r}; create it or choose one to use instead")
        for name in ("spring_tips", "spring_offer")
    ]
    assert session.scalar(select(Journey.id).where(Journey.name == entry.title)) is None
    chosen = {"spring_tips": template_id(session, "onboarding_tips")}
    with pytest.raises(InvalidInput) as error:
        install_from_library(session, entry.key, templates=chosen)
    assert [p.location for p in error.value.problems] == ["templates.spring_offer"]


def test_library_segments_are_found_by_name_or_created_once(session: Session) -> None:
    welcome_id = template_id(session, "welcome")
    chosen = dict.fromkeys(("welcome", "onboarding_tips", "first_order_offer"), welcome_id)
    first = install_from_library(session, "welcome_onboarding", templates=chosen)
    second = install_from_library(session, "welcome_onboarding", templates=chosen)
    assert second.name == "Welcome and onboarding drip (2)"
    segment_ids = {j.draft["nodes"][0]["segment_id"] for j in (first, second)}
    assert len(segment_ids) == 1
    stored = session.get(Segment, segment_ids.pop())
    assert stored is not None and stored.name == "New subscribers (last 30 days)"

    save_examples(session)  # the at-risk journey uses the documented example segment
    at_risk = install_from_library(
        session, "at_risk_retention", templates={"retention_offer": welcome_id}
    )
    example = session.scalar(
        select(Segment.id).where(Segment.name == "At-risk high-value customers")
    )
    assert at_risk.draft["nodes"][0]["segment_id"] == example
    with pytest.raises(NotFound):
        install_from_library(session, "no_such_journey")


def test_a_library_journey_that_needs_an_unknown_segment_says_so(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(library_install.LIBRARY_SEGMENTS, "customers")  # no definition known
    entry = library()["lead_nurture"]
    chosen = {
        r.name: template_id(session, "welcome") for r in entry.requires if r.kind == "template"
    }
    with pytest.raises(InvalidInput) as error:
        install_from_library(session, entry.key, templates=chosen)
    assert [(p.location, p.message) for p in error.value.problems] == [
        (
            "segments.customers",
            "no segment named 'customers'; create it or choose one to use instead",
        )
    ]
    stored = segment(session, name="customers")
    journey = install_from_library(session, entry.key, templates=chosen)
    assert journey.draft["settings"]["exit_criteria"]["segment_ids"] == [stored]
