"""The library's ten journeys, as definition JSON with template and segment placeholders.

Orders reach journeys as `order_placed` events (the runner's convention); other event types
here (`signed_up`, `review_submitted`, `referral_made`, `survey_completed`, `unsubscribed`)
are what a storefront posts through the events API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from journeys.graph import edges_of, raw_id

Stage = Literal[
    "acquisition", "onboarding", "growth", "retention", "win_back", "loyalty", "advocacy"
]
COLUMN, ROW = 260, 140  # canvas spacing between laid-out steps
ORDER = "order_placed"


class Recipe(TypedDict):
    """One library journey before it becomes a `LibraryJourney`."""

    key: str
    title: str
    description: str
    stage: Stage
    definition: dict[str, Any]


def _template(name: str) -> str:
    return f"template:{name}"


def _segment(name: str) -> str:
    return f"segment:{name}"


def _send(
    node_id: str, template: str, next_id: str | None, channel: str = "email"
) -> dict[str, Any]:
    return {"id": node_id, "type": "send", "channel": channel,
            "template_id": _template(template), "next": next_id}  # fmt: skip


def _delay(node_id: str, days: int, next_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "delay", "duration": {"days": days}, "next": next_id}


def _wait_event(
    node_id: str, event_type: str, days: int, matched: str | None, timed_out: str | None
) -> dict[str, Any]:
    return {"id": node_id, "type": "wait_for_event", "event_type": event_type,
            "timeout": {"days": days}, "matched": matched, "timed_out": timed_out}  # fmt: skip


def _exit(node_id: str, label: str) -> dict[str, Any]:
    return {"id": node_id, "type": "exit", "label": label}


def _goal(event_type: str = ORDER, label: str = "Ordered") -> dict[str, Any]:
    return {"id": "goal", "type": "goal", "event_type": event_type, "label": label}


def laid_out(nodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the nodes with canvas positions: one column per step distance from an entry."""
    edges = edges_of(nodes, {})
    depth: dict[str, int] = {}
    frontier = [str(n["id"]) for n in nodes if str(n["type"]).startswith("entry_")]
    level = 0
    while frontier:
        for node_id in frontier:
            depth.setdefault(node_id, level)
        frontier = [t for node_id in frontier for _, t in edges.get(node_id, []) if t not in depth]
        level += 1
    rows: dict[int, int] = {}
    placed = []
    for node in nodes:
        column = depth.get(raw_id(node) or "", level)
        rows[column] = rows.get(column, -1) + 1
        placed.append({**node, "position": {"x": column * COLUMN, "y": rows[column] * ROW}})
    return placed


def _recipe(
    key: str,
    title: str,
    stage: Stage,
    description: str,
    nodes: list[dict[str, Any]],
    **settings: Any,
) -> Recipe:
    definition = {"version": 1, "name": title, "description": description,
                  "settings": settings, "nodes": laid_out(nodes)}  # fmt: skip
    return Recipe(key=key, title=title, description=description, stage=stage, definition=definition)


# fmt: on


