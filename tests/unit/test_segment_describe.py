"""Message and uplift conditions read as one plain sentence in funnels and lists."""

from __future__ import annotations

from typing import Any

import pytest

from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.describe import describe


def said(node: dict[str, Any]) -> str:
    return describe(parse_definition({"version": 1, "root": node}).root)


@pytest.mark.parametrize(
    ("node", "sentence"),
    [
        ({"type": "message", "action": "opened"}, "opened any message"),
        (
            {"type": "message", "action": "clicked", "channel": "email", "at_least": 3},
            "clicked at least 3 email messages",
        ),
        (
            {"type": "message", "action": "received", "at_least": 1, "window": {"last_days": 7}},
            "received at least 1 message in the last 7 days",
        ),
        (
            {"type": "message", "action": "opened", "channel": "sms", "at_most": 0},
            "never opened any sms message",
        ),
        (
            {"type": "message", "action": "received", "campaign_code": "SPRING", "at_least": 2},
            "received campaign SPRING at least 2 times",
        ),
        (
            {
                "type": "message",
                "action": "opened",
                "campaign_id": 4,
                "channel": "email",
                "at_most": 0,
                "window": {"since": "2024-01-01"},
            },
            "never opened campaign 4 by email from 2024-01-01",
        ),
        ({"type": "unopened", "last": 5}, "opened none of their last 5 messages"),
        (
            {"type": "unopened", "last": 1, "channel": "email"},
            "did not open their last email message",
        ),
    ],
)
def test_message_conditions_read_as_a_sentence(node: dict[str, Any], sentence: str) -> None:
    assert said(node) == sentence


@pytest.mark.parametrize(
    ("node", "sentence"),
    [
        ({"type": "uplift", "model": "winback"}, "has an uplift score under model winback"),
        (
            {"type": "uplift", "model": "winback", "scored": False},
            "no uplift score under model winback",
        ),
        (
            {"type": "uplift", "model": "winback", "score": {"op": "gt", "value": 0.02}},
            "uplift > 0.02 under model winback",
        ),
        (
            {"type": "uplift", "model": "winback", "percentile": {"op": "lt", "value": 0.2}},
            "in the top 20% by uplift under model winback",
        ),
        (
            {"type": "uplift", "model": "winback", "percentile": {"op": "gte", "value": 0.07}},
            "outside the top 7% by uplift under model winback",
        ),
        (
            {
                "type": "uplift",
                "model": "upsell",
                "score": {"op": "between", "value": [0, 0.5]},
                "percentile": {"op": "lte", "value": 0.1},
            },
            "uplift between 0 and 0.5 and uplift percentile ≤ 0.1 under model upsell",
        ),
    ],
)
def test_uplift_conditions_read_as_a_sentence(node: dict[str, Any], sentence: str) -> None:
    assert said(node) == sentence
