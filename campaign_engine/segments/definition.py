"""Segment definitions: versioned JSON, parsed and validated into tagged pydantic nodes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field, ValidationError, model_validator

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.segments.fields import (
    ALL_OPS,
    CUSTOM_KEY,
    CUSTOM_PREFIX,
    OPS_BY_KIND,
    PROFILE_FIELDS,
    RELATIVE_OPS,
    TRAIT_FIELDS,
    Kind,
    custom_field,
)
from campaign_engine.segments.fields import (
    Field as CatalogueField,
)
from campaign_engine.segments.messages import MessageCondition, UnopenedCondition
from campaign_engine.segments.nodes import Counted, Days, Moment, Node
from campaign_engine.segments.uplift import UpliftCondition

VERSION: Literal[1] = 1
MAX_DEPTH = 32
MAX_NODES = 500
MAX_LIST = 1_000

Op = Literal[ALL_OPS]  # type: ignore[valid-type]


def _kind_of(value: Any) -> Kind | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _check_value(kind: Kind, value: Any, choices: tuple[str, ...]) -> None:
    """Raise ValueError unless `value` is one value a field of `kind` can hold."""
    if kind in ("string", "enum"):
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        if choices and value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
    else:
        parse_moment(kind, value)


def parse_moment(kind: Kind, value: Any) -> date | datetime:
    """Parse an ISO date (or, for datetime fields, date-time) given in a definition."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO date such as 2024-01-31, got {value!r}")
    try:
        if kind == "datetime" and "T" in value:
            return datetime.fromisoformat(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date such as 2024-01-31") from None


class FieldCondition(Node):
    """Compare a field with a value: `{"field": ..., "op": ..., "value": ...}`."""

    field: str
    op: Op
    value: Any = None
    days: Days | None = None

    def catalogue_field(self) -> CatalogueField:
        """Return the catalogue entry for `field`, raising ValueError when there is none."""
        raise NotImplementedError

    def value_kind(self) -> Kind | None:
        """Return the kind of the compared value(s), for fields typed by their value."""
        values = self.value if isinstance(self.value, list) else [self.value]
        kinds = {_kind_of(v) for v in values if v is not None}
        return kinds.pop() if len(kinds) == 1 else None

    @model_validator(mode="after")
    def _fits_field(self) -> FieldCondition:
        field = self.catalogue_field()
        allowed = OPS_BY_KIND[field.kind]
        if self.op not in allowed:
            raise ValueError(
                f"{self.op!r} does not apply to {field.kind} field {self.field!r}; "
                f"use one of {', '.join(allowed)}"
            )
        if self.op in RELATIVE_OPS:
            if self.days is None or self.value is not None:
                raise ValueError(f"{self.op!r} takes a number of days in 'days' and no 'value'")
            if self.op == "in_next" and self.days > 366:
                raise ValueError("'in_next' looks at most 366 days ahead")
            return self
        if self.days is not None:
            raise ValueError(f"'days' goes only with {', '.join(RELATIVE_OPS)}")
        if self.op in ("is_set", "is_not_set"):
            if self.value is not None:
                raise ValueError(f"{self.op!r} takes no value")
            return self
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not 1 <= len(self.value) <= MAX_LIST:
                raise ValueError(f"{self.op!r} takes a list of 1 to {MAX_LIST} values")
            for item in self.value:
                _check_value(field.kind, item, field.choices)
        elif self.op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError("'between' takes a list of two values: [low, high]")
            for item in self.value:
                _check_value(field.kind, item, field.choices)
            low, high = self.value
            if field.kind in ("date", "datetime"):
                low, high = parse_moment(field.kind, low), parse_moment(field.kind, high)
                if type(low) is not type(high):
                    raise ValueError("give both ends of 'between' as dates, or both as date-times")
                if isinstance(low, datetime) and isinstance(high, datetime):
                    low, high = as_utc(low), as_utc(high)  # a time without a zone is UTC
            if low > high:
                raise ValueError(f"'between' runs from low to high; {low} is after {high}")
        else:
            if self.value is None:
                raise ValueError(f"{self.op!r} needs a value")
            _check_value(field.kind, self.value, field.choices)
        return self


def as_utc(moment: datetime) -> datetime:
    """Return `moment` with UTC as its zone when it has none."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AttributeCondition(FieldCondition):
    """A built-in profile field, or a custom attribute as `attributes.<key>`."""

    type: Literal["attribute"]

    def catalogue_field(self) -> CatalogueField:
        if self.field in PROFILE_FIELDS:
            return PROFILE_FIELDS[self.field]
        if self.field.startswith(CUSTOM_PREFIX):
            key = self.field.removeprefix(CUSTOM_PREFIX)
            if not CUSTOM_KEY.match(key):
                raise ValueError(
                    f"custom attribute {key!r} must be 1-64 letters, digits, '_' or '-'"
                )
            if self.op in ("lt", "lte", "gt", "gte", "between") and self.value_kind() != "number":
                raise ValueError(f"{self.op!r} compares custom attributes as numbers only")
            if self.op in RELATIVE_OPS:
                raise ValueError(f"{self.op!r} applies to built-in date fields only")
            return custom_field(self.field, self.value_kind())
        raise ValueError(
            f"unknown profile field {self.field!r}; use one of {', '.join(PROFILE_FIELDS)} "
            f"or {CUSTOM_PREFIX}<key> for a custom attribute"
        )


class TraitCondition(FieldCondition):
    """A computed trait: RFM, CLV, probability alive, churn risk."""

    type: Literal["trait"]

    def catalogue_field(self) -> CatalogueField:
        if self.field not in TRAIT_FIELDS:
            raise ValueError(f"unknown trait {self.field!r}; use one of {', '.join(TRAIT_FIELDS)}")
        return TRAIT_FIELDS[self.field]


class PurchaseCondition(Counted):
    """Bought (a product, any product of a category, or anything) N times / for V in a window."""

    type: Literal["purchase"]
    product: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    min_spend: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> PurchaseCondition:
        if self.product and self.category:
            raise ValueError("give a product or a category, not both")
        return self


class LastPurchaseCondition(Node):
    """The contact's last order fell before / after a moment."""

    type: Literal["last_purchase"]
    op: Literal["before", "after"]
    when: Moment


PropertyOp = Literal[
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "is_set", "is_not_set"
]


class PropertyFilter(Node):
    """A test on one event property; its kind comes from the value."""

    property: Annotated[str, Field(pattern=CUSTOM_KEY.pattern)]
    op: PropertyOp
    value: Any = None

    @model_validator(mode="after")
    def _fits(self) -> PropertyFilter:
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.op in ("is_set", "is_not_set"):
            if self.value is not None:
                raise ValueError(f"{self.op!r} takes no value")
            return self
        if self.op in ("in", "not_in") and not (
            isinstance(self.value, list) and 1 <= len(self.value) <= MAX_LIST
        ):
            raise ValueError(f"{self.op!r} takes a list of 1 to {MAX_LIST} values")
        kinds = {_kind_of(v) for v in values}
        if None in kinds or len(kinds) != 1:
            raise ValueError("compare with text, a number or true/false (one kind at a time)")
        kind = kinds.pop()
        if self.op in ("lt", "lte", "gt", "gte") and kind != "number":
            raise ValueError(f"{self.op!r} compares numbers only")
        if self.op == "contains" and kind != "string":
            raise ValueError("'contains' compares text only")
        return self


class EventCondition(Counted):
    """Performed an event type (with property filters) N times in a window."""

    type: Literal["event"]
    event_type: Annotated[str, Field(min_length=1, max_length=64)]
    where: list[PropertyFilter] = []


class EventTimeCondition(Node):
    """The first / last event of a type fell before / after a moment."""

    type: Literal["event_time"]
    event_type: Annotated[str, Field(min_length=1, max_length=64)]
    which: Literal["first", "last"]
    op: Literal["before", "after"]
    when: Moment
    where: list[PropertyFilter] = []


class ConsentCondition(Node):
    """Consent state for a channel and purpose; no record counts as `unknown`."""

    type: Literal["consent"]
    channel: Literal["email", "sms", "social", "web"]
    purpose: Annotated[str, Field(min_length=1, max_length=32)] = "marketing"
    state: Literal["opted_in", "opted_out", "unknown"]


class SuppressedCondition(Node):
    """The contact's email (address or domain) or phone is suppressed."""

    type: Literal["suppressed"]
    channel: Literal["email", "sms", "any"] = "any"


class SegmentCondition(Node):
    """Membership of another saved segment (or, with `exclude`, not being in it)."""

    type: Literal["segment"]
    segment_id: Annotated[int, Field(ge=1)]
    exclude: bool = False


class RandomBucketCondition(Node):
    """A stable pseudo-random share of contacts: hash(contact id, salt) falls below `percent`."""

    type: Literal["random_bucket"]
    percent: Annotated[float, Field(gt=0, le=100, multiple_of=0.01)]
    salt: Annotated[str, Field(max_length=64)] = ""


class AllGroup(Node):
    """Every child holds."""

    type: Literal["all"]
    children: Annotated[list[SegmentNode], Field(min_length=1)]


class AnyGroup(Node):
    """At least one child holds."""

    type: Literal["any"]
    children: Annotated[list[SegmentNode], Field(min_length=1)]


class NotGroup(Node):
    """The child does not hold."""

    type: Literal["not"]
    child: SegmentNode


Condition: TypeAlias = (
    AttributeCondition
    | TraitCondition
    | PurchaseCondition
    | LastPurchaseCondition
    | EventCondition
    | EventTimeCondition
    | ConsentCondition
    | SuppressedCondition
    | SegmentCondition
    | RandomBucketCondition
    | MessageCondition
    | UnopenedCondition
    | UpliftCondition
)
Group: TypeAlias = AllGroup | AnyGroup | NotGroup
SegmentNode = Annotated[Group | Condition, Field(discriminator="type")]


class SegmentDefinition(Node):
    """A segment: `{"version": 1, "root": <node>}`."""

    version: Literal[1] = VERSION
    root: SegmentNode


def children_of(node: Group | Condition) -> list[Group | Condition]:
    """Return a node's direct children (empty for conditions)."""
    match node:
        case AllGroup() | AnyGroup():
            return list(node.children)
        case NotGroup():
            return [node.child]
        case _:
            return []


def walk(node: Group | Condition, path: str = "root") -> list[tuple[str, Group | Condition]]:
    """Return every node with its JSON path, parents before children."""
    found = [(path, node)]
    match node:
        case AllGroup() | AnyGroup():
            for i, child in enumerate(node.children):
                found += walk(child, f"{path}.children[{i}]")
        case NotGroup():
            found += walk(node.child, f"{path}.child")
    return found


def referenced_segments(definition: SegmentDefinition) -> list[tuple[str, int]]:
    """Return (path, segment id) for every segment the definition refers to."""
    return [
        (path, node.segment_id)
        for path, node in walk(definition.root)
        if isinstance(node, SegmentCondition)
    ]


def referenced_campaigns(definition: SegmentDefinition) -> list[tuple[str, MessageCondition]]:
    """Return (path, condition) for every message condition naming a campaign."""
    return [
        (path, node)
        for path, node in walk(definition.root)
        if isinstance(node, MessageCondition)
        and (node.campaign_id is not None or node.campaign_code is not None)
    ]


def _json_path(data: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a JSON path, skipping union tags."""
    path, current = "", data
    for part in loc:
        if isinstance(current, dict) and part in current:
            path += f".{part}" if path else str(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            path += f"[{part}]"
            current = current[part]
        elif (
            isinstance(current, dict)
            and isinstance(part, str)
            and part != current.get("type")
            and not part.startswith("function-")
        ):
            return f"{path}.{part}" if path else part  # a missing key: name it
    return path or "definition"


def _depth_and_size(data: Any, depth: int = 0) -> tuple[int, int]:
    if isinstance(data, dict):
        results = [_depth_and_size(v, depth + 1) for v in data.values()]
    elif isinstance(data, list):
        results = [_depth_and_size(v, depth + 1) for v in data]
    else:
        return depth, 0
    return max([depth, *(d for d, _ in results)]), 1 + sum(n for _, n in results)


def parse_definition(data: Any) -> SegmentDefinition:
    """Validate JSON data as a segment definition or raise InvalidInput listing every problem."""
    if not isinstance(data, dict):
        raise InvalidInput(
            "a segment definition is a JSON object",
            [Problem("definition", 'expected {"version": 1, "root": {...}}')],
        )
    depth, size = _depth_and_size(data)
    if depth > 2 * MAX_DEPTH or size > 4 * MAX_NODES:
        raise InvalidInput(
            "the segment definition is too large",
            [Problem("root", f"nest at most {MAX_DEPTH} groups and use at most {MAX_NODES} nodes")],
        )
    try:
        return SegmentDefinition.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(Problem(_json_path(data, error["loc"]), message))
        raise InvalidInput("the segment definition is invalid", _dedupe(problems)) from None


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
