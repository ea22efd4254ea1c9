"""Journey validation: every kind of problem, located at its step, all reported at once."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from journeys import JourneyError, Problem, parse, validate


def base() -> dict[str, Any]:
    """Return a valid journey to break in one place per case."""
    return {
        "version": 1,
        "name": "Welcome",
        "settings": {"reentry": "never"},
        "nodes": [
            {"id": "in", "type": "entry_segment", "segment_id": 1, "next": "mail"},
            {"id": "mail", "type": "send", "channel": "email", "template_id": 10, "next": "w"},
            {"id": "w", "type": "wait_for_event", "event_type": "purchase",
             "timeout": {"days": 3}, "matched": "done", "timed_out": "split"},
            {"id": "split", "type": "random_split", "branches": [
                {"name": "a", "percent": 50, "next": "done"},
                {"name": "b", "percent": 50, "control": True, "next": "done"}]},
            {"id": "done", "type": "exit"},
        ],
    }  # fmt: skip


def node(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in data["nodes"] if n.get("id") == node_id)


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(base())
    change(data)
    return data


CASES: list[tuple[str, Any, str, str | None, str | None]] = [
    ("invalid", lambda d: node(d, "mail").update(channel="fax"), "invalid", "mail", "channel"),
    ("missing field", lambda d: node(d, "mail").pop("channel"), "invalid", "mail", "channel"),
    ("unknown key", lambda d: node(d, "mail").update(colour="red"), "invalid", "mail", "colour"),
    ("unknown type", lambda d: node(d, "done").update(type="stop"), "invalid", "done", "type"),
    ("bad id", lambda d: node(d, "done").update(id="Done!"), "invalid", "Done!", "id"),
    ("zero delay", lambda d: d["nodes"].insert(2, {"id": "z", "type": "delay",
     "duration": {"days": 0}, "next": "w"}), "invalid", "z", "duration"),
    ("bad zone", lambda d: d["nodes"].insert(2, {"id": "t", "type": "wait_until_time",
     "time": "09:00", "fallback_time_zone": "Nowhere/City", "next": "w"}), "invalid", "t",
     "fallback_time_zone"),
    ("bad time", lambda d: d["nodes"].insert(2, {"id": "t", "type": "wait_until_time",
     "time": "9am", "next": "w"}), "invalid", "t", "time"),
    ("bad cron", lambda d: d["nodes"].insert(0, {"id": "r", "type": "entry_recurring",
     "segment_id": 1, "schedule": {"cron": "every monday"}, "next": "mail"}), "invalid", "r",
     "schedule.cron"),
    ("bad filter", lambda d: node(d, "w").update(filters=[{"property": "total", "op": "gt",
     "value": [1]}]), "invalid", "w", "filters[0]"),
    ("bad condition", lambda d: node(d, "split").update(type="condition_split", branches=[
     {"conditions": [{"type": "weather"}], "next": "done"}]), "invalid", "split",
     "branches[0].conditions[0].type"),
    ("top share", lambda d: d["nodes"].insert(2, {"id": "u", "type": "uplift_split",
     "mode": "top_share", "value": 150, "send": "w", "skip": "w"}), "invalid", "u", "value"),
    ("no id", lambda d: d["nodes"].append({"type": "exit"}), "invalid", None, "nodes[5].id"),
    ("not an object", lambda d: d["nodes"].append("exit"), "invalid", None, "nodes[5]"),
    ("header", lambda d: d.update(name=""), "invalid", None, "name"),
    ("settings key", lambda d: d["settings"].update(holdout_percent=80), "invalid", None,
     "settings.holdout_percent"),
    ("version", lambda d: d.update(version=2), "version", None, "version"),
    ("duplicate", lambda d: d["nodes"].append({"id": "mail", "type": "exit"}), "duplicate_id",
     "mail", "id"),
    ("dangling", lambda d: node(d, "w").update(matched="thanks"), "dangling_reference", "w",
     "matched"),
    ("dangling branch", lambda d: node(d, "split")["branches"][1].update(next="nope"),
     "dangling_reference", "split", "branches[1].next"),
    ("entry target", lambda d: node(d, "w").update(matched="in"), "entry_target", "w",
     "matched"),
    ("no entry", lambda d: d["nodes"].pop(0), "no_entry", None, "nodes"),
    ("entry to nowhere", lambda d: d["nodes"].insert(0, {"id": "api", "type": "entry_api"}),
     "no_next", "api", "next"),
    ("unreachable", lambda d: d["nodes"].append({"id": "lost", "type": "send",
     "channel": "sms", "template_id": 10, "next": "done"}), "unreachable", "lost", None),
    ("loop", lambda d: d["nodes"].extend([
        {"id": "p", "type": "update_profile", "attributes": {"x": 1}, "next": "q"},
        {"id": "q", "type": "update_list", "list_name": "l", "action": "add", "next": "p"}])
     or node(d, "w").update(matched="p"), "cycle_without_wait", "p", None),
    ("self loop", lambda d: d["nodes"].append({"id": "p", "type": "update_profile",
     "attributes": {"x": 1}, "next": "p"}) or node(d, "w").update(matched="p"),
     "cycle_without_wait", "p", None),
    ("one branch", lambda d: node(d, "split")["branches"].pop(), "branch_count", "split",
     "branches"),
    ("no condition branch", lambda d: node(d, "split").update(type="condition_split",
     branches=[], **{"else": "done"}), "branch_count", "split", "branches"),
    ("one variant", lambda d: node(d, "mail").update(template_id=None, variants=[
     {"name": "a", "share": 100, "template_id": 10}]), "branch_count", "mail", "variants"),
    ("percentages", lambda d: node(d, "split")["branches"][0].update(percent=40),
     "percentages", "split", "branches"),
    ("shares", lambda d: node(d, "mail").update(template_id=None, variants=[
     {"name": "a", "share": 50, "template_id": 10}, {"name": "b", "share": 20,
      "template_id": 10}]), "percentages", "mail", "variants"),
    ("two controls", lambda d: node(d, "split")["branches"][0].update(control=True),
     "control", "split", "branches"),
    ("same name", lambda d: node(d, "split")["branches"][1].update(name="a"),
     "duplicate_name", "split", "branches"),
    ("template and variants", lambda d: node(d, "mail").update(variants=[
     {"name": "a", "share": 50, "template_id": 10}, {"name": "b", "share": 50,
      "template_id": 10}]), "send_template", "mail", "template_id"),
    ("no template", lambda d: node(d, "mail").pop("template_id"), "send_template", "mail",
     "template_id"),
    ("no timeout", lambda d: node(d, "w").pop("timeout"), "missing_timeout", "w", "timeout"),
    ("engagement not a send", lambda d: d["nodes"].insert(2, {"id": "e",
     "type": "wait_for_engagement", "send_node": "split", "action": "opened",
     "timeout": {"days": 1}, "matched": "w", "timed_out": "w"})
     or node(d, "mail").update(next="e"), "engagement_target", "e", "send_node"),
    ("engagement later", lambda d: d["nodes"].insert(1, {"id": "e",
     "type": "wait_for_engagement", "send_node": "mail", "action": "opened",
     "timeout": {"days": 1}, "matched": "mail", "timed_out": "mail"})
     or node(d, "in").update(next="e"), "engagement_target", "e", "send_node"),
    ("unknown template", lambda d: node(d, "mail").update(template_id=99),
     "unknown_template", "mail", "template_id"),
    ("unknown segment", lambda d: node(d, "in").update(segment_id=99), "unknown_segment",
     "in", "segment_id"),
    ("unknown exit segment", lambda d: d["settings"].update(exit_criteria={
     "segment_ids": [99]}), "unknown_segment", None, "settings.exit_criteria.segment_ids[0]"),
    ("cooldown", lambda d: d["settings"].update(reentry="cooldown"), "settings", None,
     "settings.cooldown_days"),
    ("max entries", lambda d: d["settings"].update(max_entries=3), "settings", None,
     "settings.max_entries"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "code", "node_id", "field"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_each_problem_names_its_step_and_field(
    change: Any, code: str, node_id: str | None, field: str | None
) -> None:
    problems = validate(broken(change), templates={10}, segments={1})
    assert (code, node_id, field) in {(p.code, p.node_id, p.field) for p in problems}, problems
    for problem in problems:
        assert problem.message[0] in "'" or problem.message[0].isupper(), problem
        assert problem.message.endswith("."), problem


def test_the_base_journey_is_valid() -> None:
    assert validate(base(), templates={10}, segments={1}) == []
    assert parse(base()).name == "Welcome"


def test_references_are_checked_only_when_the_ids_are_given() -> None:
    assert validate(broken(lambda d: node(d, "mail").update(template_id=99))) == []


def test_every_problem_is_reported_at_once() -> None:
    def many(d: dict[str, Any]) -> None:
        node(d, "mail").update(channel="fax")
        node(d, "w").pop("timeout")
        node(d, "split")["branches"][0].update(percent=10, next="gone")
        d["settings"].update(reentry="cooldown")

    problems = validate(broken(many), templates={10}, segments={1})
    assert {(p.code, p.node_id) for p in problems} >= {
        ("invalid", "mail"),
        ("missing_timeout", "w"),
        ("percentages", "split"),
        ("dangling_reference", "split"),
        ("settings", None),
    }


def test_a_broken_step_does_not_make_the_steps_after_it_unreachable() -> None:
    problems = validate(broken(lambda d: node(d, "w").update(timeout={"weeks": 1})))
    assert [(p.node_id, p.field) for p in problems] == [("w", "timeout.weeks")]


@pytest.mark.parametrize("data", [None, [], "journey", 3, {"nodes": "many"}])
def test_anything_that_is_not_a_journey_gets_problems_not_exceptions(data: Any) -> None:
    assert validate(data)


def test_parse_raises_with_every_problem() -> None:
    with pytest.raises(JourneyError) as error:
        parse(broken(lambda d: node(d, "w").pop("timeout") and node(d, "mail").pop("channel")))
    assert len(error.value.problems) == 2
    assert "2 journey problems" in str(error.value)


def test_problems_have_a_json_shape() -> None:
    problem = Problem("w", "timeout", "This wait needs a timeout.", "missing_timeout")
    assert problem.as_dict() == {
        "node_id": "w",
        "field": "timeout",
        "message": "This wait needs a timeout.",
        "code": "missing_timeout",
    }
    assert str(problem) == "step 'w' (timeout): This wait needs a timeout."


def test_too_many_steps() -> None:
    steps = [{"id": f"s{i}", "type": "exit"} for i in range(501)]
    problems = validate({"version": 1, "name": "big", "nodes": steps})
    assert [p.code for p in problems] == ["too_many_steps"]
