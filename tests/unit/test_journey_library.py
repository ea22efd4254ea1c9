"""The journey library: ten ready-made journeys, each tagged and valid once installed."""

from __future__ import annotations

import pytest

from journeys import JourneyError, LibraryJourney, Requirement, library, parse, validate
from journeys.library import placeholder

EXPECTED = {
    "welcome_onboarding": "onboarding",
    "lead_nurture": "acquisition",
    "off_season_offer": "growth",
    "category_gap_cross_sell": "growth",
    "post_purchase_cross_sell": "growth",
    "at_risk_retention": "retention",
    "lapsed_win_back": "win_back",
    "loyalty_vip_reward": "loyalty",
    "referral_ask": "advocacy",
    "satisfaction_survey": "retention",
}


def ids_for(journey: LibraryJourney) -> tuple[dict[str, int], dict[str, int]]:
    templates = {r.name: 100 + i for i, r in enumerate(journey.requires) if r.kind == "template"}
    segments = {r.name: 200 + i for i, r in enumerate(journey.requires) if r.kind == "segment"}
    return templates, segments


def test_the_library_has_each_journey_tagged_with_its_stage() -> None:
    assert {key: journey.stage for key, journey in library().items()} == EXPECTED


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_a_library_journey_validates_once_its_placeholders_are_filled(key: str) -> None:
    journey = library()[key]
    templates, segments = ids_for(journey)
    installed = journey.install(templates=templates, segments=segments)
    known = {"templates": set(templates.values()), "segments": set(segments.values())}
    assert validate(installed, **known) == []
    definition = parse(installed)
    assert definition.name == journey.title
    assert all(node.position.x >= 0 and node.position.y >= 0 for node in definition.nodes)
    assert journey.definition != installed  # the library copy keeps its placeholders


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_a_library_journey_with_placeholders_is_not_publishable(key: str) -> None:
    codes = {p.code for p in validate(library()[key].definition)}
    assert codes == {"invalid"}


def test_requirements_are_listed_once_in_order_of_use() -> None:
    journey = library()["lapsed_win_back"]
    assert journey.requires == (
        Requirement("segment", "lapsed_customers"),
        Requirement("template", "win_back"),
        Requirement("segment", "high_value"),
        Requirement("template", "win_back_sms"),
    )
    assert placeholder("segment", "high_value") == "segment:high_value"


def test_installing_without_every_id_names_what_is_missing() -> None:
    journey = library()["referral_ask"]
    with pytest.raises(JourneyError) as error:
        journey.install(templates={"referral_ask": 1}, segments={})
    assert [p.message for p in error.value.problems] == [
        "Choose the template to use as 'referral_reminder'."
    ]