# fmt: off
RECIPES: tuple[Recipe, ...] = (
    _recipe(
        "welcome_onboarding", "Welcome and onboarding drip", "onboarding",
        "Greet new subscribers, send getting-started tips on a weekday morning, and nudge "
        "those who did not click with a first-order offer.",
        [
            {"id": "joined", "type": "entry_segment", "segment_id": _segment("new_subscribers"),
             "next": "welcome"},
            _send("welcome", "welcome", "wait_2d"),
            _delay("wait_2d", 2, "morning"),
            {"id": "morning", "type": "wait_until_time", "time": "10:00",
             "weekdays": ["mon", "tue", "wed", "thu", "fri"], "next": "tips"},
            _send("tips", "onboarding_tips", "clicked"),
            {"id": "clicked", "type": "wait_for_engagement", "send_node": "tips",
             "action": "clicked", "timeout": {"days": 4}, "matched": "done",
             "timed_out": "offer"},
            _send("offer", "first_order_offer", "done"),
            _exit("done", "Onboarded"),
            _goal(label="First order"),
        ],
    ),
    _recipe(
        "lead_nurture", "Lead nurture", "acquisition",
        "Warm up leads who signed up without buying: an introduction, then a case study for "
        "those who opened it, then an offer. Leads who become customers leave.",
        [
            {"id": "signed_up", "type": "entry_event", "event_type": "signed_up",
             "next": "intro"},
            _send("intro", "nurture_intro", "opened"),
            {"id": "opened", "type": "wait_for_engagement", "send_node": "intro",
             "action": "opened", "timeout": {"days": 4}, "matched": "story",
             "timed_out": "offer"},
            _send("story", "nurture_case_study", "wait_4d"),
            _delay("wait_4d", 4, "offer"),
            _send("offer", "nurture_offer", "done"),
            _exit("done", "Nurtured"),
            _goal(label="Became a customer"),
        ],
        exit_criteria={"segment_ids": [_segment("customers")], "event_types": ["unsubscribed"]},
    ),
    _recipe(
        "off_season_offer", "Off-season offer for seasonal buyers", "growth",
        "Each month, invite customers who only buy in one season back with an off-season "
        "offer, and follow up by SMS when they do not order within two weeks.",
        [
            {"id": "monthly", "type": "entry_recurring",
             "segment_id": _segment("seasonal_only_buyers"),
             "schedule": {"cron": "0 9 1 * *", "time_zone": "UTC"}, "next": "offer"},
            _send("offer", "off_season_offer", "ordered"),
            _wait_event("ordered", ORDER, 14, "done", "sms"),
            _send("sms", "sms_offer", "done", channel="sms"),
            _exit("done", "Offer made"),
            _goal(),
        ],
        reentry="cooldown", cooldown_days=90,
    ),
    _recipe(
        "category_gap_cross_sell", "Category-gap cross-sell", "growth",
        "Offer customers a category they have not bought yet, but only where the uplift model "
        "says the message changes behaviour (everyone, until scores exist).",
        [
            {"id": "gap", "type": "entry_segment", "segment_id": _segment("category_gap"),
             "next": "worth_it"},
            {"id": "worth_it", "type": "uplift_split", "mode": "threshold", "value": 0.01,
             "fallback": "send", "send": "cross_sell", "skip": "skipped"},
            _send("cross_sell", "cross_sell", "ordered"),
            _wait_event("ordered", ORDER, 10, "done", "reminder"),
            _send("reminder", "cross_sell_reminder", "done"),
            _exit("done", "Cross-sold"),
            _exit("skipped", "Not worth contacting"),
            _goal(),
        ],
        reentry="after_exit",
    ),
    _recipe(
        "post_purchase_cross_sell", "Post-purchase cross-sell", "growth",
        "Three days after an order, suggest products that go with it; follow up with an "
        "upgrade offer when the suggestion was not clicked.",
        [
            {"id": "ordered", "type": "entry_event", "event_type": ORDER, "next": "wait_3d"},
            _delay("wait_3d", 3, "cross_sell"),
            _send("cross_sell", "cross_sell", "clicked"),
            {"id": "clicked", "type": "wait_for_engagement", "send_node": "cross_sell",
             "action": "clicked", "timeout": {"days": 5}, "matched": "done",
             "timed_out": "up_sell"},
            _send("up_sell", "up_sell", "done"),
            _exit("done", "Followed up"),
            _goal(label="Ordered again"),
        ],
        reentry="cooldown", cooldown_days=30,
    ),
    _recipe(
        "at_risk_retention", "At-risk retention", "retention",
        "Reach customers whose churn risk rose, keeping a 10% control group to measure the "
        "effect; remind by SMS those who do not order within a week.",
        [
            {"id": "at_risk", "type": "entry_segment", "segment_id": _segment("at_risk"),
             "next": "split"},
            {"id": "split", "type": "random_split", "branches": [
                {"name": "treatment", "percent": 90, "next": "offer"},
                {"name": "control", "percent": 10, "control": True, "next": "control"}]},
            _send("offer", "retention_offer", "ordered"),
            _wait_event("ordered", ORDER, 7, "done", "sms"),
            _send("sms", "sms_offer", "done", channel="sms"),
            _exit("done", "Retention offer made"),
            _exit("control", "Control group"),
            _goal(),
        ],
        reentry="cooldown", cooldown_days=60,
        exit_criteria={"event_types": ["unsubscribed"]},
    ),
    _recipe(
        "lapsed_win_back", "Lapsed customer win-back", "win_back",
        "Win back customers who stopped buying; after two weeks without an order, text the "
        "high-value ones and mark the rest as unresponsive. A 10% holdout measures it.",
        [
            {"id": "lapsed", "type": "entry_segment", "segment_id": _segment("lapsed_customers"),
             "next": "win_back"},
            _send("win_back", "win_back", "ordered"),
            _wait_event("ordered", ORDER, 14, "done", "valuable"),
            {"id": "valuable", "type": "condition_split", "branches": [
                {"name": "high value", "next": "sms", "conditions": [
                    {"type": "segment", "segment_id": _segment("high_value")}]}],
             "else": "unresponsive"},
            _send("sms", "win_back_sms", "done", channel="sms"),
            {"id": "unresponsive", "type": "update_profile",
             "attributes": {"win_back_status": "unresponsive"}, "next": "done"},
            _exit("done", "Win-back tried"),
            _goal(label="Came back"),
        ],
        holdout_percent=10,
    ),
    _recipe(
        "loyalty_vip_reward", "Loyalty and VIP reward", "loyalty",
        "Welcome customers into the VIP list with a reward, then send a birthday treat each "
        "year on the morning of their birthday.",
        [
            {"id": "vip", "type": "entry_segment", "segment_id": _segment("vip_customers"),
             "next": "list"},
            {"id": "list", "type": "update_list", "list_name": "vip", "action": "add",
             "next": "reward"},
            _send("reward", "vip_reward", "birthday"),
            {"id": "birthday", "type": "wait_until_date", "attribute": "birth_date",
             "yearly": True, "time": "09:00", "next": "treat", "missing": "done"},
            _send("treat", "birthday_reward", "done"),
            _exit("done", "Rewarded"),
        ],
        reentry="after_exit",
        exit_criteria={"event_types": ["unsubscribed"]},
    ),
    _recipe(
        "referral_ask", "Referral ask", "advocacy",
        "Ask happy reviewers (4 stars or more) to refer a friend the next weekday morning, "
        "with one reminder a week later.",
        [
            {"id": "reviewed", "type": "entry_event", "event_type": "review_submitted",
             "filters": [{"property": "rating", "op": "gte", "value": 4}], "next": "morning"},
            {"id": "morning", "type": "wait_until_time", "time": "10:00",
             "weekdays": ["mon", "tue", "wed", "thu", "fri"], "next": "ask"},
            _send("ask", "referral_ask", "wait_7d"),
            _delay("wait_7d", 7, "reminder"),
            _send("reminder", "referral_reminder", "done"),
            _exit("done", "Asked"),
            _goal("referral_made", "Referred a friend"),
        ],
        reentry="cooldown", cooldown_days=180,
    ),
    _recipe(
        "satisfaction_survey", "Satisfaction survey", "retention",
        "Ten days after an order, ask how it went at the end of a weekday; remind once those "
        "who have not answered after a week.",
        [
            {"id": "ordered", "type": "entry_event", "event_type": ORDER, "next": "wait_10d"},
            _delay("wait_10d", 10, "evening"),
            {"id": "evening", "type": "wait_until_time", "time": "18:00",
             "weekdays": ["mon", "tue", "wed", "thu", "fri"], "next": "survey"},
            _send("survey", "satisfaction_survey", "answered"),
            _wait_event("answered", "survey_completed", 7, "done", "reminder"),
            _send("reminder", "survey_reminder", "done"),
            _exit("done", "Surveyed"),
        ],
        reentry="cooldown", cooldown_days=90, max_entries=4,
    ),
)
# fmt: on
