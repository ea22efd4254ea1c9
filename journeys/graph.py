"""The step graph: ids, references between steps, reachability and loops without a wait.

It works on the raw node list as well as the parsed steps, so one broken step does not hide
the shape of the rest of the journey (nor make every step after it look unreachable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from journeys.nodes import (
    ENTRY_TAGS,
    WAITING_TAGS,
    AnyNode,
    ConditionSplitNode,
    WaitForEngagementNode,
    exits_of,
)
from journeys.parts import EngagementCondition
from journeys.problems import Problem

RAW_TARGET_FIELDS = ("next", "missing", "matched", "timed_out", "else", "send", "skip")

Edges = dict[str, list[tuple[str, str]]]  # step id -> [(field, target id)]


def raw_id(raw: Any) -> str | None:
    """Return a raw step's id when it has a textual one."""
    value = raw.get("id") if isinstance(raw, Mapping) else None
    return value if isinstance(value, str) else None


def _raw_type(raw: Any) -> str | None:
    value = raw.get("type") if isinstance(raw, Mapping) else None
    return value if isinstance(value, str) else None


def _raw_targets(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return (field, target) for every reference a raw step seems to make."""
    found = [(key, raw[key]) for key in RAW_TARGET_FIELDS if isinstance(raw.get(key), str)]
    branches = raw.get("branches")
    if isinstance(branches, list):
        for i, branch in enumerate(branches):
            if isinstance(branch, Mapping) and isinstance(branch.get("next"), str):
                found.append((f"branches[{i}].next", branch["next"]))
    return found


def edges_of(raw_nodes: Sequence[Any], parsed: Mapping[str, AnyNode]) -> Edges:
    """Return each step's outgoing references: from the parsed step, or read from the raw one."""
    edges: Edges = {}
    for raw in raw_nodes:
        node_id = raw_id(raw)
        if node_id is None:
            continue
        node = parsed.get(node_id)
        if node is not None:
            targets = [(path, target) for _, path, target in exits_of(node) if target is not None]
        else:
            targets = _raw_targets(raw) if isinstance(raw, Mapping) else []
        edges.setdefault(node_id, []).extend(targets)
    return edges


def graph_problems(raw_nodes: Sequence[Any], parsed: Mapping[str, AnyNode]) -> list[Problem]:
    """Return problems with ids, references, entries, reachability and loops."""
    order = [node_id for raw in raw_nodes if (node_id := raw_id(raw)) is not None]
    types = {raw_id(raw): _raw_type(raw) for raw in raw_nodes if raw_id(raw) is not None}
    problems = _duplicates(order)
    edges = edges_of(raw_nodes, parsed)
    entries = [node_id for node_id in dict.fromkeys(order) if types.get(node_id) in ENTRY_TAGS]
    for node_id, targets in edges.items():
        for field, target in targets:
            if target not in types:
                problems.append(
                    Problem(
                        node_id,
                        field,
                        f"This leads to {target!r}, which is not a step in this journey.",
                        "dangling_reference",
                    )
                )
            elif types[target] in ENTRY_TAGS:
                problems.append(
                    Problem(
                        node_id,
                        field,
                        f"This leads to the entry {target!r}; entries start a journey and "
                        "no step can lead to one.",
                        "entry_target",
                    )
                )
    if not entries:
        problems.append(
            Problem(
                None,
                "nodes",
                "The journey has no entry step, so no contact can join it.",
                "no_entry",
            )
        )
    for node_id in entries:
        node = parsed.get(node_id)
        if node is not None and not any(target for _, _, target in exits_of(node)):
            problems.append(
                Problem(node_id, "next", "This entry does not lead to any step.", "no_next")
            )
    problems += _unreachable(order, types, edges, entries)
    problems += _loops_without_wait(order, types, edges)
    problems += _engagement_targets(parsed, types, edges)
    return problems


def _duplicates(order: Sequence[str]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for node_id in order:
        if node_id in seen:
            problems.append(
                Problem(
                    node_id,
                    "id",
                    f"Two steps share the id {node_id!r}; each step needs its own id.",
                    "duplicate_id",
                )
            )
        seen.add(node_id)
    return problems


def reachable(starts: Sequence[str], edges: Edges) -> set[str]:
    """Return every step reachable from `starts` (including them)."""
    seen, stack = set(starts), list(starts)
    while stack:
        for _, target in edges.get(stack.pop(), []):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _unreachable(
    order: Sequence[str], types: Mapping[str | None, str | None], edges: Edges, entries: list[str]
) -> list[Problem]:
    if not entries:
        return []  # "no entry" already says it all
    seen = reachable(entries, edges)
    return [
        Problem(
            node_id,
            None,
            "No path from an entry leads to this step, so no contact will reach it.",
            "unreachable",
        )
        for node_id in dict.fromkeys(order)
        if node_id not in seen and types.get(node_id) != "goal"  # goals are reached by event
    ]


def _loops_without_wait(
    order: Sequence[str], types: Mapping[str | None, str | None], edges: Edges
) -> list[Problem]:
    """Report every loop that passes no delay or wait (a strongly connected set without them)."""
    instant = {node_id for node_id in order if types.get(node_id) not in WAITING_TAGS}
    graph = {node_id: [t for _, t in edges.get(node_id, []) if t in instant] for node_id in instant}
    problems = []
    position = {node_id: i for i, node_id in reversed(list(enumerate(order)))}
    for component in _components(graph):
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        steps = sorted(component, key=position.__getitem__)
        names = ", ".join(repr(s) for s in steps[:-1]) + f" and {steps[-1]!r}"
        what = f"The steps {names} form" if len(steps) > 1 else "This step leads back to itself:"
        problems.append(
            Problem(
                steps[0],
                None,
                f"{what} a loop without a delay or wait, so a contact would go round it "
                "without pause. Add a delay or wait step to the loop.",
                "cycle_without_wait",
            )
        )
    return problems


def _components(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Return the strongly connected components of `graph` (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _engagement_targets(
    parsed: Mapping[str, AnyNode], types: Mapping[str | None, str | None], edges: Edges
) -> list[Problem]:
    """Engagement waits and conditions must name a send step that comes before them."""
    problems = []
    for node in parsed.values():
        refs: list[tuple[str, str]] = []
        if isinstance(node, WaitForEngagementNode):
            refs.append(("send_node", node.send_node))
        elif isinstance(node, ConditionSplitNode):
            for b, branch in enumerate(node.branches):
                for c, condition in enumerate(branch.conditions):
                    if isinstance(condition, EngagementCondition):
                        refs.append(
                            (f"branches[{b}].conditions[{c}].send_node", condition.send_node)
                        )
        for field, send_id in refs:
            if types.get(send_id) != "send":
                what = "not a step in this journey" if send_id not in types else "not a send step"
                message = f"This looks at engagement with {send_id!r}, which is {what}."
            elif node.id not in reachable([send_id], edges) or send_id == node.id:
                message = (
                    f"This looks at engagement with {send_id!r}, which does not come before "
                    "this step, so the contact cannot have received that message yet."
                )
            else:
                continue
            problems.append(Problem(node.id, field, message, "engagement_target"))
    return problems
