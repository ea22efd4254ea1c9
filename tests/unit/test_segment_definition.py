"""Segment definitions: bad input is refused with the path of the node and a plain sentence."""

from __future__ import annotations

from typing import Any

import pytest

from campaign_engine.errors import InvalidInput
from campaign_engine.segments.definition import SegmentDefinition, parse_definition


def definition(root: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "root": root}


def age(op: str = "gte", value: Any = 18, **extra: Any) -> dict[str, Any]:
    return {"type": "attribute", "field": "age", "op": op, "value": value, **extra}


def in_group(*children: dict[str, Any]) -> dict[str, Any]:
    return definition({"type": "all", "children": list(children)})


def problems(data: Any) -> list[tuple[str, str]]:
    """Return (location, message) of every problem parsing `data` reports."""
    with pytest.raises(InvalidInput) as caught:
        parse_definition(data)
    return [(p.location, p.message) for p in caught.value.problems]


BAD = [
    pytest.param(
        in_group(age(), {"type": "attribute", "field": "shoe_size", "op": "eq", "value": 42}),
        "root.children[1]",
        "unknown profile field 'shoe_size'",
        id="unknown-field",
    ),
    pytest.param(
        in_group(age(), age(op="roughly")),
        "root.children[1].op",
        "Input should be",
        id="unknown-operator",
    ),
    pytest.param(
        in_group(age(op="contains", value="1")),
        "root.children[0]",
        "'contains' does not apply to number field 'age'",
        id="contains-on-number",
    ),
    pytest.param(
        in_group(age(value="eighteen")),
        "root.children[0]",
        "expected a number, got 'eighteen'",
        id="text-for-number",
    ),
    pytest.param(
        in_group({"type": "attribute", "field": "gender", "op": "eq", "value": "robot"}),
        "root.children[0]",
        "'robot' is not one of female, male, non_binary, unknown",
        id="value-outside-enum",
    ),
    pytest.param(
        in_group({"type": "attribute", "field": "attributes.plan", "op": "gt", "value": "gold"}),
        "root.children[0]",
        "'gt' compares custom attributes as numbers only",
        id="custom-attribute-compared-as-text",
    ),
    pytest.param(
        definition({"type": "any", "children": []}),
        "root.children",
        "at least 1 item",
        id="empty-group",
    ),
    pytest.param(
        in_group(age(), {"type": "sometimes"}),
        "root.children[1]",
        "'sometimes'",
        id="unknown-node-type",
    ),
    pytest.param(
        in_group(age(colour="blue")),
        "root.children[0].colour",
        "Extra inputs are not permitted",
        id="unknown-key",
    ),
    pytest.param(
        in_group({"type": "purchase", "window": {"last_days": 0}}),
        "root.children[0].window.last_days",
        "greater than or equal to 1",
        id="window-of-no-days",
    ),
    pytest.param(
        in_group(age(), {"type": "event", "event_type": "x", "window": {"last_days": 40_000}}),
        "root.children[1].window.last_days",
        "less than or equal to 36500",
        id="window-of-a-century-and-more",
    ),
    pytest.param(
        in_group({"type": "purchase", "window": {"since": "2024-03-01", "until": "2024-01-31"}}),
        "root.children[0].window",
        "the window starts 2024-03-01, after it ends 2024-01-31",
        id="window-ends-before-it-starts",
    ),
    pytest.param(
        in_group({"type": "purchase", "at_least": 3, "at_most": 2}),
        "root.children[0]",
        "at_least 3 is more than at_most 2",
        id="at-least-above-at-most",
    ),
    pytest.param(
        in_group(age(op="between", value=[65, 18])),
        "root.children[0]",
        "'between' runs from low to high; 65 is after 18",
        id="between-low-above-high",
    ),
    pytest.param(
        in_group({"type": "attribute", "field": "birth_date", "op": "within_last", "value": 30}),
        "root.children[0]",
        "'within_last' takes a number of days in 'days' and no 'value'",
        id="relative-op-without-days",
    ),
    pytest.param(
        in_group({"type": "attribute", "field": "birth_date", "op": "in_next", "days": 400}),
        "root.children[0]",
        "'in_next' looks at most 366 days ahead",
        id="in-next-beyond-a-year",
    ),
    pytest.param(
        definition(
            {
                "type": "not",
                "child": {
                    "type": "event",
                    "event_type": "page_view",
                    "where": [{"property": "path", "op": "lt", "value": "/a"}],
                },
            }
        ),
        "root.child.where[0]",
        "'lt' compares numbers only",
        id="event-filter-ordering-text",
    ),
    pytest.param(
        in_group({"type": "last_purchase", "op": "before", "when": {}}),
        "root.children[0].when",
        "give exactly one of 'date' or 'days_ago'",
        id="moment-without-date-or-days",
    ),
    pytest.param(
        in_group({"type": "message", "action": "opened", "campaign_id": 3, "campaign_code": "X"}),
        "root.children[0]",
        "give a campaign_id or a campaign_code, not both",
        id="message-campaign-by-id-and-code",
    ),
    pytest.param(
        in_group({"type": "message", "action": "read"}),
        "root.children[0].action",
        "'received', 'opened' or 'clicked'",
        id="message-unknown-action",
    ),
    pytest.param(
        in_group({"type": "message", "action": "opened", "channel": "web"}),
        "root.children[0].channel",
        "'email', 'sms' or 'social'",
        id="message-channel-without-messages",
    ),
    pytest.param(
        in_group({"type": "message", "action": "opened", "window": {"last_days": 0}}),
        "root.children[0].window.last_days",
        "greater than or equal to 1",
        id="message-window-of-no-days",
    ),
    pytest.param(
        in_group({"type": "unopened", "last": 0}),
        "root.children[0].last",
        "greater than or equal to 1",
        id="unopened-none",
    ),
    pytest.param(
        in_group({"type": "unopened"}),
        "root.children[0].last",
        "Field required",
        id="unopened-without-a-count",
    ),
    pytest.param(
        in_group({"type": "uplift", "model": "winback", "percentile": {"op": "lt", "value": 20}}),
        "root.children[0].percentile",
        "a percentile is a share from 0 to 1 (0.2 is the top 20%), got 20",
        id="uplift-percentile-as-a-percentage",
    ),
    pytest.param(
        in_group(
            {"type": "uplift", "model": "winback", "score": {"op": "between", "value": [1, 0]}}
        ),
        "root.children[0].score",
        "'between' runs from low to high; 1 is after 0",
        id="uplift-score-between-low-above-high",
    ),
    pytest.param(
        in_group({"type": "uplift", "model": "winback", "score": {"op": "gt", "value": "0.1"}}),
        "root.children[0].score",
        "'gt' needs a number, got '0.1'",
        id="uplift-score-as-text",
    ),
    pytest.param(
        in_group({"type": "uplift", "model": "winback", "score": {"op": "eq", "value": 0.1}}),
        "root.children[0].score.op",
        "'lt', 'lte', 'gt', 'gte' or 'between'",
        id="uplift-score-compared-for-equality",
    ),
    pytest.param(
        in_group(
            {
                "type": "uplift",
                "model": "winback",
                "scored": False,
                "percentile": {"op": "lt", "value": 0.2},
            }
        ),
        "root.children[0]",
        "'scored': false keeps contacts without a score, so it takes no 'score' or 'percentile'",
        id="uplift-unscored-with-a-test",
    ),
    pytest.param(
        in_group({"type": "uplift", "score": {"op": "gt", "value": 0}}),
        "root.children[0].model",
        "Field required",
        id="uplift-without-a-model",
    ),
]


