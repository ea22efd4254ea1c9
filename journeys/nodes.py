"""Journey steps (nodes): one tagged pydantic model per type, and the exits each one has.

Stored tag names (`type`) and field names are never renamed: journeys saved years ago must
still load. Children are referenced by id; a missing (null) target ends the journey there.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, TypeAlias, assert_never, get_args

from croniter import croniter
from pydantic import Field, ValidationInfo, field_validator, model_validator

from journeys.parts import (
    AttributeKey,
    AttributePath,
    Channel,
    Condition,
    Duration,
    EventType,
    Label,
    Model,
    NextId,
    NodeId,
    Position,
    PropertyFilter,
    Scalar,
    SegmentId,
    TemplateId,
    TimeOfDay,
    TimeZoneName,
    Weekday,
)

Filters = Annotated[list[PropertyFilter], Field(max_length=20)]


class NodeBase(Model):
    """What every step has: an id unique in the journey, a canvas position and a label."""

    id: NodeId
    position: Position = Position()
    label: Label | None = None


class EntrySegmentNode(NodeBase):
    """Contacts enter when they join the segment."""

    type: Literal["entry_segment"]
    segment_id: SegmentId
    next: NextId = None


class EntryEventNode(NodeBase):
    """Contacts enter when they perform the event (and its properties pass the filters)."""

    type: Literal["entry_event"]
    event_type: EventType
    filters: Filters = []
    next: NextId = None


class Schedule(Model):
    """When a recurring entry runs: a cron expression, or every N days at a time of day.

    Both read the clock in `time_zone`; `at` and `starts_on` apply to `every_days` only.
    """

    cron: Annotated[str, Field(min_length=9, max_length=100)] | None = None
    every_days: Annotated[int, Field(ge=1, le=366)] | None = None
    starts_on: date | None = None  # the first run day for every_days; none: 2024-01-01
    at: TimeOfDay = "09:00"
    time_zone: TimeZoneName = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, cron: str | None) -> str | None:
        if cron is not None and not croniter.is_valid(cron):
            raise ValueError(f"{cron!r} is not a cron expression such as '0 9 * * mon'")
        return cron

    @model_validator(mode="after")
    def _one_form(self) -> Schedule:
        if (self.cron is None) == (self.every_days is None):
            raise ValueError("Give either a cron expression or every_days, not both or neither")
        return self


class EntryRecurringNode(NodeBase):
    """The segment's members enter on a schedule (those already in the journey do not)."""

    type: Literal["entry_recurring"]
    segment_id: SegmentId
    schedule: Schedule
    next: NextId = None


class EntryApiNode(NodeBase):
    """Contacts enter when the API adds them."""

    type: Literal["entry_api"]
    next: NextId = None


class Variant(Model):
    """One version of a message: a share of the contacts reaching the send get this template."""

    name: Annotated[str, Field(min_length=1, max_length=32)]
    share: Annotated[float, Field(gt=0, le=100)]
    template_id: TemplateId


class SendNode(NodeBase):
    """Send a message: one template, or variants splitting contacts by share."""

    type: Literal["send"]
    channel: Channel
    template_id: TemplateId | None = None
    variants: Annotated[list[Variant], Field(max_length=10)] = []
    next: NextId = None


class DelayNode(NodeBase):
    """Wait for a fixed duration."""

    type: Literal["delay"]
    duration: Duration
    next: NextId = None


class WaitUntilTimeNode(NodeBase):
    """Wait until a time of day (on given weekdays) in the contact's time zone."""

    type: Literal["wait_until_time"]
    time: TimeOfDay
    weekdays: Annotated[list[Weekday], Field(max_length=7)] = []
    fallback_time_zone: TimeZoneName = "UTC"
    next: NextId = None


