"""Validate journey definitions: every problem at once, each with its step id and a sentence.

Steps are parsed one by one, so a broken step is reported without hiding problems elsewhere;
pydantic's errors are turned into sentences a marketer understands.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from journeys.definition import MAX_NODES, VERSION, JourneyDefinition
from journeys.graph import graph_problems, raw_id
from journeys.nodes import AnyNode, Node
from journeys.parts import PATTERN_MESSAGES
from journeys.problems import JourneyError, Problem
from journeys.rules import node_problems, settings_problems

_NODE = TypeAdapter[AnyNode](Node)
GENERIC_SUBJECTS = {"Input", "String", "Value", "List", "Dictionary", "Number"}


def validate(
    definition_json: Any,
    *,
    templates: Collection[int] | None = None,
    segments: Collection[int] | None = None,
) -> list[Problem]:
    """Return every problem with a journey definition (empty when it can be published).

    Pass the ids of the templates and segments that exist to check references to them.
    """
    return _check(definition_json, templates, segments)[0]


def parse(
    definition_json: Any,
    *,
    templates: Collection[int] | None = None,
    segments: Collection[int] | None = None,
) -> JourneyDefinition:
    """Return the validated definition, or raise JourneyError listing every problem."""
    problems, definition = _check(definition_json, templates, segments)
    if problems or definition is None:
        raise JourneyError(problems)
    return definition


def _check(
    data: Any, templates: Collection[int] | None, segments: Collection[int] | None
) -> tuple[list[Problem], JourneyDefinition | None]:
    if not isinstance(data, Mapping):
        message = (
            'A journey definition is a JSON object: {"version": 1, "name": ..., "nodes": [...]}.'
        )
        return [Problem(None, None, message)], None
    version = data.get("version", VERSION)
    if version != VERSION:
        message = f"This journey is in format version {version!r}; this engine reads version 1."
        return [Problem(None, "version", message, "version")], None
    raw_nodes = data.get("nodes")
    problems, header = _header(data)
    if header is not None:
        problems += settings_problems(header.settings, segments)
    if not isinstance(raw_nodes, list):
        problems.append(Problem(None, "nodes", "List the journey's steps under 'nodes'."))
        raw_nodes = []
    if len(raw_nodes) > MAX_NODES:
        message = f"A journey has at most {MAX_NODES} steps; this one has {len(raw_nodes)}."
        return [*problems, Problem(None, "nodes", message, "too_many_steps")], None
    parsed: dict[str, AnyNode] = {}
    for index, raw in enumerate(raw_nodes):
        node, errors = _parse_node(raw, index)
        problems += errors
        if node is not None:
            parsed.setdefault(node.id, node)
            problems += node_problems(node, templates, segments)
    problems += graph_problems(raw_nodes, parsed)
    if problems:
        return _dedupe(problems), None
    return [], JourneyDefinition.model_validate(data)


def _header(data: Mapping[str, Any]) -> tuple[list[Problem], JourneyDefinition | None]:
    """Parse everything but the steps (name, description, settings), or say what is wrong."""
    try:
        return [], JourneyDefinition.model_validate({**data, "nodes": []})
    except ValidationError as exc:
        return [
            Problem(None, _path(data, error["loc"]), _sentence(error, "journey"))
            for error in exc.errors(include_url=False)
        ], None


def _parse_node(raw: Any, index: int) -> tuple[AnyNode | None, list[Problem]]:
    node_id = raw_id(raw)
    if not isinstance(raw, Mapping):
        message = "Each step is a JSON object with an id and a type."
        return None, [Problem(None, f"nodes[{index}]", message)]
    try:
        return _NODE.validate_python(raw), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = _path(raw, error["loc"])
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                field = f"{field}.type" if field else "type"
            if node_id is None:
                field = f"nodes[{index}].{field}" if field else f"nodes[{index}]"
            problems.append(Problem(node_id, field or None, _sentence(error, "step")))
        return None, problems


def _path(data: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a path within `data`, skipping union tags."""
    path, current = "", data
    for part in loc:
        if isinstance(current, Mapping) and part in current:
            path += f".{part}" if path else str(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            path += f"[{part}]"
            current = current[part]
        elif (
            isinstance(current, Mapping)
            and isinstance(part, str)
            and part != current.get("type")
            and not part.startswith("function-")
        ):
            return f"{path}.{part}" if path else part  # a missing key: name it
    return path


def _label(loc: tuple[int | str, ...]) -> str:
    names = [part for part in loc if isinstance(part, str) and not part.startswith("function-")]
    name = names[-1] if names else "value"
    return "Else" if name == "else" else name.replace("_", " ").capitalize()


def _sentence(error: ErrorDetails, where: str) -> str:
    """Return pydantic's complaint as a sentence a marketer can act on."""
    kind, loc = error["type"], error["loc"]
    ctx = error.get("ctx") or {}
    if kind == "missing" and loc[-1:] == ("id",) and where == "step":
        text = "Each step needs an id"
    elif kind == "missing":
        text = f"{_label(loc)} is required"
    elif kind == "extra_forbidden":
        text = f"{loc[-1]!r} is not a setting of this {where}; remove it"
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_MESSAGES:
        text = PATTERN_MESSAGES[ctx["pattern"]]
    elif kind == "union_tag_invalid":
        tags = ctx.get("expected_tags")
        text = f"{ctx.get('tag')!r} is not a type this engine knows; use one of {tags}"
    elif kind == "union_tag_not_found" and "conditions" in loc:
        text = "Give the condition a type: 'attribute', 'segment' or 'engagement'"
    elif kind == "union_tag_not_found":
        text = f"Give the {where} a type, such as 'send' or 'delay'"
    else:
        text = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        subject, _, rest = text.partition(" should ")
        if rest and subject in GENERIC_SUBJECTS:
            text = f"{_label(loc)} should {rest}"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else f"{text}."


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
