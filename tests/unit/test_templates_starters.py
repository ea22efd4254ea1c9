"""Starter templates: each validates and renders against the sample and a sparse context."""

from __future__ import annotations

import pytest

from templates import (
    RenderHooks,
    compile_message,
    sample_context,
    sms_segments,
    sparse_context,
    starter_library,
    starter_templates,
    validate,
)

STARTERS = starter_templates()
EXPECTED = {
    "welcome": "email",
    "cross_sell": "email",
    "up_sell": "email",
    "win_back": "email",
    "off_season_offer": "email",
    "sms_offer": "sms",
    "social_post": "social",
    "onboarding_tips": "email",
    "first_order_offer": "email",
    "nurture_intro": "email",
    "nurture_case_study": "email",
    "nurture_offer": "email",
    "cross_sell_reminder": "email",
    "retention_offer": "email",
    "win_back_sms": "sms",
    "vip_reward": "email",
    "birthday_reward": "email",
    "referral_ask": "email",
    "referral_reminder": "email",
    "satisfaction_survey": "email",
    "survey_reminder": "email",
}


def test_the_documented_starters_ship() -> None:
    assert {name: starter.channel for name, starter in STARTERS.items()} == EXPECTED
    assert set(starter_library()) >= {"base_email"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_starter_validates(name: str) -> None:
    assert validate(STARTERS[name].source, starter_library()) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("make_context", [sample_context, sparse_context])
def test_every_starter_renders(name: str, make_context: object) -> None:
    starter = STARTERS[name]
    compiled = compile_message(starter.source, starter_library())
    context = make_context()  # type: ignore[operator]
    message = compiled.render(context, RenderHooks(lambda url: url + "#t", "https://t.example/o"))
    assert message.text.strip()
    assert "None" not in message.text
    if starter.channel == "email":
        assert message.subject and "\n" not in message.subject
        assert str(context["unsubscribe_url"]) in message.html
        assert "Unsubscribe (https://t.example/u/abc123)" in message.text
        assert "1200 NW Everett St" in message.text
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    else:
        assert (message.subject, message.html) == ("", "")


def test_email_starters_extend_the_shared_layout() -> None:
    for starter in STARTERS.values():
        if starter.channel == "email":
            assert starter.html.startswith('{% extends "base_email" %}'), starter.name
            assert not starter.text  # derived from the HTML


def test_cross_sell_lists_the_recommended_products() -> None:
    starter = STARTERS["cross_sell"]
    message = compile_message(starter.source, starter_library()).render(sample_context())
    assert "Trail Runner 2 (https://shop.example/p/TR2-42)\n\n$129.00" in message.text
    assert "Merino Crew Socks" in message.html


@pytest.mark.parametrize("name", ["sms_offer", "win_back_sms"])
def test_sms_starters_fit_one_segment_on_the_sample(name: str) -> None:
    starter = STARTERS[name]
    message = compile_message(starter.source, starter_library()).render(sample_context())
    assert sms_segments(message.text).segments == 1
    assert message.text.endswith("Reply STOP to opt out")


def test_starters_describe_themselves() -> None:
    for starter in STARTERS.values():
        assert starter.title and starter.description
        assert starter.campaign_type in {
            "acquisition",
            "retention",
            "cross_sell",
            "up_sell",
            "win_back",
            "newsletter",
        }