class WaitUntilDateNode(NodeBase):
    """Wait until N days before a date attribute (each year, for birthdays) at a time of day."""

    type: Literal["wait_until_date"]
    attribute: AttributePath
    days_before: Annotated[int, Field(ge=0, le=366)] = 0
    yearly: bool = False
    time: TimeOfDay = "09:00"
    fallback_time_zone: TimeZoneName = "UTC"
    next: NextId = None
    missing: NextId = None


class WaitForEventNode(NodeBase):
    """Wait until the contact performs the event, or the timeout passes."""

    type: Literal["wait_for_event"]
    event_type: EventType
    filters: Filters = []
    timeout: Duration | None = None
    matched: NextId = None
    timed_out: NextId = None


class WaitForSegmentNode(NodeBase):
    """Wait until the contact is in the segment, or the timeout passes."""

    type: Literal["wait_for_segment"]
    segment_id: SegmentId
    timeout: Duration | None = None
    matched: NextId = None
    timed_out: NextId = None


class WaitForEngagementNode(NodeBase):
    """Wait until the contact opens or clicks the message of an earlier send step."""

    type: Literal["wait_for_engagement"]
    send_node: NodeId
    action: Literal["opened", "clicked"]
    timeout: Duration | None = None
    matched: NextId = None
    timed_out: NextId = None


class ConditionBranch(Model):
    """A branch of a condition split: taken when all its conditions hold."""

    name: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=20)]
    next: NextId = None


class ConditionSplitNode(NodeBase):
    """Take the first branch whose conditions hold, else `else` (yes/no is one branch)."""

    type: Literal["condition_split"]
    branches: Annotated[list[ConditionBranch], Field(max_length=20)] = []
    otherwise: NextId = Field(default=None, alias="else")


class RandomBranch(Model):
    """A branch of a random split, taken by `percent` of contacts; `control` marks a holdout."""

    name: Annotated[str, Field(min_length=1, max_length=32)]
    percent: Annotated[float, Field(gt=0, le=100)]
    control: bool = False
    next: NextId = None


class RandomSplitNode(NodeBase):
    """Split contacts at random by percentages summing to 100."""

    type: Literal["random_split"]
    branches: Annotated[list[RandomBranch], Field(max_length=10)] = []


class UpliftSplitNode(NodeBase):
    """Send only to contacts whose stored uplift score clears a threshold or a top share.

    `model` names the uplift model whose scores decide; without it, the most recently
    promoted model's.
    """

    type: Literal["uplift_split"]
    model: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] | None = None
    mode: Literal["threshold", "top_share"]
    value: float
    fallback: Literal["send", "skip"] = "send"
    send: NextId = None
    skip: NextId = None

    @field_validator("value")
    @classmethod
    def _share(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("mode") == "top_share" and not 0 < value <= 100:
            raise ValueError("A top share is a percentage above 0 and at most 100")
        return value


class UpdateProfileNode(NodeBase):
    """Set custom attributes on the contact (null removes one)."""

    type: Literal["update_profile"]
    attributes: Annotated[dict[AttributeKey, Scalar], Field(min_length=1, max_length=50)]
    next: NextId = None


class UpdateConsentNode(NodeBase):
    """Record a consent state for a channel and purpose."""

    type: Literal["update_consent"]
    channel: Literal["email", "sms", "social", "web"]
    purpose: Annotated[str, Field(min_length=1, max_length=32)] = "marketing"
    state: Literal["opted_in", "opted_out"]
    next: NextId = None


class UpdateListNode(NodeBase):
    """Add the contact to, or remove it from, a static list (kept in `attributes.lists`)."""

    type: Literal["update_list"]
    list_name: Annotated[str, Field(min_length=1, max_length=64)]
    action: Literal["add", "remove"]
    next: NextId = None


class WebhookNode(NodeBase):
    """Post a signed JSON payload to a URL; the response can be saved on the profile."""

    type: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2_000)]
    payload: dict[str, Any] = {}
    save_response_to: AttributeKey | None = None
    timeout_seconds: Annotated[int, Field(ge=1, le=30)] = 10
    retries: Annotated[int, Field(ge=0, le=5)] = 2
    next: NextId = None

    @field_validator("payload")
    @classmethod
    def _small(cls, payload: dict[str, Any]) -> dict[str, Any]:
        if len(repr(payload)) > 10_000:
            raise ValueError("Keep the webhook payload under 10,000 characters")
        return payload


