"""Rules one step or the settings must follow beyond their shape: branches, shares, references.

Known templates and segments are checked only when the caller passes the ids that exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from journeys.definition import Settings
from journeys.nodes import (
    AnyNode,
    ConditionSplitNode,
    EntryRecurringNode,
    EntrySegmentNode,
    RandomSplitNode,
    SendNode,
    WaitForEngagementNode,
    WaitForEventNode,
    WaitForSegmentNode,
)
from journeys.parts import SegmentCondition
from journeys.problems import Problem

MAX_RANDOM_BRANCHES = 10


def node_problems(
    node: AnyNode, templates: Collection[int] | None, segments: Collection[int] | None
) -> list[Problem]:
    """Return what is wrong with one parsed step on its own."""
    problems: list[Problem] = []
    if isinstance(node, SendNode):
        problems += _send(node, templates)
    elif isinstance(node, RandomSplitNode):
        problems += _random_split(node)
    elif isinstance(node, ConditionSplitNode):
        problems += _condition_split(node)
    if (
        isinstance(node, WaitForEventNode | WaitForSegmentNode | WaitForEngagementNode)
        and node.timeout is None
    ):
        problems.append(
            Problem(
                node.id,
                "timeout",
                "This wait needs a timeout, so contacts move on even if it never happens.",
                "missing_timeout",
            )
        )
    if segments is not None:
        for field, segment_id in _segments_of(node):
            if segment_id not in segments:
                problems.append(_unknown_segment(node.id, field, segment_id))
    return problems


def settings_problems(settings: Settings, segments: Collection[int] | None) -> list[Problem]:
    """Return what is wrong with the journey settings."""
    problems = []
    if settings.reentry == "cooldown" and settings.cooldown_days is None:
        problems.append(
            Problem(
                None,
                "settings.cooldown_days",
                "Re-entry with a cooldown needs the number of cooldown days.",
                "settings",
            )
        )
    if settings.reentry != "cooldown" and settings.cooldown_days is not None:
        problems.append(
            Problem(
                None,
                "settings.cooldown_days",
                "Cooldown days apply only when re-entry is set to 'cooldown'.",
                "settings",
            )
        )
    if settings.reentry == "never" and settings.max_entries not in (None, 1):
        problems.append(
            Problem(
                None,
                "settings.max_entries",
                "With re-entry set to 'never' a contact enters at most once; allow re-entry "
                "or remove the maximum.",
                "settings",
            )
        )
    if segments is not None:
        for i, segment_id in enumerate(settings.exit_criteria.segment_ids):
            if segment_id not in segments:
                problems.append(
                    _unknown_segment(None, f"settings.exit_criteria.segment_ids[{i}]", segment_id)
                )
    return problems


def _unknown_segment(node_id: str | None, field: str, segment_id: int) -> Problem:
    return Problem(
        node_id, field, f"Segment {segment_id} does not exist (or was deleted).", "unknown_segment"
    )


def _segments_of(node: AnyNode) -> list[tuple[str, int]]:
    if isinstance(node, EntrySegmentNode | EntryRecurringNode | WaitForSegmentNode):
        return [("segment_id", node.segment_id)]
    if isinstance(node, ConditionSplitNode):
        return [
            (f"branches[{b}].conditions[{c}].segment_id", condition.segment_id)
            for b, branch in enumerate(node.branches)
            for c, condition in enumerate(branch.conditions)
            if isinstance(condition, SegmentCondition)
        ]
    return []


def _send(node: SendNode, templates: Collection[int] | None) -> list[Problem]:
    problems = []
    if (node.template_id is None) == (not node.variants):
        problems.append(
            Problem(
                node.id,
                "template_id",
                "Choose a template, or split the send into variants, but not both.",
                "send_template",
            )
        )
    if node.variants:
        if len(node.variants) < 2:
            problems.append(
                Problem(
                    node.id,
                    "variants",
                    "Give at least two variants, or choose a single template instead.",
                    "branch_count",
                )
            )
        problems += _adds_up(
            node.id, "variants", "variants' shares", [v.share for v in node.variants]
        )
        problems += _unique_names(node.id, "variants", [v.name for v in node.variants])
    if templates is not None:
        used = [("template_id", node.template_id)] + [
            (f"variants[{i}].template_id", v.template_id) for i, v in enumerate(node.variants)
        ]
        problems += [
            Problem(
                node.id,
                field,
                f"Template {template_id} does not exist (or was deleted).",
                "unknown_template",
            )
            for field, template_id in used
            if template_id is not None and template_id not in templates
        ]
    return problems


def _random_split(node: RandomSplitNode) -> list[Problem]:
    problems = []
    if not 2 <= len(node.branches) <= MAX_RANDOM_BRANCHES:
        problems.append(
            Problem(
                node.id,
                "branches",
                f"A random split needs 2 to {MAX_RANDOM_BRANCHES} branches; "
                f"it has {len(node.branches)}.",
                "branch_count",
            )
        )
    if node.branches:
        percents = [b.percent for b in node.branches]
        problems += _adds_up(node.id, "branches", "branches' percentages", percents)
    if sum(b.control for b in node.branches) > 1:
        problems.append(
            Problem(
                node.id,
                "branches",
                "Mark at most one branch of a random split as the control group.",
                "control",
            )
        )
    return problems + _unique_names(node.id, "branches", [b.name for b in node.branches])


def _condition_split(node: ConditionSplitNode) -> list[Problem]:
    if not node.branches:
        return [
            Problem(
                node.id,
                "branches",
                "A condition split needs at least one branch with a condition "
                "(one branch and 'else' make a yes/no split).",
                "branch_count",
            )
        ]
    return _unique_names(node.id, "branches", [b.name for b in node.branches if b.name])


def _adds_up(node_id: str, field: str, what: str, values: Sequence[float]) -> list[Problem]:
    total = sum(values)
    if abs(total - 100) <= 1e-6:
        return []
    return [
        Problem(
            node_id,
            field,
            f"The {what} add up to {round(total, 4):g}; they must add up to 100.",
            "percentages",
        )
    ]


def _unique_names(node_id: str, field: str, names: Sequence[str]) -> list[Problem]:
    return [
        Problem(
            node_id,
            field,
            f"The name {name!r} is used more than once; give each one its own name.",
            "duplicate_name",
        )
        for name, count in Counter(names).items()
        if count > 1
    ]
