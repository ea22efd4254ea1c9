"""A contact who opted out of a campaign type's topic is skipped, after consent is checked."""

from __future__ import annotations

from datetime import UTC, datetime

from campaign_engine.dispatch.policy import REASONS, TOPIC_OF_TYPE, Facts, PolicyRules, decide
from campaign_engine.models.campaigns import TYPES

NOON = datetime(2026, 6, 10, 12, tzinfo=UTC)


def _decide(facts: Facts, purpose: str = "marketing") -> str:
    verdict = decide(
        facts,
        channel="email",
        purpose=purpose,
        template_id=1,
        planned_at=NOON,
        rules=PolicyRules(),
    )
    return verdict.reason


def test_topic_opt_out_skips_a_marketing_message() -> None:
    facts = Facts(1, "ann@example.com", "UTC", "opted_in", topic_opt_out="offers")
    assert _decide(facts) == "topic_opt_out"
    assert "topic_opt_out" in REASONS


def test_topic_opt_out_leaves_transactional_messages_and_channel_reasons_alone() -> None:
    facts = Facts(1, "ann@example.com", "UTC", "opted_in", topic_opt_out="offers")
    assert _decide(facts, "transactional") == "ok"
    assert _decide(Facts(1, "ann@example.com", "UTC", "opted_out", topic_opt_out="x")) == (
        "opted_out"
    )


def test_every_campaign_type_has_a_topic() -> None:
    assert set(TOPIC_OF_TYPE) == set(TYPES)