class GoalNode(NodeBase):
    """A conversion: contacts performing the event leave here, counted as converted."""

    type: Literal["goal"]
    event_type: EventType
    filters: Filters = []


class ExitNode(NodeBase):
    """The end of a path."""

    type: Literal["exit"]


EntryNode: TypeAlias = EntrySegmentNode | EntryEventNode | EntryRecurringNode | EntryApiNode
WaitingNode: TypeAlias = (
    DelayNode
    | WaitUntilTimeNode
    | WaitUntilDateNode
    | WaitForEventNode
    | WaitForSegmentNode
    | WaitForEngagementNode
)
AnyNode: TypeAlias = (
    EntryNode
    | SendNode
    | WaitingNode
    | ConditionSplitNode
    | RandomSplitNode
    | UpliftSplitNode
    | UpdateProfileNode
    | UpdateConsentNode
    | UpdateListNode
    | WebhookNode
    | GoalNode
    | ExitNode
)
Node = Annotated[AnyNode, Field(discriminator="type")]

ENTRY_TYPES = (EntrySegmentNode, EntryEventNode, EntryRecurringNode, EntryApiNode)
WAITING_TYPES = (
    DelayNode,
    WaitUntilTimeNode,
    WaitUntilDateNode,
    WaitForEventNode,
    WaitForSegmentNode,
    WaitForEngagementNode,
)


def tag_of(cls: type[NodeBase]) -> str:
    """Return the `type` tag a step class is stored under."""
    return str(get_args(cls.model_fields["type"].annotation)[0])


ENTRY_TAGS = frozenset(tag_of(cls) for cls in ENTRY_TYPES)
WAITING_TAGS = frozenset(tag_of(cls) for cls in WAITING_TYPES)
NODE_TAGS = tuple(tag_of(cls) for cls in get_args(AnyNode))


def exits_of(node: AnyNode) -> list[tuple[str, str, str | None]]:
    """Return (branch, field path, target id or None) for every way out of a step.

    The branch name is what analytics and the simulation count contacts leaving by.
    """
    match node:
        case (
            EntrySegmentNode()
            | EntryEventNode()
            | EntryRecurringNode()
            | EntryApiNode()
            | SendNode()
            | DelayNode()
            | WaitUntilTimeNode()
            | UpdateProfileNode()
            | UpdateConsentNode()
            | UpdateListNode()
            | WebhookNode()
        ):
            return [("next", "next", node.next)]
        case WaitUntilDateNode():
            return [("next", "next", node.next), ("missing", "missing", node.missing)]
        case WaitForEventNode() | WaitForSegmentNode() | WaitForEngagementNode():
            return [
                ("matched", "matched", node.matched),
                ("timed_out", "timed_out", node.timed_out),
            ]
        case ConditionSplitNode():
            return [
                (branch_name(node, i), f"branches[{i}].next", branch.next)
                for i, branch in enumerate(node.branches)
            ] + [("else", "else", node.otherwise)]
        case RandomSplitNode():
            return [
                (branch.name, f"branches[{i}].next", branch.next)
                for i, branch in enumerate(node.branches)
            ]
        case UpliftSplitNode():
            return [("send", "send", node.send), ("skip", "skip", node.skip)]
        case GoalNode() | ExitNode():
            return []
        case _:
            assert_never(node)


def branch_name(node: ConditionSplitNode, index: int) -> str:
    """Return the name of a condition branch: its own, or `branch 1`, `branch 2`..."""
    return node.branches[index].name or f"branch {index + 1}"
