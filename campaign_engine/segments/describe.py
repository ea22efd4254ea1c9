"""Describe segment nodes in plain words, for funnels and lists."""

from __future__ import annotations

from typing import Any, assert_never

from campaign_engine.segments.definition import (
    AllGroup,
    AnyGroup,
    AttributeCondition,
    ConsentCondition,
    EventCondition,
    EventTimeCondition,
    LastPurchaseCondition,
    NotGroup,
    PurchaseCondition,
    RandomBucketCondition,
    SegmentCondition,
    SuppressedCondition,
    TraitCondition,
)
from campaign_engine.segments.fields import PROFILE_FIELDS, TRAIT_FIELDS
from campaign_engine.segments.messages import MessageCondition, UnopenedCondition
from campaign_engine.segments.nodes import Counted, Moment, Window
from campaign_engine.segments.uplift import ScoreTest, UpliftCondition

OP_WORDS = {
    "eq": "is",
    "ne": "is not",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "between": "between",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "is_set": "is set",
    "is_not_set": "is not set",
    "within_last": "within the last",
    "more_than_ago": "more than",
    "in_next": "has its anniversary in the next",
}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_test(field: str, op: str, value: Any, days: int | None) -> str:
    known = PROFILE_FIELDS.get(field) or TRAIT_FIELDS.get(field)
    label = known.label if known else field.removeprefix("attributes.").replace("_", " ")
    name = label if label[1:2].isupper() else label[:1].lower() + label[1:]  # keep "RFM"
    words = OP_WORDS[op]
    if op in ("is_set", "is_not_set"):
        return f"{name} {words}"
    if op == "more_than_ago":
        return f"{name} more than {days} days ago"
    if days is not None:
        return f"{name} {words} {days} days"
    if op == "between":
        return f"{name} between {_value(value[0])} and {_value(value[1])}"
    return f"{name} {words} {_value(value)}"


def _window(window: Window | None) -> str:
    if window is None:
        return ""
    if window.last_days is not None:
        return f" in the last {window.last_days} days"
    parts = [f"from {window.since}" if window.since else "", f"to {window.until}"
             if window.until else ""]  # fmt: skip
    return " " + " ".join(p for p in parts if p)


def _times(node: Counted) -> str:
    if node.at_most == 0 and node.at_least is None:
        return " never"
    bounds = []
    if node.at_least is not None:
        bounds.append(f"at least {_count(node.at_least)}")
    if node.at_most is not None:
        bounds.append(f"at most {_count(node.at_most)}")
    return f" {' and '.join(bounds)}" if bounds else ""


def _count(times: int) -> str:
    return "once" if times == 1 else f"{times} times"


def _moment(moment: Moment) -> str:
    return str(moment.date) if moment.date else f"{moment.days_ago} days ago"


def _message(node: MessageCondition) -> str:
    """Say e.g. "opened campaign SPRING at least 2 times" or "clicked at least 3 messages"."""
    kind = f"{node.channel} " if node.channel else ""
    times = _times(node)
    if node.campaign_id is not None or node.campaign_code is not None:
        target = f"campaign {node.campaign_code or node.campaign_id}"
        target += f" by {node.channel}" if node.channel else ""
    elif times in ("", " never"):
        target = f"any {kind}message"
    else:  # count the messages themselves: "at least 3 email messages"
        target = ""
        times = times.replace(" once", f" 1 {kind}message").replace(" times", f" {kind}messages")
    if times == " never":
        return f"never {node.action} {target}{_window(node.window)}"
    return " ".join(p for p in (node.action, target) if p) + times + _window(node.window)


def _order(test: ScoreTest) -> str:
    if test.op == "between":
        return f"between {test.value[0]:g} and {test.value[1]:g}"
    return f"{OP_WORDS[test.op]} {test.value:g}"


def _rank(test: ScoreTest) -> str:
    """Say a percentile test as a top share where it is one: `lt 0.2` is the top 20%."""
    if test.op in ("lt", "gte"):
        share = f"{round(test.value * 100, 4):g}%"
        return f"{'in' if test.op == 'lt' else 'outside'} the top {share} by uplift"
    return f"uplift percentile {_order(test)}"


def _uplift(node: UpliftCondition) -> str:
    """Say e.g. "in the top 20% by uplift under model winback"."""
    model = f"under model {node.model}"
    if not node.scored:
        return f"no uplift score {model}"
    parts = [f"uplift {_order(node.score)}"] if node.score is not None else []
    if node.percentile is not None:
        parts.append(_rank(node.percentile))
    return f"{' and '.join(parts)} {model}" if parts else f"has an uplift score {model}"


def describe(node: Any) -> str:
    """Return one short sentence saying what a node keeps."""
    match node:
        case AllGroup():
            return f"all of {len(node.children)} conditions"
        case AnyGroup():
            return f"any of {len(node.children)} conditions"
        case NotGroup():
            return f"not ({describe(node.child)})"
        case AttributeCondition() | TraitCondition():
            return _field_test(node.field, node.op, node.value, node.days)
        case PurchaseCondition():
            what = (
                f"product {node.product}" if node.product
                else f"category {node.category}" if node.category
                else "anything"
            )  # fmt: skip
            times = _times(node)
            text = f"bought {what}" if times != " never" else f"never bought {what}"
            text += times if times != " never" else ""
            if node.min_spend is not None:
                text += f", spending at least {node.min_spend:g}"
            return text + _window(node.window)
        case LastPurchaseCondition():
            return f"last purchase {node.op} {_moment(node.when)}"
        case EventCondition():
            times = _times(node)
            filters = f" where {len(node.where)} filter(s) hold" if node.where else ""
            verb = "never did" if times == " never" else "did"
            count = "" if times == " never" else times
            return f"{verb} {node.event_type}{filters}{count}{_window(node.window)}"
        case EventTimeCondition():
            return f"{node.which} {node.event_type} {node.op} {_moment(node.when)}"
        case ConsentCondition():
            return f"{node.channel} {node.purpose} consent is {node.state.replace('_', ' ')}"
        case SuppressedCondition():
            return "suppressed" + ("" if node.channel == "any" else f" for {node.channel}")
        case SegmentCondition():
            return f"{'not ' if node.exclude else ''}in segment {node.segment_id}"
        case RandomBucketCondition():
            salt = f" (salt {node.salt!r})" if node.salt else ""
            return f"random {node.percent:g}% sample{salt}"
        case MessageCondition():
            return _message(node)
        case UnopenedCondition():
            kind = f"{node.channel} " if node.channel else ""
            if node.last == 1:
                return f"did not open their last {kind}message"
            return f"opened none of their last {node.last} {kind}messages"
        case UpliftCondition():
            return _uplift(node)
        case _:
            assert_never(node)