@pytest.mark.parametrize(("data", "location", "sentence"), BAD)
def test_bad_definition_names_the_node_and_says_what_is_wrong(
    data: dict[str, Any], location: str, sentence: str
) -> None:
    found = problems(data)
    assert any(where == location and sentence in message for where, message in found), found
    for _, message in found:
        assert message[0].isalpha() or message[0] == "'", message
        assert "Value error" not in message
        assert "pydantic" not in message
        assert "https://" not in message


def test_every_problem_is_reported_at_once() -> None:
    data = in_group(age(value="old"), age(op="between", value=[9, 1]), {"type": "nothing"})
    locations = {where for where, _ in problems(data)}
    assert {"root.children[0]", "root.children[1]", "root.children[2]"} <= locations


def test_definition_that_is_not_an_object_is_refused() -> None:
    assert problems(["all"]) == [("definition", 'expected {"version": 1, "root": {...}}')]


def test_unknown_version_is_refused() -> None:
    assert [where for where, _ in problems({"version": 2, "root": age()})] == ["version"]


def nested(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = age()
    for _ in range(levels):
        root = {"type": "all", "children": [root]}
    return definition(root)


def test_absurdly_deep_nesting_is_refused() -> None:
    assert [where for where, _ in problems(nested(40))] == ["root"]


def test_reasonable_nesting_is_accepted() -> None:
    parse_definition(nested(20))


EVERYTHING = definition(
    {
        "type": "all",
        "children": [
            age(op="between", value=[18, 65]),
            {"type": "attribute", "field": "attributes.plan", "op": "in", "value": ["a", "b"]},
            {"type": "attribute", "field": "created_at", "op": "gte", "value": "2024-01-31"},
            {
                "type": "attribute",
                "field": "created_at",
                "op": "lt",
                "value": "2024-01-31T12:00:00+02:00",
            },
            {"type": "attribute", "field": "birth_date", "op": "in_next", "days": 7},
            {"type": "trait", "field": "rfm_group", "op": "ne", "value": "lost"},
            {
                "type": "any",
                "children": [
                    {
                        "type": "purchase",
                        "category": "books",
                        "at_least": 2,
                        "at_most": 5,
                        "min_spend": 20.5,
                        "window": {"since": "2024-01-01", "until": "2024-03-31"},
                    },
                    {"type": "purchase", "product": "SKU-1", "window": {"last_days": 90}},
                    {"type": "last_purchase", "op": "before", "when": {"days_ago": 30}},
                    {
                        "type": "event",
                        "event_type": "page_view",
                        "at_most": 0,
                        "where": [
                            {"property": "path", "op": "contains", "value": "pricing"},
                            {"property": "ms", "op": "gte", "value": 100},
                            {"property": "mobile", "op": "is_set"},
                        ],
                    },
                    {
                        "type": "event_time",
                        "event_type": "signup",
                        "which": "first",
                        "op": "after",
                        "when": {"date": "2024-01-01"},
                    },
                ],
            },
            {
                "type": "not",
                "child": {"type": "consent", "channel": "email", "state": "opted_out"},
            },
            {"type": "suppressed", "channel": "sms"},
            {"type": "segment", "segment_id": 3, "exclude": True},
            {"type": "random_bucket", "percent": 12.5, "salt": "spring"},
            {
                "type": "message",
                "action": "clicked",
                "campaign_code": "SPRING",
                "channel": "email",
                "at_least": 1,
                "window": {"last_days": 30},
            },
            {"type": "message", "action": "received", "campaign_id": 4, "at_most": 0},
            {"type": "unopened", "last": 5, "channel": "email"},
            {
                "type": "uplift",
                "model": "winback",
                "score": {"op": "between", "value": [0, 0.5]},
                "percentile": {"op": "lt", "value": 0.2},
            },
            {"type": "uplift", "model": "upsell", "scored": False},
        ],
    }
)


def test_definition_survives_a_round_trip_through_json() -> None:
    parsed = parse_definition(EVERYTHING)
    dumped = parsed.model_dump(mode="json", exclude_none=True)
    assert parse_definition(dumped) == parsed
    assert isinstance(parsed, SegmentDefinition)


def test_defaults_are_filled_in() -> None:
    parsed = parse_definition(
        definition(
            {
                "type": "all",
                "children": [
                    {"type": "consent", "channel": "sms", "state": "unknown"},
                    {"type": "suppressed"},
                    {"type": "segment", "segment_id": 1},
                    {"type": "random_bucket", "percent": 10},
                    {"type": "uplift", "model": "winback"},
                ],
            }
        )
    )
    dumped = parsed.model_dump(mode="json", exclude_none=True)
    consent, suppressed, segment, bucket, uplift = dumped["root"]["children"]
    assert consent["purpose"] == "marketing"
    assert suppressed["channel"] == "any"
    assert segment["exclude"] is False
    assert bucket["salt"] == ""
    assert uplift["scored"] is True
